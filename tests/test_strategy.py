"""glassnet.strategy: diagnosis, error analysis and model selection."""

import base64
import csv
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.image import imread

from glassnet.strategy import (
    Constraint,
    diagnose,
    diagnose_model,
    error_analysis,
    export_errors,
    lower_is_better,
    measure_model,
    parse_constraint,
    select_model,
)


class SignModel:
    """Predicts 1 when the first feature is positive."""

    def predict(self, X):
        return (np.asarray(X)[:, 0] > 0).astype(int)


# ------------------------------------------------------------------- diagnosis


def test_notes_example_avoidable_bias():
    # human 1%, train 10%, dev 15%, test 20%: gaps 9, 5, 5 -> avoidable bias
    result = diagnose(human=1, train=10, dev=15, test=20)
    assert result.train == pytest.approx(0.10)
    assert result.avoidable_bias == pytest.approx(0.09)
    assert result.variance == pytest.approx(0.05)  # dev - train, no training-dev
    assert result.data_mismatch is None
    assert result.dev_overfitting == pytest.approx(0.05)
    assert result.problem == "avoidable_bias"
    advice = " ".join(result.remedies)
    assert "bigger network" in advice and "Adam" in advice
    assert any("training-dev" in note for note in result.notes)
    text = str(result)
    assert "avoidable bias   <- largest" in text and "10.0%" in text
    assert "Try:" in text and "hyperparameter search" in text


def test_notes_example_data_mismatch():
    result = diagnose(human=1, train=1, train_dev=1.5, dev=10)
    assert result.variance == pytest.approx(0.005)
    assert result.data_mismatch == pytest.approx(0.085)
    assert result.problem == "data_mismatch"
    assert any("artificial data synthesis" in r for r in result.remedies)


def test_variance_and_dev_overfitting_remedies():
    assert "regularization" in " ".join(
        diagnose(human=0.01, train=0.02, train_dev=0.1, dev=0.11).remedies
    )
    overfit = diagnose(train=0.05, dev=0.05, test=0.12, human=0.04)
    assert overfit.problem == "dev_overfitting"
    assert overfit.remedies == ["get a bigger dev set (you have overfit the dev set)"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=5, max_size=5))
def test_components_sum_to_test_minus_human(errors):
    human, train, train_dev, dev, test = errors
    result = diagnose(
        human=human, train=train, train_dev=train_dev, dev=dev, test=test, percent=False
    )
    assert sum(result.components.values()) == pytest.approx(test - human, abs=1e-12)
    assert len(result.components) == 4


def test_percent_detection_and_override():
    as_percent = diagnose(train=10, dev=15)
    as_fraction = diagnose(train=0.10, dev=0.15)
    assert as_percent.components == pytest.approx(as_fraction.components)
    # all values <= 1 but explicitly percentages: 0.5% and 1%
    forced = diagnose(human=0.5, train=1, dev=1, percent=True)
    assert forced.train == pytest.approx(0.01)
    assert forced.avoidable_bias == pytest.approx(0.005)
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\].*received train=10"):
        diagnose(train=10, dev=15, percent=False)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"train": -0.1, "dev": 0.2}, ValueError, "received train=-0.1"),
        ({"train": 150, "dev": 20}, ValueError, r"\[0, 100\].*received train=150"),
        ({"train": "10%", "dev": 20}, TypeError, "train error must be a number"),
        ({"train": True, "dev": 0.2}, TypeError, "received train=True"),
        ({"train": float("nan")}, ValueError, "finite"),
        ({"human": 0.01}, ValueError, r"received only \['human'\]"),
    ],
)
def test_bad_diagnosis_inputs(kwargs, error, message):
    with pytest.raises(error, match=message):
        diagnose(**kwargs)


def test_notes_for_missing_human_and_superhuman_training():
    result = diagnose(train=0.08, train_dev=0.09)
    assert result.avoidable_bias == pytest.approx(0.08)
    assert any("human-level error was not given" in note for note in result.notes)
    past = diagnose(human=0.02, train=0.01, train_dev=0.03)
    assert past.problem == "variance"
    assert any("Bayes-error proxy is uncertain" in note for note in past.notes)


def test_diagnose_model_computes_errors():
    X = np.array([[1.0], [-1.0], [2.0], [-2.0]])
    splits = {
        "train": (X, np.array([1, 0, 1, 0])),  # error 0
        "dev": (X, np.array([1, 0, 0, 1])),  # error 0.5
    }
    result = diagnose_model(SignModel(), splits, human=0.0)
    assert result.train == 0.0 and result.dev == pytest.approx(0.5)
    assert result.problem == "variance"
    f1_based = diagnose_model(SignModel(), splits, metric="f1")
    assert f1_based.dev == pytest.approx(0.5)  # P = R = 1/2 on dev
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        diagnose_model(SignModel(), {"validation": splits["dev"]})


# -------------------------------------------------------------- error analysis


def _notes_rows():
    """100 tagged errors: Dog 8, Great cats 43, Blurry 61, Instagram 12 (overlap)."""
    rows = []
    for i in range(100):
        rows.append(
            {
                "Image": str(i + 1),
                "Dog": "✓" if i < 8 else "",
                "Great cats": "yes" if 5 <= i < 48 else "no",
                "Blurry": "1" if 30 <= i < 91 else "0",
                "Instagram": "TRUE" if i % 8 == 0 and i < 96 else "",
                "Comments": {0: "Pitbull", 2: "Rainy day at Zoo"}.get(i, ""),
            }
        )
    return rows


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_notes_error_analysis_table_from_csv(tmp_path):
    path = tmp_path / "errors.csv"
    _write_csv(path, _notes_rows())
    result = error_analysis(path, dev_error=0.10)
    assert result.n_errors == 100
    assert result.fractions == pytest.approx(
        {"Blurry": 0.61, "Great cats": 0.43, "Instagram": 0.12, "Dog": 0.08}
    )
    assert [tag.name for tag in result.tags] == [
        "Blurry",
        "Great cats",
        "Instagram",
        "Dog",
    ]
    # ceiling: e = 10%, p = 61% -> gain at most 6.1 points, dev error at best 3.9%
    blurry = result.tags[0]
    assert blurry.improvement == pytest.approx(0.061)
    assert result.ceiling("Blurry") == pytest.approx(0.039)
    assert result.ceiling("Dog") == pytest.approx(0.092)
    assert result.comments == [("1", "Pitbull"), ("3", "Rainy day at Zoo")]
    assert result.ignored_columns == ["Image"]
    text = result.table()
    lines = text.splitlines()
    assert lines[2].split() == ["Blurry", "61", "61%", "6.1%", "3.9%"]
    for share in ("43%", "12%", "8%", "6.1%", "3.9%"):
        assert share in text
    assert "need not sum to 100%" in text


def test_error_analysis_accepts_rows_and_columns_and_notes_mislabeled():
    rows = [
        {"mislabeled": True, "blurry": 0, "comments": "label says cat"},
        {"mislabeled": False, "blurry": 1},
        {"mislabeled": None, "blurry": "y"},
        {"mislabeled": "x", "blurry": np.bool_(True)},
    ]
    result = error_analysis(rows)
    assert result.counts == {"blurry": 3, "mislabeled": 1}
    assert result.tags[1].mislabeled and not result.tags[0].mislabeled
    assert "incorrect dev labels" in str(result)
    columns = {"Dog": [1, 0, 0, 1], "Notes": ["a", "b", "c", "d"]}
    from_columns = error_analysis(columns, comment_column="notes")
    assert from_columns.counts == {"Dog": 2}
    assert from_columns.comments[0] == ("1", "a")
    with pytest.raises(ValueError, match="needs dev_error"):
        from_columns.ceiling("Dog")


def test_csv_without_tag_column_lists_columns(tmp_path):
    path = tmp_path / "untagged.csv"
    _write_csv(path, [{"Image": str(i), "Comments": "blurry?"} for i in range(1, 5)])
    with pytest.raises(ValueError, match=r"columns seen: \['Image', 'Comments'\]"):
        error_analysis(path)
    with pytest.raises(ValueError, match="dev_error must be a fraction"):
        error_analysis(_notes_rows(), dev_error=10)


def test_export_errors_writes_csv_and_contact_sheet(tmp_path):
    X = np.array([[1.0], [-1.0], [2.0], [-2.0], [3.0], [0.5]])
    y = np.array([1, 1, 1, 0, 0, 1])  # rows 1 and 4 are misclassified
    images = np.random.default_rng(0).integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    path = tmp_path / "dev_errors.csv"
    written = export_errors(
        SignModel(), X, y, path, images=images, tags=("mislabeled", "blurry")
    )
    assert written == 2
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["index", "true", "predicted", "mislabeled", "blurry", "comments"]
    assert rows[1:] == [["1", "1", "0", "", "", ""], ["4", "0", "1", "", "", ""]]
    page = (tmp_path / "dev_errors.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2
    assert "#4 &middot; true: 0 &middot; predicted: 1" in page
    encoded = page.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(encoded)[:8] == b"\x89PNG\r\n\x1a\n"
    # the tagged template reads back; index/true/predicted are not tags
    rows[1][3] = "✓"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    result = error_analysis(path)
    assert result.counts == {"mislabeled": 1, "blurry": 0}


def test_export_errors_without_images_and_bad_images(tmp_path):
    X = np.array([[1.0], [-1.0]])
    y = np.array([0, 0])
    path = tmp_path / "e.csv"
    assert export_errors(SignModel(), X, y, path) == 1
    assert not (tmp_path / "e.html").exists()
    gray = np.linspace(0, 1, 2 * 3 * 3).reshape(2, 3, 3)
    assert export_errors(SignModel(), X, y, path, images=gray) == 1
    page = (tmp_path / "e.html").read_text(encoding="utf-8")
    encoded = page.split("data:image/png;base64,")[1].split('"')[0]
    pixels = imread(io.BytesIO(base64.b64decode(encoded)))
    # row 0 is the mistake; its gray levels keep their [0, 1] scale (not stretched)
    np.testing.assert_allclose(pixels[:, :, 0], gray[0], atol=1 / 255)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        export_errors(SignModel(), X, y, path, images=gray * 255)
    with pytest.raises(ValueError, match="same number of examples"):
        export_errors(SignModel(), X, y, path, images=gray[:1])
    with pytest.raises(ValueError, match="tags must be non-empty strings"):
        export_errors(SignModel(), X, y, path, tags=("true",))


# ------------------------------------------------------------------ selection


CANDIDATES = [
    {"name": "A", "accuracy": 0.90, "latency_ms": 80, "size_mb": 3},
    {"name": "B", "accuracy": 0.92, "latency_ms": 95, "size_mb": 6.5},
    {"name": "C", "accuracy": 0.95, "latency_ms": 1500, "size_mb": 4},
    {"name": "D", "accuracy": 0.91, "latency_ms": 60, "size_mb": 2},
]


def test_select_model_optimizes_one_metric_and_satisfies_others():
    selection = select_model(
        CANDIDATES, optimize="accuracy", satisfy={"latency_ms": ("<=", 100)}
    )
    assert selection.best is CANDIDATES[1]
    assert selection.best_name == "B"
    names = [row["name"] for row in selection.table]
    assert names == ["B", "D", "A", "C"]
    reasons = {row["name"]: row["reason"] for row in selection.table}
    assert reasons["D"] == "accuracy 0.01 lower than B"
    assert reasons["C"] == "breaks latency_ms = 1500 (needs <= 100, off by 1400)"
    assert selection.table[-1]["constraints"]["latency_ms"]["ok"] is False
    text = str(selection)
    assert "optimize: accuracy (max); satisfy: latency_ms <= 100" in text
    assert text.splitlines()[2].startswith("B ")
    both = select_model(
        CANDIDATES, optimize="accuracy", satisfy=["latency_ms<=100", "size_mb <= 5"]
    )
    assert both.best_name == "D"


def test_select_model_objects_and_minimized_metrics():
    class Run:
        def __init__(self, name, **metrics):
            self.name = name
            self.metrics = metrics

    class Plain:
        def __init__(self, name, dev_error):
            self.name, self.dev_error = name, dev_error

    runs = [Run("small", val_loss=0.4), Run("large", val_loss=0.3)]
    assert select_model(runs, optimize="val_loss").best_name == "large"
    assert select_model(runs, optimize="val_loss", higher_is_better=True).best_name == (
        "small"
    )
    plain = [Plain("p", 0.2), Plain("q", 0.1)]
    assert select_model(plain, optimize="dev_error").best.name == "q"
    assert lower_is_better("size_mb") and not lower_is_better("f1")


def test_select_model_errors():
    with pytest.raises(ValueError, match="candidates is empty"):
        select_model([], optimize="f1")
    with pytest.raises(ValueError) as info:
        select_model(
            CANDIDATES[:3],
            optimize="accuracy",
            satisfy={"latency_ms": "<=50", "size_mb": ("<=", 5)},
        )
    message = str(info.value)
    assert "no candidate satisfies all constraints" in message
    assert "closest (1 broken" in message
    # A misses by 30/50 of its threshold, C by 1450/50: A is listed first
    near_a = message.index("'A' breaks latency_ms = 80 (needs <= 50, off by 30)")
    assert near_a < message.index("'C' breaks latency_ms = 1500 (needs <= 50, off by")
    assert "'B' breaks" not in message  # B breaks both constraints
    with pytest.raises(ValueError, match=r"has no metric 'f1'; it has \['accuracy'"):
        select_model(CANDIDATES, optimize="f1")


def test_parse_constraint():
    assert parse_constraint("latency_ms<=100") == Constraint("latency_ms", "<=", 100.0)
    constraint = parse_constraint(" size_mb > 2.5 ")
    assert constraint.holds(3) and not constraint.holds(2.5)
    assert constraint.excess(2.0) == pytest.approx(0.5)
    assert str(parse_constraint("f1==1")) == "f1 == 1"
    for bad in ("latency_ms =< 100", "latency_ms<=fast", "<=100"):
        with pytest.raises(ValueError, match="constraint"):
            parse_constraint(bad)


def test_measure_model_sizes():
    class WithParams(SignModel):
        params = {"W1": np.zeros((4, 3)), "b1": np.zeros((4, 1), dtype=np.float32)}

    class WithSave(SignModel):
        def save(self, path):
            with open(path + ".npz", "wb") as handle:
                handle.write(b"\0" * 2**19)

    X = np.ones((3, 1))
    measured = measure_model(WithParams(), X, repeats=3)
    assert measured["size_mb"] == pytest.approx((4 * 3 * 8 + 4 * 4) / 2**20)
    assert measured["latency_ms"] > 0
    assert measure_model(WithSave(), X)["size_mb"] == pytest.approx(0.5)
    with pytest.raises(TypeError, match="save"):
        measure_model(SignModel(), X)
    with pytest.raises(ValueError, match="repeats"):
        measure_model(WithParams(), X, repeats=0)
