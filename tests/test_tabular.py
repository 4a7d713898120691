"""Tables as they come (issue 26, architecture D40): column roles, the table layers
Imputation and CategoryEncoding, their model-file settings, and the CLI from a raw
CSV file to predictions on new raw rows."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.data.columns import Table, describe_roles, infer_roles, read_table
from glassnet.layers import CategoryEncoding, Imputation
from glassnet.layers.table import MAX_TEXT, table_layers
from glassnet.run_config import RunConfig

HEADER = ["passenger", "pclass", "sex", "age", "fare", "port", "deck", "survived"]


def passengers(m: int, seed: int) -> list[list]:
    """A passenger table in the Titanic's image (a documented recipe, not the real
    data): a text identifier, class 1-3, sex, age with empty cells, fare, port with
    empty cells, a constant column, and survival drawn from a logistic model of
    sex, class, age and port."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(m):
        pclass = int(rng.choice([1, 2, 3], p=[0.25, 0.25, 0.5]))
        sex = str(rng.choice(["male", "female"]))
        age = rng.normal(30, 12)
        port = str(rng.choice(["S", "C", "Q"], p=[0.7, 0.2, 0.1]))
        z = 2.5 * (sex == "female") - 1.2 * (pclass - 2) - 0.04 * (age - 30)
        z += 0.8 * (port == "C") - 0.7
        survived = "yes" if rng.random() < 1 / (1 + np.exp(-z)) else "no"
        rows.append(
            [
                f"P{seed}-{i:04d}",
                pclass,
                sex,
                "" if rng.random() < 0.2 else f"{age:.0f}",
                f"{rng.gamma(2, 15) * (4 - pclass):.2f}",
                "" if rng.random() < 0.05 else port,
                "E",
                survived,
            ]
        )
    return rows


def write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def table():
    rows = passengers(300, seed=1)
    columns = list(zip(*rows, strict=True))
    from glassnet.data.columns import parse_text_column

    names = HEADER[:-1]
    data = Table(names, [parse_text_column(list(map(str, c))) for c in columns[:-1]])
    return data, np.asarray(columns[-1])


# -- roles ------------------------------------------------------------------------


def test_roles_are_inferred_from_the_values(table):
    data, _ = table
    roles = {role.name: role for role in infer_roles(data)}
    assert {name: role.role for name, role in roles.items()} == {
        "passenger": "ignored",
        "pclass": "numeric",
        "sex": "categorical",
        "age": "numeric",
        "fare": "numeric",
        "port": "categorical",
        "deck": "ignored",
    }
    assert roles["passenger"].reason.startswith("identifier")
    assert roles["deck"].reason == "constant"
    assert roles["age"].missing == int(np.isnan(data.column("age")).sum()) > 0
    text = describe_roles(roles.values())
    assert "categorical (2): sex (text, 2 values), port (text, 3 values" in text


def test_a_row_number_is_an_identifier_and_measurements_are_not():
    m = 40
    rng = np.random.default_rng(0)
    data = Table(
        ["row", "size", "count", "few"],
        [
            rng.permutation(m) + 1.0,  # 1..m in any order: counts the rows
            rng.normal(size=m),  # all distinct, but measurements
            rng.permutation(m) * 2.0,  # distinct whole numbers, not a row count
            rng.integers(0, 3, m).astype(float),
        ],
    )
    assert [r.role for r in infer_roles(data)] == [
        "ignored",
        "numeric",
        "numeric",
        "numeric",
    ]
    given = infer_roles(data, {"few": "categorical", "row": "numeric"})
    assert [(r.role, r.reason) for r in given][0] == ("numeric", "given")
    assert given[3].role == "categorical"


def test_given_roles_are_checked(table):
    data, _ = table
    with pytest.raises(ValueError, match="'cabin', which is not a column"):
        infer_roles(data, {"cabin": "categorical"})
    with pytest.raises(ValueError, match="role of column 'sex' must be one of"):
        infer_roles(data, {"sex": "text"})
    with pytest.raises(ValueError, match="column 'sex' is numeric but holds"):
        infer_roles(data, {"sex": "numeric"})
    assert RunConfig(column_roles={"sex": "ignored"}).validate().column_roles
    with pytest.raises(ValueError, match="column_roles: the role of 'sex'"):
        RunConfig(column_roles={"sex": "drop"}).validate()
    with pytest.raises(ValueError, match="column_roles must be an object"):
        RunConfig.from_dict({"column_roles": ["sex"]})


# -- the layers ---------------------------------------------------------------------


def test_imputation_fills_with_training_values_and_flags_them():
    data = Table(
        ["age", "port", "id"],
        [
            np.array([20.0, np.nan, 40.0, 30.0]),
            np.array(["S", None, "C", "S"], dtype=object),
            np.array(["a", "b", "c", "d"], dtype=object),
        ],
    )
    roles = {"age": "numeric", "port": "categorical", "id": "ignored"}
    layer = Imputation().adapt(data, roles)
    fills = {c["name"]: c["fill"] for c in layer.columns}
    assert fills == {"age": 30.0, "port": "S", "id": None}  # median, most frequent
    new = Table(
        ["port", "age"],  # other order, the ignored column absent: by name
        [np.array([None, "Q"], dtype=object), np.array([np.nan, 7.0])],
    )
    out = layer.rows(new)
    assert out.names == ["age", "port", "age (was missing)", "port (was missing)"]
    assert out.column("age").tolist() == [30.0, 7.0]
    assert out.column("port").tolist() == ["S", "Q"]
    assert out.column("age (was missing)").tolist() == [1.0, 0.0]
    assert out.column("port (was missing)").tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="the table has no column 'age'"):
        layer.rows(Table(["port"], [np.array(["S"], dtype=object)]))


def test_category_encoding_caps_pools_and_sends_unseen_values_to_other():
    values = np.array(["a"] * 5 + ["b"] * 3 + ["c", "d"], dtype=object)
    data = Table(["letter", "x"], [values, np.arange(10.0)])
    layer = CategoryEncoding(max_categories=2).adapt(
        data, {"letter": "categorical", "x": "numeric"}
    )
    assert layer.feature_names == ["letter=a", "letter=b", "letter=(other)", "x"]
    assert layer.columns[0]["pooled"] == 2  # c and d share the (other) slot
    new = Table(["x", "letter"], [np.array([1.0, 2.0]), np.array(["b", "zz"], object)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # with values pooled, no warning
        rows = layer.rows(new)
    np.testing.assert_array_equal(rows, [[0, 1, 0, 1], [0, 0, 1, 2]])
    # nothing pooled: the (other) slot never learned; a new value is the average
    exact = CategoryEncoding().adapt(data, {"letter": "categorical", "x": "numeric"})
    assert exact.columns[0]["frequencies"] == [0.5, 0.3, 0.1, 0.1, 0.0]
    with pytest.warns(UserWarning, match=r"'letter' holds \['zz'\], not seen") as got:
        rows = exact.rows(new)
    assert got[0].filename == __file__  # the user's line, not glassnet's
    np.testing.assert_allclose(rows[1], [0.5, 0.3, 0.1, 0.1, 0.0, 2.0])
    scaled = gn.Standardization().adapt(exact.rows(data))
    scaled.build(6, 0, "float64")
    unseen = scaled.forward(rows.T, training=False)[:5, 1]
    np.testing.assert_allclose(unseen, 0, atol=1e-12)  # the standardized average


def test_a_model_takes_tables_frames_and_rows_and_its_file_alone_reproduces_it(
    table, tmp_path
):
    pandas = pytest.importorskip("pandas")
    data, y = table
    roles = infer_roles(data)
    layers, X = table_layers(data, roles)
    model = gn.Sequential(
        [
            *layers,
            gn.Standardization().adapt(X),
            gn.Dense(8, "relu"),
            gn.Dense(1, "sigmoid"),
        ]  # fmt: skip
    )
    model.fit(data, y == "yes", epochs=30, optimizer="adam", rng=0, verbose=False)
    assert model.feature_names[:3] == ["pclass", "sex=male", "sex=female"]
    assert "age (was missing)" in model.feature_names
    model.save(tmp_path / "model.glassnet")
    loaded = gn.load(tmp_path / "model.glassnet")
    expected = model.predict_proba(data)
    np.testing.assert_array_equal(loaded.predict_proba(data), expected)
    rows = data.to_rows()  # every column by position, the ignored included
    np.testing.assert_array_equal(loaded.predict_proba(rows), expected)
    frame = pandas.DataFrame({n: data.column(n) for n in reversed(data.names)})
    frame["age"] = frame["age"].astype(object).where(frame["age"].notna(), None)
    np.testing.assert_array_equal(loaded.predict_proba(frame), expected)
    scores = loaded.evaluate(data, (y == "yes").astype(int))
    accuracy = np.mean(loaded.predict(data).ravel() == (y == "yes"))
    assert scores["accuracy"] == pytest.approx(accuracy) and accuracy > 0.7
    with pytest.raises(ValueError, match="X has 3 columns but the model takes"):
        loaded.predict(rows[:, :3])


@pytest.mark.parametrize(
    "layer, change, words",
    [
        (1, lambda c: c[0].update(name="x" * (MAX_TEXT + 1)), "texts at most"),
        (1, lambda c: c[1].update(categories=["(other)"]), "objects with keys"),
        (1, lambda c: c[1].update(categories=[1, 2]), "objects with keys"),
        (1, lambda c: c[1].update(pooled=-1), "objects with keys"),
        (1, lambda c: c[1].update(pooled=True), "objects with keys"),
        (1, lambda c: c[1].update(frequencies=[0.5, 1.5, 0]), "objects with keys"),
        (1, lambda c: c[1].update(frequencies=[1.0]), "one frequency per category"),
        (1, lambda c: c[0].update(frequencies=[1.0]), "one frequency per category"),
        (1, lambda c: c.append(dict(c[0])), "each name once"),
        (
            1,
            lambda c: c[1].update(categories=["a", "b", "c"], frequencies=[0.25] * 4),
            r"invalid architecture \(CategoryEncoding gives 13 encoded columns but "
            "the model takes 12",
        ),
        (
            0,
            lambda c: c[1].update(fill="young"),
            "a numeric column is filled with a number",
        ),
        (
            0,
            lambda c: c[2].update(fill=3.5),
            "a categorical column is filled with a text",
        ),
        (0, lambda c: c[0].update(role="secret"), "objects with keys"),
        (0, lambda c: c[0].update(indicator=True), "an ignored column has no fill"),
    ],
)
def test_a_model_file_with_bad_table_settings_is_refused(
    table, tmp_path, layer, change, words
):
    data, y = table
    layers, X = table_layers(data, infer_roles(data))
    model = gn.Sequential([*layers, gn.Dense(1, "sigmoid")]).build(X.shape[1], rng=0)
    path = tmp_path / "model.glassnet"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    change(manifest["model"]["layers"][layer]["config"]["columns"])
    files["manifest.json"] = json.dumps(manifest).encode()
    bad = tmp_path / "bad.glassnet"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    with pytest.raises(Exception, match=words):
        gn.load(bad)


# -- the command line, as a user would (the "done when") -------------------


def glassnet(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "glassnet", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_raw_table_trains_with_defaults_and_predicts_raw_rows(tmp_path):
    write_csv(tmp_path / "passengers.csv", HEADER, passengers(400, seed=1))
    new = passengers(60, seed=2)
    new[0][HEADER.index("port")] = "X"  # a port never seen in training
    new[1][HEADER.index("age")] = ""
    write_csv(tmp_path / "new.csv", HEADER, new)
    features = [row[:-1] for row in new]
    write_csv(tmp_path / "new_raw.csv", HEADER[:-1], features)  # no label column

    trained = glassnet(
        "train", "--data", "passengers.csv", "--label-column", "survived",
        "--quiet", "--out", "run", cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "categorical (2): sex (text, 2 values), port (text, 3 values" in (
        trained.stdout
    )
    assert "ignored (2): passenger (identifier: all 400 values distinct)" in (
        trained.stdout
    )
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["column_roles"] == {
        "passenger": "ignored",
        "pclass": "numeric",
        "sex": "categorical",
        "age": "numeric",
        "fare": "numeric",
        "port": "categorical",
        "deck": "ignored",
    }
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["results"]["train"]["accuracy"] > 0.7
    assert {c["name"]: c["missing"] for c in results["columns"]}["age"] > 0

    # the model file alone, elsewhere: predictions on raw rows agree with evaluate
    alone = tmp_path / "elsewhere" / "model.glassnet"
    alone.parent.mkdir()
    shutil.copy(tmp_path / "run" / "model.glassnet", alone)
    predicted = glassnet("predict", alone, "new_raw.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "'port' holds ['X'], not seen in training" in predicted.stderr
    labels = predicted.stdout.split()
    truth = [row[-1] for row in new]
    assert len(labels) == 60 and set(labels) <= {"yes", "no"}
    evaluated = glassnet(
        "evaluate", alone, "--data", "new.csv", "--label-column", "survived",
        cwd=tmp_path,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    row = evaluated.stdout.splitlines()[1].split()
    accuracy = np.mean(np.asarray(labels) == np.asarray(truth))
    assert row[0] == "data" and float(row[3]) == pytest.approx(accuracy, abs=1e-4)
    # Python from the same file gives the same labels; the run folder too
    model = gn.load(alone)
    assert model.predict(read_table(tmp_path / "new.csv")).tolist() == labels
    again = glassnet("predict", "run", "new.csv", cwd=tmp_path)
    assert again.stdout.split() == labels
    # glassnet export writes the table graph (one input per column) from the CLI
    runtime = pytest.importorskip("onnxruntime")
    from glassnet.layers.table import table_inputs

    exported = glassnet("export", "run", "--onnx", "table.onnx", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "input:  table" in exported.stdout
    session = runtime.InferenceSession(
        str(tmp_path / "table.onnx"), providers=["CPUExecutionProvider"]
    )
    raw = read_table(tmp_path / "new_raw.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the unseen port, named
        expected = model.predict_proba(raw)
    (found,) = session.run(None, table_inputs(model, raw))
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-5)
    refused = glassnet("export", "run", "--onnx", "x.onnx", "--rows", cwd=tmp_path)
    assert refused.returncode == 2 and "leave out --rows" in refused.stderr

    # a missing column is named; --ignore / --categorical override the roles
    write_csv(tmp_path / "no_age.csv", ["sex", "fare"], [["male", "3"]])
    missing = glassnet("predict", alone, "no_age.csv", cwd=tmp_path)
    assert missing.returncode == 2
    assert "no column 'pclass', 'age', 'port', which the model takes" in (
        missing.stderr
    )
    overridden = glassnet(
        "train", "--data", "passengers.csv", "--label-column", "survived",
        "--epochs", "2", "--ignore", "fare", "--categorical", "pclass", "--quiet",
        "--out", "run2", cwd=tmp_path,
    )  # fmt: skip
    assert overridden.returncode == 0, overridden.stderr
    roles = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert roles["column_roles"]["fare"] == "ignored"
    assert roles["column_roles"]["pclass"] == "categorical"
    assert "sex=male" in gn.load(tmp_path / "run2" / "model.glassnet").feature_names
    # the diagnosis of the model file on the table, split as its run split it
    diagnosed = glassnet("diagnose", alone, "--data", "passengers.csv", cwd=tmp_path)
    assert diagnosed.returncode == 0, diagnosed.stderr
    shown = re.search(r"^training\s+([\d.]+)%", diagnosed.stdout, re.MULTILINE)
    train_error = 100 * (1 - results["results"]["train"]["accuracy"])
    assert float(shown.group(1)) == pytest.approx(train_error, abs=0.05)
    # transfer: the body's table layers read the new table by name
    transferred = glassnet(
        "transfer", alone, "--data", "new.csv", "--label-column", "survived",
        "--freeze", "--layers", "4", "--epochs", "2", "--quiet", "--out", "moved",
        cwd=tmp_path,
    )  # fmt: skip
    assert transferred.returncode == 0, transferred.stderr
    moved = gn.load(tmp_path / "moved" / "model.glassnet")
    assert moved.feature_names == model.feature_names


@pytest.mark.slow
def test_the_benchmark_recipe_gives_the_documented_mixed_table(tmp_path):
    """benchmarks/accuracy.py's passengers row: the recipe's roles, and
    scikit-learn's ColumnTransformer side runs on glassnet's split."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "accuracy.py"
    spec = importlib.util.spec_from_file_location("accuracy_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    table = read_table(benchmark.write_passengers(tmp_path / "p.csv", m=200))
    roles = {r.name: r.role for r in infer_roles(table)}
    assert roles == {
        "passenger": "ignored",
        "pclass": "numeric",
        "sex": "categorical",
        "age": "numeric",
        "siblings": "numeric",
        "fare": "numeric",
        "port": "categorical",
        "deck": "ignored",
        "survived": "categorical",
    }
    pytest.importorskip("sklearn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the empty ages, read as NaN
        accuracy, _, task = benchmark.run_sklearn("passengers", 0, seed=0)
    assert task == "binary" and accuracy > 0.7


def test_parquet_and_dataframe_tables_take_the_same_roads(tmp_path):
    """A Parquet file trains like its CSV twin (text kept as text, roles
    inferred), and its raw table, the CSV's and a DataFrame predict alike."""
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from glassnet.runs import train_run

    write_csv(tmp_path / "p.csv", HEADER, passengers(120, seed=3))
    frame = pandas.read_csv(tmp_path / "p.csv")
    frame.to_parquet(tmp_path / "p.parquet")
    config = RunConfig(
        data=str(tmp_path / "p.parquet"), label_column="survived", epochs=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the empty ages, read as NaN
        result = train_run(config, verbose=False)
        tables = [read_table(tmp_path / f"p.{kind}") for kind in ("csv", "parquet")]
    roles = {role.name: role.role for role in result.columns}
    assert roles["sex"] == roles["port"] == "categorical"
    assert roles["passenger"] == roles["deck"] == "ignored"
    expected = result.model.predict_proba(tables[0])
    np.testing.assert_array_equal(result.model.predict_proba(tables[1]), expected)
    np.testing.assert_array_equal(result.model.predict_proba(frame), expected)
    # a DataFrame straight into the layers: roles inferred, the same encoding
    layers, X = gn.table_layers(frame.drop(columns=["survived"]))
    assert layers[1].feature_names == result.model.feature_names


@pytest.mark.slow  # importing onnx and onnxruntime takes seconds
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("max_categories", [20, 1])
def test_onnx_export_of_the_table_layers_agrees_with_predict(
    table, tmp_path, dtype, max_categories
):
    """The exported graph (one input per column, ai.onnx.ml LabelEncoder, OneHot)
    gives predict_proba on raw cells: empty numbers and texts, a value never seen
    (the training average when nothing was pooled, else the (other) slot)."""
    runtime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from glassnet.layers.table import table_inputs

    data, y = table
    layers, X = table_layers(data, infer_roles(data), max_categories=max_categories)
    model = gn.Sequential(
        [
            *layers,
            gn.Standardization().adapt(X),
            gn.Dense(6, "tanh"),
            gn.Dense(1, "sigmoid"),
        ]  # fmt: skip
    ).build(X.shape[1], rng=0, dtype=dtype)
    model.fit(data, y == "yes", epochs=3, rng=0, verbose=False)
    new = data.take(np.arange(40))
    new.columns[new.names.index("port")][:3] = ["Z", None, "S"]
    new.columns[new.names.index("sex")][3] = "unknown"
    new.columns[new.names.index("age")][4] = np.nan
    path = model.to_onnx(tmp_path / "table.onnx")
    session = runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the unseen values, named
        expected = model.predict_proba(new)
    (found,) = session.run(None, table_inputs(model, new))
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(found, expected, rtol=0, atol=tolerance)
    assert [i.name for i in session.get_inputs()] == layers[0].used_names


def test_a_table_with_text_needs_a_header(tmp_path):
    from glassnet.runs import prepare_data

    path = tmp_path / "plain.csv"
    path.write_text("1,red,0\n2,blue,1\n3,red,0\n4,blue,1\n")
    with pytest.raises(ValueError, match=r"feature 1 holds text \('red'\); a table"):
        prepare_data(RunConfig(data=str(path)))


def test_pandas_missing_values_and_overlong_names(tmp_path):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(
        {
            "count": pandas.array([1, None, 3, 4], dtype="Int64"),
            "kind": pandas.array(["a", None, "b", "a"], dtype="string"),
            "size": [1.0, 2.0, np.nan, 4.0],
        }
    )
    layers, X = gn.table_layers(frame)
    assert layers[0].columns[0]["fill"] == 3.0  # the median of 1, 3, 4
    assert layers[0].columns[1]["fill"] == "a"
    assert X.shape == (4, 8) and not np.isnan(X).any()  # 1 + 3 + 1 + 3 flags
    long = "x" * (MAX_TEXT - 5)  # "... (was missing)" would pass the bound
    with pytest.raises(ValueError, match="column names have at most 200"):
        gn.table_layers(Table([long], [np.array([1.0, np.nan, 2.0])]))
