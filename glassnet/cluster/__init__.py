"""k-means clustering and clustering scores, in NumPy.

The notes' unsupervised example: group examples ``X (m, n)`` (rows are examples, as
everywhere at glassnet's public boundary) into ``k`` clusters by minimising the
inertia ``J = sum_i ||x_i - mu_{c_i}||^2``.

- :class:`KMeans`: k-means++ seeding (with scikit-learn's greedy local trials),
  vectorised Lloyd iterations, empty clusters re-seeded from the farthest points,
  several restarts keeping the lowest inertia.
- :func:`kmeans_plusplus`: the seeding alone.
- :func:`silhouette_score` / :func:`silhouette_samples`: how well each example sits
  in its cluster, computed in row chunks so memory stays bounded.
- :func:`adjusted_rand_score`: agreement of two labelings, corrected for chance.

Clustering what a trained network has learned needs nothing special: pass the
hidden-layer activations ``model.embed(X, layer=...)`` (rows are examples) to
``KMeans.fit``.

Modules: :mod:`~glassnet.cluster.kmeans` (:class:`KMeans`, :func:`kmeans_plusplus`)
and :mod:`~glassnet.cluster.scores` (silhouette, adjusted Rand); every name is
importable from :mod:`glassnet.cluster`.
"""

from glassnet.cluster.kmeans import INIT_METHODS as INIT_METHODS
from glassnet.cluster.kmeans import KMeans, kmeans_plusplus
from glassnet.cluster.scores import (
    adjusted_rand_score,
    silhouette_samples,
    silhouette_score,
)

__all__ = [
    "KMeans",
    "kmeans_plusplus",
    "silhouette_score",
    "silhouette_samples",
    "adjusted_rand_score",
]

# Largest number of matrix entries a chunked distance computation holds at once
# (2**22 float64 values = 32 MiB). glassnet.cluster._distances reads it from here at
# call time, so setting ``glassnet.cluster._CHUNK_ENTRIES`` changes the chunking of
# both k-means and the silhouette.
_CHUNK_ENTRIES = 2**22
