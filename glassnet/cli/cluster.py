"""``glassnet cluster``: k-means (k-means++ starts) on a dataset's features, scored
by inertia, silhouette and, where the set has class labels, the adjusted Rand index;
``--out`` saves each example's cluster as a CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def register(sub) -> None:
    cluster = sub.add_parser("cluster", help="k-means clustering of a dataset")
    cluster.add_argument(
        "--data",
        default="digits",
        metavar="NAME_OR_PATH",
        help="bundled name or file (default digits); its labels, if any, only score",
    )
    cluster.add_argument("--k", type=int, default=10, help="clusters (default 10)")
    cluster.add_argument(
        "--restarts",
        type=int,
        default=10,
        help="random starts; the lowest inertia wins (default 10)",
    )
    cluster.add_argument("--seed", type=int, default=0, help="(default 0)")
    cluster.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="cluster the features as given (default: scaled to zero mean, unit "
        "variance)",
    )
    cluster.add_argument(
        "--out",
        metavar="CSV",
        help="write the assignments: one row per example (index, cluster, and label "
        "when the data has class labels)",
    )
    cluster.set_defaults(handler=run_cluster)


def run_cluster(args) -> int:
    from glassnet.cluster import KMeans, adjusted_rand_score, silhouette_score
    from glassnet.data import Standardizer, load_dataset

    dataset = load_dataset(args.data)
    X = dataset.X.reshape(len(dataset.X), -1)
    if args.standardize:
        X = Standardizer().fit_transform(X)
    model = KMeans(args.k, n_init=args.restarts, rng=args.seed).fit(X)
    print(
        f"k-means on {args.data}: k={args.k}, {args.restarts} restarts, "
        f"{model.n_iter_} iterations"
    )
    print(f"inertia     {model.inertia_:.6g}")
    sample = min(2000, len(X))
    silhouette = silhouette_score(X, model.labels_, sample_size=sample, rng=0)
    print(f"silhouette  {silhouette:.4f}")
    if dataset.task in ("binary", "multiclass"):
        print(
            f"adjusted Rand index vs labels  "
            f"{adjusted_rand_score(dataset.y, model.labels_):.4f}"
        )
    sizes = np.bincount(model.labels_, minlength=args.k)
    print("cluster sizes " + " ".join(str(int(s)) for s in sizes))
    if args.out:
        labels = None
        if dataset.task in ("binary", "multiclass"):  # codes -> the data's labels
            names = dataset.classes
            labels = [names[y] if names else y.item() for y in dataset.y]
        _write_assignments(Path(args.out), model.labels_, labels)
        print(f"assignments: {args.out}")
    return 0


def _write_assignments(path: Path, clusters, labels=None) -> None:
    """``index,cluster[,label]``, one row per example in the data's order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["index", "cluster", *(["label"] if labels is not None else [])]
        )
        for i, cluster in enumerate(clusters):
            row = [i, int(cluster)]
            writer.writerow(row if labels is None else [*row, labels[i]])
