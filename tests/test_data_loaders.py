"""File loaders on small files written in tmp_path: h5, mat, npz, csv, csv.gz."""

from __future__ import annotations

import gzip
import warnings

import h5py
import numpy as np
import pytest
import scipy.io

from glassnet.data import load_csv, load_dataset, load_h5


def _write_course_h5(path, prefix, X, y):
    with h5py.File(path, "w") as handle:
        handle[f"{prefix}_set_x"] = X
        handle[f"{prefix}_set_y"] = y
        handle["list_classes"] = np.array([b"non-cat", b"cat"])


@pytest.fixture
def cat_files(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(5, 4, 4, 3), dtype=np.uint8)
    test = rng.integers(0, 256, size=(3, 4, 4, 3), dtype=np.uint8)
    _write_course_h5(
        tmp_path / "train_toy.h5", "train", train, np.array([0, 1, 1, 0, 1])
    )
    # the older course files store labels as (1, m)
    _write_course_h5(tmp_path / "test_toy.h5", "test", test, np.array([[1, 0, 0]]))
    return tmp_path, train, test


def test_h5_course_format_loads_train_and_sibling_test(cat_files):
    folder, train, test = cat_files
    data = load_dataset(folder / "train_toy.h5")
    assert data.X.shape == (5, 48) and data.X_test.shape == (3, 48)
    assert data.classes == ["non-cat", "cat"] and data.task == "binary"
    # C order of (h, w, c), divided by 255
    np.testing.assert_array_equal(data.X, train.reshape(5, -1) / 255.0)
    np.testing.assert_array_equal(data.X_test, test.reshape(3, -1) / 255.0)
    np.testing.assert_array_equal(data.y_test, [1, 0, 0])
    assert data.image_shape == (4, 4, 3)
    raw = load_dataset(folder / "train_toy.h5", flatten=False, scale=False)
    assert raw.X.shape == (5, 4, 4, 3) and raw.X.max() > 1
    np.testing.assert_array_equal(raw.X, train)
    alone = load_h5(folder / "test_toy.h5")
    assert alone.X.shape == (3, 48) and alone.X_test is None


def test_h5_generic_keys_and_errors(tmp_path):
    with h5py.File(tmp_path / "generic.h5", "w") as handle:
        handle["X"] = np.arange(12.0).reshape(6, 2)
        handle["Y"] = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
        handle["x_test"] = np.ones((2, 2))
        handle["y_test"] = np.array([0.0, 1.25])
    data = load_dataset(tmp_path / "generic.h5")
    assert data.task == "regression" and data.X_test.shape == (2, 2)
    np.testing.assert_array_equal(data.X[:, 1], [1, 3, 5, 7, 9, 11])
    with h5py.File(tmp_path / "odd.h5", "w") as handle:
        handle["features"] = np.ones((2, 2))
    with pytest.raises(ValueError, match=r"\['features'\].*x/X and y/Y"):
        load_dataset(tmp_path / "odd.h5")
    (tmp_path / "broken.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="cannot read .* as HDF5"):
        load_dataset(tmp_path / "broken.h5")


def test_mat_file_in_the_football_layout(tmp_path):
    rng = np.random.default_rng(1)
    scipy.io.savemat(
        tmp_path / "data.mat",
        {
            "X": rng.normal(size=(7, 2)),
            "y": np.array([[0], [1], [1], [0], [1], [0], [1]], dtype=np.uint8),
            "Xval": rng.normal(size=(4, 2)),
            "yval": np.array([[1], [0], [0], [1]], dtype=np.uint8),
        },
    )
    data = load_dataset(tmp_path / "data.mat")
    assert data.X.shape == (7, 2) and data.X_test.shape == (4, 2)
    assert data.y.shape == (7,) and data.y_test.tolist() == [1, 0, 0, 1]
    assert data.task == "binary"
    scipy.io.savemat(tmp_path / "other.mat", {"A": np.ones((2, 2))})
    with pytest.raises(ValueError, match=r"variables \['A'\]"):
        load_dataset(tmp_path / "other.mat")


def test_npz_keys_and_test_set(tmp_path):
    np.savez(
        tmp_path / "set.npz",
        x=np.arange(8.0).reshape(4, 2),
        Y=np.array(["b", "a", "b", "c"]),
        X_test=np.zeros((1, 2)),
        y_test=np.array(["c"]),
        feature_names=np.array(["f1", "f2"]),
    )
    data = load_dataset(tmp_path / "set.npz")
    assert data.classes == ["a", "b", "c"] and data.task == "multiclass"
    assert data.y.tolist() == [1, 0, 1, 2] and data.y_test.tolist() == [2]
    assert data.feature_names == ["f1", "f2"]
    images = np.full((3, 2, 2), 255, dtype=np.uint8)
    np.savez(tmp_path / "img.npz", X=images, y=np.array([0, 1, 0]))
    flat = load_dataset(tmp_path / "img.npz")
    assert flat.X.shape == (3, 4) and flat.X.max() == 1.0
    assert flat.image_shape == (2, 2, 1)
    np.savez(tmp_path / "nolabels.npz", X=np.ones((2, 2)))
    with pytest.raises(ValueError, match="expected X"):
        load_dataset(tmp_path / "nolabels.npz")
    np.savez(tmp_path / "objects.npz", X=np.ones((2, 2)), y=np.array([1, "a"], object))
    with pytest.raises(ValueError, match="object arrays"):
        load_dataset(tmp_path / "objects.npz")


def test_csv_with_header_and_default_label_column(tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text(
        "height,label,width\n1.0,rose,2.5\n2,tulip,3\n3.5,rose,-1e-1\n4,lily,0\n"
    )
    data = load_dataset(path)
    assert data.feature_names == ["height", "width"]
    np.testing.assert_array_equal(data.X, [[1, 2.5], [2, 3], [3.5, -0.1], [4, 0]])
    assert data.classes == ["lily", "rose", "tulip"]
    assert data.y.tolist() == [1, 2, 1, 0]
    numeric = tmp_path / "numeric.csv"
    numeric.write_text("A,b,c\n1,0,5\n2,1,6\n")
    by_name = load_dataset(numeric, label_column="a", task="regression")
    assert by_name.task == "regression" and by_name.y.tolist() == [1.0, 2.0]
    assert by_name.feature_names == ["b", "c"]
    with pytest.raises(ValueError, match=r"'z' is not a column; columns: \['A'"):
        load_dataset(numeric, label_column="z")
    # a text feature column is kept as text, for the model's table layers (D40)
    text = load_csv(path, label_column=-1, task="regression")
    assert text.X.dtype == object and text.X[:, 1].tolist() == [
        "rose", "tulip", "rose", "lily"
    ]  # fmt: skip


def test_csv_without_header_uses_last_column(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("0.5,1,2\n1.5,2,0\n\n2.5,3,1\n")
    data = load_dataset(path)
    assert data.feature_names is None and data.X.shape == (3, 2)
    assert data.task == "multiclass" and data.y.tolist() == [2, 0, 1]
    assert data.y.dtype == np.int64 and data.classes == [0, 1, 2]
    first = load_dataset(path, label_column=0)
    assert first.task == "regression" and first.X.tolist()[0] == [1, 2]
    with pytest.raises(ValueError, match="no header line"):
        load_dataset(path, label_column="y")
    with pytest.raises(ValueError, match=r"index must be in \[-3, 3\)"):
        load_dataset(path, label_column=3)
    # text that reads as an integer is an index (the CLI and JSON configs pass text)
    assert load_dataset(path, label_column="0").y.tolist() == first.y.tolist()
    assert load_dataset(path, label_column=" -1").y.tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match=r"index must be in \[-3, 3\)"):
        load_dataset(path, label_column="3")


def test_csv_label_column_text_is_a_name_before_an_index(tmp_path):
    path = tmp_path / "numbered.csv"
    path.write_text("2,0,1\n1,7,0\n3,9,1\n")  # a header of numbers
    named = load_csv(path, label_column="0", header=True, task="regression")
    assert named.y.tolist() == [7.0, 9.0]  # the column named "0", not column 0
    named = load_csv(path, label_column="2", header=True, task="regression")
    assert named.y.tolist() == [1.0, 3.0]  # the column named "2", not column 2
    indexed = load_csv(path, label_column="-1", header=True, task="regression")
    assert indexed.y.tolist() == [0.0, 1.0]  # no column named "-1": the last one
    with pytest.raises(ValueError, match=r"'x' is not a column.*or an index in"):
        load_csv(path, label_column="x", header=True)


def test_csv_text_feature_column_is_kept_as_text(tmp_path):
    # text columns are categories for the table layers (D40); a column given the
    # numeric role that holds text is named with the value
    from glassnet.data.columns import Table, infer_roles

    path = tmp_path / "mixed.csv"
    path.write_text("age,city,y\n30,Paris,1\n40, Lyon ,0\n,Paris,1\n")
    data = load_dataset(path)
    assert data.X.dtype == object
    assert data.X[:, 1].tolist() == ["Paris", "Lyon", "Paris"]
    assert data.X[:2, 0].tolist() == [30.0, 40.0] and np.isnan(data.X[2, 0])
    table = Table.from_rows(data.feature_names, data.X)
    with pytest.raises(ValueError, match=r"column 'city' is numeric but holds 'Paris'"):
        infer_roles(table, {"city": "numeric"})
    headerless = tmp_path / "plain.csv"
    headerless.write_text("1,2,0\n3,x9,1\n")
    assert load_dataset(headerless).X[:, 1].tolist() == ["2", "x9"]


def test_csv_ragged_empty_and_missing_values(tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\n1,2,0\n1,2\n")
    with pytest.raises(ValueError, match="line 3 has 2 fields"):
        load_dataset(ragged)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="no data lines"):
        load_dataset(empty)
    holes = tmp_path / "holes.csv"
    holes.write_text("a,b,y\n1,,0\n2,3,1\n")
    with pytest.warns(UserWarning, match="'b'.*1 empty field"):
        data = load_dataset(holes)
    assert np.isnan(data.X[0, 1])
    no_label = tmp_path / "no_label.csv"
    no_label.write_text("a,y\n1,\n2,1\n")
    with pytest.raises(ValueError, match="empty on line 2"):
        load_dataset(no_label)


def test_csv_gz_with_bom_and_quotes(tmp_path):
    path = tmp_path / "small.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8-sig") as handle:
        handle.write('"x1","x2","target"\n"1","2","0.25"\n3,4,0.5\n5,6,0.75\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_dataset(path)
    assert data.name == "small" and data.feature_names == ["x1", "x2"]
    assert data.task == "regression" and data.y.tolist() == [0.25, 0.5, 0.75]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])


def test_read_rows_gives_header_rows_and_line_numbers(tmp_path):
    from glassnet.data.csv_files import read_rows

    path = tmp_path / "x.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(" a , b,label\n1,2,cat\n\n3,4,dog\n")
    header, rows, lines = read_rows(path)
    assert header == ["a", "b", "label"]
    assert rows == [["1", "2", "cat"], ["3", "4", "dog"]]
    assert lines == [2, 4]  # the blank line is skipped, numbering is the file's
    (tmp_path / "plain.csv").write_text("1,2\n3,4\n")
    assert read_rows(tmp_path / "plain.csv") == (None, [["1", "2"], ["3", "4"]], [1, 2])
    (tmp_path / "empty.csv").write_text("\n \n")
    with pytest.raises(ValueError, match="empty.csv has no data lines"):
        read_rows(tmp_path / "empty.csv")
    (tmp_path / "head.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="head.csv has a header line but no data"):
        read_rows(tmp_path / "head.csv")


def test_unknown_extension_and_unknown_option(tmp_path):
    path = tmp_path / "data.xlsx"  # (.parquet is read since issue 22)
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match=r"unknown file type '.xlsx'.*\.csv\.gz"):
        load_dataset(path)
    csv_path = tmp_path / "ok.csv"
    csv_path.write_text("1,0\n2,1\n")
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['flatten'\]"):
        load_dataset(csv_path, flatten=False)


# --- issue 20: duplicate names, text labels, the data budget, only what was asked


def test_duplicate_header_names_are_an_error_at_train_and_at_predict(tmp_path):
    from glassnet.data.budgets import DataFileError
    from glassnet.data.csv_files import read_rows

    path = tmp_path / "dup.csv"
    path.write_text("a,a,a,label\n1,2,3,0\n4,5,6,1\n")
    for read in (load_csv, read_rows):  # load_dataset / train; glassnet predict
        with pytest.raises(DataFileError, match=r"dup\.csv.*'a' at columns 0, 1, 2"):
            read(path)
    (tmp_path / "unique.csv").write_text("a,A,b,label\n1,2,3,0\n4,5,6,1\n")
    assert load_csv(tmp_path / "unique.csv").feature_names == ["a", "A", "b"]


def test_byte_string_labels_load_as_text(tmp_path):
    import json

    from glassnet.data import Dataset

    np.savez(
        tmp_path / "bytes.npz",
        X=np.ones((3, 2)),
        y=np.array([b"cat", b"dog", b"cat"]),
        feature_names=np.array([b"f1", b"f2"]),
    )
    data = load_dataset(tmp_path / "bytes.npz")
    assert data.classes == ["cat", "dog"] and data.feature_names == ["f1", "f2"]
    json.dumps(data.classes)  # what a run saves at its end
    with h5py.File(tmp_path / "strings.h5", "w") as handle:
        handle["X"] = np.ones((3, 2))
        handle.create_dataset("y", data=["b", "a", "b"], dtype=h5py.string_dtype())
        handle["classes"] = np.array([b"a", b"b"])
    data = load_dataset(tmp_path / "strings.h5")
    assert data.classes == ["a", "b"] and data.y.tolist() == [1, 0, 1]
    objects = np.array([b"x", b"y"], dtype=object)
    assert Dataset.from_arrays(np.ones((2, 1)), objects).classes == ["x", "y"]
    with pytest.raises(ValueError, match=r"y holds bytes that are not UTF-8"):
        Dataset.from_arrays(np.ones((2, 1)), np.array([b"\xff", b"a"]))


def test_the_budget_refuses_a_file_from_what_it_declares(tmp_path, monkeypatch):
    from glassnet.data.budgets import DataBudget, DataFileError

    path = tmp_path / "set.npz"
    np.savez(
        path,
        X=np.zeros((100, 100)),
        y=np.zeros(100),
        X_test=np.zeros((50, 100)),
        y_test=np.zeros(50),
    )
    pattern = (
        r"set\.npz: array 'X' declares shape \(100, 100\) of float64 = 80000 bytes"
        r".*max_array_bytes = 1000 bytes.*budget=\{'max_array_bytes': 80000\}"
    )
    with pytest.raises(DataFileError, match=pattern):
        load_dataset(path, budget={"max_array_bytes": 1000})
    # X alone fits max_total_bytes (values plus their float64 copy), X_test does not
    with pytest.raises(DataFileError, match=r"with array 'X_test'.*max_total_bytes"):
        load_dataset(path, budget=DataBudget(max_total_bytes=200_000))
    assert load_dataset(path, budget={"max_total_bytes": 300_000}).n_examples == 100
    monkeypatch.setenv("GLASSNET_DATA_BUDGET", "max_array_bytes=1KiB")
    with pytest.raises(DataFileError, match="max_array_bytes = 1024 bytes"):
        load_dataset(path)
    assert load_dataset(path, budget={}).n_examples == 100  # explicit wins
    monkeypatch.setenv("GLASSNET_DATA_BUDGET", "max_bytes=1G")
    with pytest.raises(ValueError, match=r"'max_bytes=1G' is not NAME=AMOUNT"):
        load_dataset(path)
    monkeypatch.setenv("GLASSNET_DATA_BUDGET", " max_total_bytes = 2GiB , ")
    assert load_dataset(path).n_examples == 100
    with pytest.raises(TypeError, match=r"unknown limit\(s\) \['max_pixels'\]"):
        load_dataset(path, budget={"max_pixels": 5})
    with pytest.raises(ValueError, match="must be positive"):
        DataBudget(max_array_bytes=0)


def test_npz_reads_only_the_arrays_it_uses(tmp_path):
    """An unused member over budget (or a pickle) is never read; Fortran-ordered
    and big-endian arrays come back as they were saved."""
    X = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    y = np.array([0, 1, 1, 0], dtype=">i4")
    unused = np.array([{"a": 1}], dtype=object)
    np.savez_compressed(tmp_path / "set.npz", X=X, y=y, big=np.zeros(10**6), odd=unused)
    data = load_dataset(tmp_path / "set.npz", budget={"max_array_bytes": 1000})
    np.testing.assert_array_equal(data.X, X)
    assert data.y.tolist() == [0, 1, 1, 0]


def test_npz_damage_is_a_clear_error(tmp_path):
    from glassnet.data.budgets import DataFileError

    path = tmp_path / "set.npz"
    np.savez(path, X=np.arange(40.0).reshape(10, 4), y=np.zeros(10))
    data = bytearray(path.read_bytes())
    start = data.index(b"\x93NUMPY")
    data[start + 140] ^= 0xFF  # a data byte of X: its CRC-32 no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=r"set\.npz: it is damaged.*CRC"):
        load_dataset(path)
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(DataFileError, match=r"set\.npz: it is not a readable"):
        load_dataset(path)


def test_csv_text_is_measured_against_the_budget(tmp_path):
    from glassnet.data.budgets import DataFileError

    rows = "\n".join(f"{i},{i % 2}" for i in range(1000))
    (tmp_path / "rows.csv").write_text(rows + "\n")
    with gzip.open(tmp_path / "rows.csv.gz", "wt") as handle:
        handle.write(rows + "\n")
    for name, verb in (("rows.csv", "takes"), ("rows.csv.gz", "inflates to")):
        with pytest.raises(DataFileError, match=f"its text {verb} more than 1000"):
            load_dataset(tmp_path / name, budget={"max_array_bytes": 1000})
        with pytest.raises(DataFileError, match="fields as float64.*max_total"):
            load_dataset(tmp_path / name, budget={"max_total_bytes": 10_000})
        assert load_dataset(tmp_path / name).n_examples == 1000


def test_h5_reads_only_its_own_datasets(tmp_path):
    from glassnet.data.budgets import DataFileError

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"password" * 8)
    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle["data"] = np.ones((2, 2))
    cases = {
        "external": r"dataset 'X' keeps its data in external file\(s\).*secret\.txt",
        "link": r"'X' is an external link to '/data' in .*other\.h5",
        "group": r"'X' is a group, not an array",
        "unwritten": r"dataset 'X' declares shape \(2, 2\).*holds no data",
    }
    for name, pattern in cases.items():
        path = tmp_path / f"{name}.h5"
        with h5py.File(path, "w") as handle:
            if name == "external":
                handle.create_dataset("X", (2, 4), "u1", external=[(str(secret), 0, 8)])
            elif name == "link":
                handle["X"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")
            elif name == "group":
                handle.create_group("X")
            else:
                handle.create_dataset("X", (2, 2), "f8", chunks=(1, 2))
            handle["y"] = np.array([0, 1])
        with pytest.raises(DataFileError, match=rf"{name}\.h5: {pattern}"):
            load_dataset(path)
    # a soft link inside the file is followed
    with h5py.File(tmp_path / "soft.h5", "w") as handle:
        handle["data/features"] = np.full((2, 3), 7.0)
        handle["X"] = h5py.SoftLink("/data/features")
        handle["y"] = np.array([0, 1])
    assert load_dataset(tmp_path / "soft.h5").X.tolist() == [[7.0] * 3] * 2


def test_mat_labels_cells_and_unused_variables(tmp_path):
    from glassnet.data.budgets import DataFileError

    labels = np.empty((3, 1), dtype=object)
    labels[:, 0] = ["dog", "cat ", "dog"]
    scipy.io.savemat(
        tmp_path / "text.mat",
        {"X": np.eye(3), "y": labels, "huge": np.zeros((500, 500))},
        do_compression=True,
    )
    # "huge" (2 MB) is over this budget but never read
    data = load_dataset(tmp_path / "text.mat", budget={"max_array_bytes": 10_000})
    assert data.classes == ["cat", "dog"] and data.y.tolist() == [1, 0, 1]
    scipy.io.savemat(
        tmp_path / "chars.mat", {"X": np.eye(2), "y": np.array(["ab", "cd"])}
    )
    assert load_dataset(tmp_path / "chars.mat").classes == ["ab", "cd"]
    cells = np.empty((2, 1), dtype=object)
    cells[0, 0], cells[1, 0] = np.ones(2), np.ones(3)
    scipy.io.savemat(tmp_path / "cells.mat", {"X": cells, "y": np.array([0, 1])})
    with pytest.raises(DataFileError, match=r"cells\.mat: variable 'X' \(2x1 cell\)"):
        load_dataset(tmp_path / "cells.mat")
    scipy.io.savemat(tmp_path / "big.mat", {"X": np.zeros((100, 100)), "y": np.ones(1)})
    with pytest.raises(DataFileError, match=r"'X' \(100x100 double\) declares shape"):
        load_dataset(tmp_path / "big.mat", budget={"max_array_bytes": 1000})
    scipy.io.savemat(
        tmp_path / "v4.mat", {"X": np.eye(2), "y": np.eye(1, 2)}, format="4"
    )
    assert load_dataset(tmp_path / "v4.mat").X.tolist() == [[1, 0], [0, 1]]
