"""How the ``glassnet`` command fails: user errors are one line with status 2, bugs
are reported as bugs (status 70, the traceback, a request to report them).

In-process through :func:`glassnet.cli.main` (see tests/test_cli.py). The bad inputs
below were found by probing every subcommand with wrong options, missing and
malformed files, bad configs and model files; each must stay a one-line error.
"""

from __future__ import annotations

import errno
import json
import warnings
import zipfile

import numpy as np
import pytest
from test_cli import (
    Outcome,
    assert_internal_error,
    assert_one_line_error,
    blobs,
    cli,
    ok,
    write_csv,
)

import glassnet.cli.diagnose
from glassnet.cli import EXIT_INTERNAL, main
from glassnet.data.datasets import DatasetNotFoundError
from glassnet.errors import GlassnetError
from glassnet.guard import DivergenceError
from glassnet.io import ModelFileError
from glassnet.search.results import NoTrialSucceededError

# ============================================================ the internal-error path

DIAGNOSE = ["diagnose", "--train", "8", "--dev", "12"]


def _raising(error: BaseException):
    def handler(args):
        warnings.warn("a warning of the failed run", stacklevel=1)
        raise error

    return handler


BUGS = {
    "TypeError": TypeError("unsupported operand type(s) for +: 'int' and 'str'"),
    "KeyError": KeyError("accuracy"),
    "RuntimeError": RuntimeError("the engine is in a bad state"),
    "AttributeError": AttributeError("'NoneType' object has no attribute 'shape'"),
    "AssertionError": AssertionError("shapes differ"),
    "NotImplementedError": NotImplementedError("not yet"),
    "IndexError": IndexError("list index out of range"),
    "ZeroDivisionError": ZeroDivisionError("float division by zero"),
}


@pytest.mark.parametrize("kind", list(BUGS))
def test_a_bug_is_reported_as_an_internal_error(kind, monkeypatch, capsys):
    """A handler raising anything but an input error: 'internal error', the
    traceback, a request to report it with the version, status 70."""
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", _raising(BUGS[kind]))
    status = main(DIAGNOSE)
    captured = capsys.readouterr()
    assert status == EXIT_INTERNAL == 70
    assert captured.out == ""
    lines = assert_internal_error(Outcome(status, captured.out, captured.err), kind)
    assert lines[0] == f"glassnet: internal error: {kind}: {BUGS[kind]}"
    # the traceback reaches the handler that raised
    assert "in handler" in captured.err and "raise error" in captured.err
    # a failed run prints no warnings
    assert "warning" not in captured.err


def test_an_internal_error_without_a_message(monkeypatch, capsys):
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", _raising(TypeError()))
    assert main(DIAGNOSE) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "glassnet: internal error: TypeError"


def test_an_internal_error_keeps_only_the_first_line_in_its_headline(
    monkeypatch, capsys
):
    error = RuntimeError("first line\nsecond line")
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", _raising(error))
    assert main(DIAGNOSE) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "glassnet: internal error: RuntimeError: first line"
    assert "second line" in err  # in the traceback


USER_ERRORS = {
    "ValueError": ValueError("learning_rate must be in (0, inf)"),
    "FileNotFoundError": FileNotFoundError("no such file: rows.csv"),
    "PermissionError": PermissionError(errno.EACCES, "Permission denied", "out"),
    "IsADirectoryError": IsADirectoryError(errno.EISDIR, "Is a directory", "adir"),
    "NotADirectoryError": NotADirectoryError(errno.ENOTDIR, "Not a directory", "f/x"),
    "disk full": OSError(errno.ENOSPC, "No space left on device"),
    "ConnectionError": ConnectionRefusedError("cannot reach tcp://127.0.0.1:1"),
    "MemoryError": MemoryError("Unable to allocate 728. TiB for an array"),
    "UnicodeDecodeError": UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid"),
    "GlassnetError": GlassnetError("a glassnet error"),
    "ModelFileError": ModelFileError("cannot load model file 'm': it is empty"),
    "DatasetNotFoundError": DatasetNotFoundError("could not find mnist; looked in:"),
    "DivergenceError": DivergenceError(
        "training diverged in epoch 3", epoch=3, layer=1, history=None
    ),
    "NoTrialSucceededError": NoTrialSucceededError("none of the 4 trials succeeded"),
}


@pytest.mark.parametrize("kind", list(USER_ERRORS))
def test_input_errors_and_glassnets_own_errors_stay_one_line(kind, monkeypatch, capsys):
    error = USER_ERRORS[kind]
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", _raising(error))
    status = main(DIAGNOSE)
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == f"glassnet: error: {error}\n"
    assert captured.out == ""


def test_glassnets_error_classes_share_one_base_and_keep_their_builtin_one():
    assert issubclass(ModelFileError, GlassnetError)
    assert issubclass(ModelFileError, ValueError)
    assert issubclass(DatasetNotFoundError, GlassnetError)
    assert issubclass(DatasetNotFoundError, FileNotFoundError)
    assert issubclass(DatasetNotFoundError, ValueError)
    assert issubclass(DivergenceError, GlassnetError)
    assert issubclass(DivergenceError, RuntimeError)
    assert issubclass(NoTrialSucceededError, GlassnetError)
    assert issubclass(NoTrialSucceededError, RuntimeError)
    import glassnet

    assert glassnet.DivergenceError is DivergenceError  # still where it was


def test_a_multi_line_user_error_prints_its_first_line(monkeypatch, capsys):
    error = ValueError("the headline\n  details on a second line")
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", _raising(error))
    assert main(DIAGNOSE) == 2
    assert capsys.readouterr().err == "glassnet: error: the headline\n"


def test_a_user_error_without_a_message_prints_its_type(monkeypatch, capsys):
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", _raising(ValueError()))
    assert main(DIAGNOSE) == 2
    assert capsys.readouterr().err == "glassnet: error: ValueError\n"


@pytest.mark.parametrize("error", [TypeError("a bug"), ValueError("bad input")])
def test_debug_re_raises_every_error(error, monkeypatch):
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", _raising(error))
    with pytest.raises(type(error), match=str(error)):
        main(["--debug", *DIAGNOSE])


def test_interrupt_exits_130_and_a_closed_pipe_exits_0(monkeypatch, capsys):
    handler = _raising(KeyboardInterrupt())
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", handler)
    assert main(DIAGNOSE) == 130
    assert capsys.readouterr().err == "glassnet: interrupted\n"
    handler = _raising(BrokenPipeError(errno.EPIPE, "Broken pipe"))
    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", handler)
    assert main(DIAGNOSE) == 0


def test_warnings_are_printed_once_after_a_successful_command(monkeypatch, capsys):
    def handler(args):
        for _ in range(2):
            warnings.warn("first line of a warning\nmore", stacklevel=1)
        print("done")
        return 0

    monkeypatch.setattr(glassnet.cli.diagnose, "run_diagnose", handler)
    assert main(DIAGNOSE) == 0
    captured = capsys.readouterr()
    assert captured.out == "done\n"
    assert captured.err == "glassnet: warning: first line of a warning\n"


def test_debug_shows_the_traceback_of_a_user_error():
    """``--debug`` re-raises (a real process prints the traceback: test_cli_smoke)."""
    with pytest.raises(ValueError, match="learning_rate"):
        main(["--debug", "train", "--lr", "-1"])


# ============================================================ bad input: one line


@pytest.fixture
def bad_files(tmp_path):
    X, y = blobs(60)
    write_csv(
        tmp_path / "text_feature.csv",
        ["a", "colour", "c", "label"],
        [
            [r[0], "red" if i % 2 else "blue", r[2], t]
            for i, (r, t) in enumerate(zip(X, y, strict=True))
        ],
    )
    write_csv(
        tmp_path / "empty_label.csv",
        ["a", "b", "c", "label"],
        [
            [*r, "" if i == 3 else t]
            for i, (r, t) in enumerate(zip(X.tolist(), y, strict=True))
        ],
    )
    write_csv(
        tmp_path / "one_class.csv",
        ["a", "b", "c", "label"],
        [[*r, 1] for r in X.tolist()],
    )
    (tmp_path / "garbage.glassnet").write_bytes(b"this is not a model\x00\x01\x02")
    np.save(tmp_path / "rows.npy", X)
    return tmp_path


ERROR_CASES = {
    "unknown-option": ["train", "--bogus"],
    "layers-abc": ["train", "--layers", "abc"],
    "layers-empty-size": ["train", "--layers", "64,,32"],
    "layers-trailing-comma": ["train", "--layers", "64,"],
    "transfer-layers-empty-size": [
        "transfer",
        "m.glassnet",
        "--data",
        "digits",
        "--layers",
        "64,,32",
    ],
    "negative-lr": ["train", "--lr", "-1"],
    "keep-prob-1.5": ["train", "--keep-prob", "1.5"],
    "missing-data-file": ["train", "--data", "missing.csv"],
    # text is a categorical column (D40), unless the user says it is numeric
    "non-numeric-feature": [
        "train",
        "--data",
        "text_feature.csv",
        "--numeric",
        "colour",
        "--epochs",
        "1",
    ],
    "empty-label": ["train", "--data", "empty_label.csv", "--epochs", "1"],
    "single-class-labels": ["train", "--data", "one_class.csv", "--epochs", "1"],
    "missing-config": ["train", "--config", "missing.json"],
    "missing-model": ["predict", "missing.glassnet", "rows.npy"],
    "garbage-model": ["predict", "garbage.glassnet", "rows.npy"],
    "garbage-model-evaluate": ["evaluate", "garbage.glassnet", "--data", "digits"],
    "diagnose-nothing": ["diagnose"],
}


@pytest.mark.parametrize("args", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
def test_errors_are_one_line_with_status_2(args, bad_files):
    outcome = cli(*args, cwd=bad_files)
    line = assert_one_line_error(outcome)
    assert outcome.stdout == "", outcome.stdout
    if "text_feature.csv" in args:
        assert "colour" in line
    if "--keep-prob" in args:
        assert "1.5" in line


def test_an_empty_layer_size_is_refused(tmp_path):
    line = assert_one_line_error(cli("train", "--layers", "64,,32", cwd=tmp_path))
    assert line == (
        "glassnet: error: layers must be comma-separated unit counts like 64,32; "
        "received '64,,32' (a size between commas is missing)"
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "command", [["train", "--epochs", "1"], ["cluster"], ["search", "--trials", "1"]]
)
def test_a_mistyped_dataset_name_suggests_the_closest_known_name(command, tmp_path):
    def error(data):
        out = ["--out", f"out-{data}"] if command[0] == "search" else []
        return assert_one_line_error(cli(*command, *out, "--data", data, cwd=tmp_path))

    assert "no dataset named 'digts' (did you mean 'digits'?)" in error("digts")
    assert "(did you mean 'breast_cancer'?)" in error("Breast-Cancr")
    line = error("zzz.csv")
    assert "did you mean" not in line and "known dataset names: " in line, line


def test_diagnose_of_a_run_takes_only_the_human_error(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(
        '{"results": {"train": {"accuracy": 0.9}, "dev": {"accuracy": 0.8}}}'
    )
    line = assert_one_line_error(cli("diagnose", "run", "--dev", "5", cwd=tmp_path))
    assert "--dev applies without RUN_OR_MODEL" in line, line


def test_bad_keep_prob_text_names_the_option_not_a_function(tmp_path):
    line = assert_one_line_error(cli("train", "--keep-prob", "abc", cwd=tmp_path))
    assert "--keep-prob" in line and "'abc'" in line
    assert "_float_or_list" not in line, line


ARGPARSE_CASES = {
    "epochs-text": (["train", "--epochs", "x"], "argument --epochs: invalid int"),
    "optimizer-choice": (["train", "--optimizer", "sgd"], "invalid choice: 'sgd'"),
    "command": (["bogus"], "invalid choice: 'bogus'"),
    "search-out": (["search"], "the following arguments are required: --out"),
    "gradcheck-features-0": (
        ["gradcheck", "--features", "0"],
        "argument --features: expected an integer >= 1; received 0",
    ),
    "gradcheck-examples-0": (["gradcheck", "--examples", "0"], "--examples"),
    "gradcheck-classes-1": (["gradcheck", "--classes", "1"], "integer >= 2"),
    "gradcheck-classes-text": (["gradcheck", "--classes", "x"], "'x'"),
    "diagnose-float": (["diagnose", "--train", "x"], "invalid float value: 'x'"),
}


@pytest.mark.parametrize(
    "args, expected", list(ARGPARSE_CASES.values()), ids=list(ARGPARSE_CASES)
)
def test_bad_options_are_one_line_usage_errors(args, expected, capsys):
    with pytest.raises(SystemExit) as exit:
        main(args)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: error:"), captured.err
    assert expected in lines[0]


CONFIG_CASES = {
    "layers-number": ({"layers": 5}, "layers must be unit counts"),
    "layers-floats": ({"layers": [1.5]}, "received layers=[1.5]"),
    "layers-null": ({"layers": None}, "received layers=None"),
    "epochs-text": ({"epochs": "ten"}, "epochs must be an integer; received"),
    "epochs-bool": ({"epochs": True}, "epochs must be an integer"),
    "lr-text": ({"learning_rate": "x"}, "learning_rate must be a number or null"),
    "keep-prob-list": ({"keep_prob": [1, "a"]}, "keep_prob must be a number or a list"),
    "batchnorm-text": ({"batchnorm": "yes"}, "batchnorm must be true or false"),
    "data-number": ({"data": 5}, "data must be a dataset name or path"),
    "seed-float": ({"seed": 1.5}, "seed must be an integer"),
    "split-seed-text": ({"split_seed": "a"}, "split_seed must be an integer"),
    "dtype-number": ({"dtype": 3}, "dtype must be a string"),
    "metrics-number": ({"metrics": 5}, "metrics must be a list of metric names"),
    "label-column-list": ({"label_column": []}, "label_column must be a column"),
    "unknown": ({"colour": 1}, "unknown hyperparameter(s) ['colour']"),
    "config-not-object": ({"config": [1, 2]}, '"config" must be an object'),
}


@pytest.mark.parametrize(
    "values, expected", list(CONFIG_CASES.values()), ids=list(CONFIG_CASES)
)
def test_a_json_config_of_the_wrong_types_is_a_one_line_error(
    values, expected, tmp_path
):
    (tmp_path / "c.json").write_text(json.dumps({"data": "iris", **values}))
    line = assert_one_line_error(cli("train", "--config", "c.json", cwd=tmp_path))
    assert expected in line, line


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "c.json is not valid JSON"),
        ("[1, 2]", "c.json must hold a JSON object; received a list"),
        (b"\xff\xfe\x00", "c.json is not valid JSON"),
    ],
    ids=["syntax", "list", "binary"],
)
def test_a_config_file_that_is_not_a_json_object(text, expected, tmp_path):
    path = tmp_path / "c.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert expected in assert_one_line_error(
        cli("train", "--config", "c.json", cwd=tmp_path)
    )


def test_a_resumed_run_with_a_bad_config_or_none(tmp_path):
    (tmp_path / "run").mkdir()
    line = assert_one_line_error(cli("train", "--resume", "run", cwd=tmp_path))
    assert line.endswith("run is not a run folder (no config.json)")
    (tmp_path / "run" / "config.json").write_text('{"epochs": "x"}')
    line = assert_one_line_error(cli("train", "--resume", "run", cwd=tmp_path))
    assert "epochs must be an integer" in line


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"results": {"dev": {"accuracy": "high"}}}', "must map metric names to"),
        ('{"results": {"dev": 5}}', "split 'dev' must map"),
        ('{"results": {"dev": {"accuracy": null}}}', "received {'accuracy': None}"),
        ('{"nothing": 1}', 'has no "results" object'),
        ("[1, 2]", "must hold a JSON object"),
        ("{oops", "is not valid JSON"),
    ],
    ids=["text", "number", "null", "no-results", "list", "syntax"],
)
@pytest.mark.parametrize("command", ["diagnose", "select"])
def test_a_run_folder_with_malformed_results(command, text, expected, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(text)
    line = assert_one_line_error(cli(command, "run", cwd=tmp_path))
    assert expected in line, line


def test_diagnose_a_missing_source_or_a_run_without_accuracy(tmp_path):
    line = assert_one_line_error(cli("diagnose", "missing", cwd=tmp_path))
    assert line.endswith("no such run folder or model file: missing")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(
        '{"results": {"train": {"cost": 1.0}, "dev": {"cost": 2.0}}}'
    )
    line = assert_one_line_error(cli("diagnose", "run", cwd=tmp_path))
    assert "holds no accuracy to diagnose" in line


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A 1-epoch iris model and a regression model, with a file of 4 features."""
    folder = tmp_path_factory.mktemp("small_model")
    ok(cli("train", "--data", "iris", "--epochs", "1", "--quiet", "--out", "iris",
           cwd=folder))  # fmt: skip
    ok(cli("train", "--data", "diabetes", "--epochs", "1", "--quiet", "--out", "reg",
           cwd=folder))  # fmt: skip
    np.save(folder / "rows.npy", np.ones((3, 4)))
    return folder


def _with_manifest(source, target, change):
    with zipfile.ZipFile(source) as archive:
        document = json.loads(archive.read("manifest.json"))
        change(document)
        with zipfile.ZipFile(target, "w") as out:
            for name in archive.namelist():
                data = archive.read(name)
                out.writestr(name, json.dumps(document) if "manifest" in name else data)
    return target


EXTRA_CASES = {
    "extra-list": (lambda m: m.update(extra=[1, 2]), "its extra must be an object"),
    "classes-number": (
        lambda m: m["extra"].update(classes=5),
        "its extra 'classes' must be a list of class labels; received 5",
    ),
    "classes-too-few": (
        lambda m: m["extra"].update(classes=["a"]),
        "it names 1 classes but its softmax output gives 3",
    ),
    "feature-names": (
        lambda m: m["extra"].update(feature_names=5),
        "'feature_names' must be a list of column names",
    ),
    "run-config": (
        lambda m: m["extra"].update(run_config=[1]),
        "'run_config' must be an object of run settings",
    ),
    "standardizer-text": (
        lambda m: m["extra"].update(standardizer={"mean": "x"}),
        "'standardizer' must be an object with lists mean and std",
    ),
    "standardizer-short": (
        lambda m: m["extra"].update(standardizer={"mean": [1, 2], "std": [1, 2]}),
        "its standardizer has [2] values but the model takes 4 features",
    ),
    "standardizer-zero": (
        lambda m: m["extra"].update(standardizer={"mean": [0] * 4, "std": [0] * 4}),
        "std must be finite and positive",
    ),
    "task": (lambda m: m["extra"].update(task=5), "its extra 'task' must be"),
}


@pytest.mark.parametrize(
    "change, expected", list(EXTRA_CASES.values()), ids=list(EXTRA_CASES)
)
def test_a_model_file_with_malformed_extra_is_refused_in_one_line(
    change, expected, small_model, tmp_path
):
    model = _with_manifest(
        small_model / "iris" / "model.glassnet", tmp_path / "m.glassnet", change
    )
    rows = small_model / "rows.npy"
    for args in (
        ["predict", model, rows],
        ["evaluate", model, "--data", "iris"],
        ["diagnose", model, "--data", "iris"],
        ["transfer", model, "--data", "iris", "--epochs", "1", "--quiet"],
    ):
        line = assert_one_line_error(cli(*args, cwd=tmp_path))
        assert line.startswith(f"glassnet: error: cannot use model file '{model}'")
        assert expected in line, line


def test_diagnose_refuses_a_regression_model(small_model):
    line = assert_one_line_error(
        cli("diagnose", "reg/model.glassnet", "--data", "diabetes", cwd=small_model)
    )
    assert "reg/model.glassnet is a regression model" in line


FEATURE_FILES = {
    "empty.csv": (b"", "empty.csv has no data lines"),
    "header.csv": (b"a,b,c,d\n", "has a header line but no data lines"),
    "ragged.csv": (b"a,b,c,d\n1,2,3,4\n1,2\n", "line 3: c holds '(missing)'"),
    "binary.csv": (b"\xff\xfe\x00\x01", "cannot read binary.csv as CSV"),
    "broken.npy": (b"\x93NUMPY garbage", "cannot read broken.npy"),
    "broken.npz": (b"PK\x03\x04 garbage", "cannot read broken.npz"),
}


@pytest.mark.parametrize("name", list(FEATURE_FILES))
def test_predict_on_a_malformed_feature_file(name, small_model, tmp_path):
    content, expected = FEATURE_FILES[name]
    (tmp_path / name).write_bytes(content)
    model = small_model / "iris" / "model.glassnet"
    line = assert_one_line_error(cli("predict", model, name, cwd=tmp_path))
    assert expected in line, line


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.array([["a"] * 4]), "must be numeric"),
        (np.zeros(4), "must be 2-D or 3-D or 4-D"),
        (np.zeros((0, 4)), "is empty"),
        (np.full((2, 4), np.nan), "contains NaN or infinity"),
        (np.zeros((2, 4), complex), "must be real-valued"),
        (np.ones((2, 5)), "has 5 feature columns but the model takes 4"),
    ],
    ids=["text", "1-D", "empty", "nan", "complex", "columns"],
)
def test_predict_on_a_bad_array(array, expected, small_model, tmp_path):
    np.save(tmp_path / "rows.npy", array)
    model = small_model / "iris" / "model.glassnet"
    assert expected in assert_one_line_error(
        cli("predict", model, "rows.npy", cwd=tmp_path)
    )


def test_a_folder_where_a_file_belongs_is_one_line(small_model, tmp_path):
    (tmp_path / "adir").mkdir()
    model = small_model / "iris" / "model.glassnet"
    for args in (
        ["predict", "adir", "rows.npy"],
        ["predict", model, "adir"],
        ["train", "--config", "adir"],
        ["errors", "adir"],
    ):
        assert_one_line_error(cli(*args, cwd=tmp_path))
    (tmp_path / "afile").write_text("x")
    line = assert_one_line_error(
        cli(
            "train",
            "--data",
            "iris",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "afile",
            cwd=tmp_path,
        )  # fmt: skip
    )
    assert "afile is a file, not a folder" in line


def test_a_missing_course_data_folder_is_one_line(tmp_path, monkeypatch):
    """DatasetNotFoundError (a GlassnetError) has a multi-line message: its first
    line is the error."""
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "nowhere"))
    (tmp_path / "cwd").mkdir()
    line = assert_one_line_error(
        cli("train", "--data", "mnist", "--quiet", cwd=tmp_path / "cwd")
    )
    assert "could not find mnist" in line


SPACE_CASES = {
    "not-a-table": ("space = [1, 2]\n", "a space config must be a table"),
    "low-text": (
        '[space]\nlearning_rate = {type="log_uniform", low="a", high=2}\n',
        "hyperparameter 'learning_rate': low must be a number; received low='a'",
    ),
    "choice-not-list": (
        '[space]\nlayers = {type="choice", values=5}\n',
        "hyperparameter 'layers': Choice needs a list of values",
    ),
    "int-low-float": (
        '[space]\nepochs = {type="int_uniform", low=1.5, high=3}\n',
        "hyperparameter 'epochs': low must be an integer",
    ),
    "bad-toml": ("[space\nx=", "is not valid TOML"),
    "every-trial-fails": (
        '[space]\nlayers = {type="choice", values=[{a=1}]}\n',
        "none of the 1 trials succeeded; first error: ValueError: layers must be",
    ),
}


@pytest.mark.parametrize(
    "text, expected", list(SPACE_CASES.values()), ids=list(SPACE_CASES)
)
def test_a_bad_search_space_file_is_one_line(text, expected, tmp_path):
    (tmp_path / "space.toml").write_text(text)
    line = assert_one_line_error(
        cli(
            "search",
            "--trials",
            "1",
            "--out",
            "s",
            "--space",
            "space.toml",
            "--data",
            "iris",
            "--epochs",
            "1",
            "--quiet",
            cwd=tmp_path,
        )  # fmt: skip
    )
    assert expected in line, line


def test_a_search_space_of_fixed_values_only_runs(tmp_path):
    """Nothing sampled: the search runs its trial and skips the scatter plot (it
    used to fail after the trials with 'no sampled hyperparameters to plot')."""
    (tmp_path / "space.toml").write_text('[space]\nlayers = "8"\n')
    outcome = ok(
        cli(
            "search",
            "--trials",
            "1",
            "--out",
            "s",
            "--space",
            "space.toml",
            "--data",
            "iris",
            "--epochs",
            "1",
            "--quiet",
            cwd=tmp_path,
        )  # fmt: skip
    )
    assert "best dev accuracy" in outcome.stdout
    assert (tmp_path / "s" / "best_config.json").is_file()
    assert not (tmp_path / "s" / "trials.png").exists()
