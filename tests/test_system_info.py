"""gn.show_config() says what runs here: versions, the compiled loops (or why not),
glassnet's threads inside fit, the BLAS, the products' path, backends, defaults."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import _kernels, system_info

LABELS = (
    "glassnet ",
    "python ",
    "numpy ",
    "compiled loops ",
    "threads in fit ",
    "products ",
    "BLAS ",
    "backends ",
    "defaults ",
)


@pytest.fixture
def no_optional_backends(monkeypatch):
    """torch and cupy look not installed (and are not imported)."""
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name in ("torch", "cupy") else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_show_config_prints_and_returns_what_runs_here(no_optional_backends):
    stream = io.StringIO()
    text = gn.show_config(file=stream)
    assert stream.getvalue() == text + "\n"
    lines = text.splitlines()
    for label in LABELS:
        assert any(line.startswith(label) for line in lines), (label, text)
    assert lines[0].split() == ["glassnet", gn.__version__]
    assert f"numpy           {np.__version__}" in lines
    assert "defaults        dtype float32, backend numpy" in lines
    assert "torch not installed; cupy not installed" in text
    threads = _kernels.planned_threads()
    assert f"threads in fit  {threads} " in text
    if _kernels.AVAILABLE:
        assert "compiled loops  built" in text
    else:
        assert f"compiled loops  off: {_kernels.UNAVAILABLE_REASON}" in text


def test_system_info_is_the_same_as_a_dict(no_optional_backends):
    info = system_info.system_info()
    assert info["glassnet"] == gn.__version__
    assert info["numpy"] == np.__version__
    assert info["compiled"]["available"] is _kernels.AVAILABLE
    assert info["compiled"]["reason"] == _kernels.UNAVAILABLE_REASON
    assert info["threads"]["in_fit"] == _kernels.planned_threads()
    assert info["threads"]["cpus"] == _kernels._cpus()
    assert info["products"]["banded"] is _kernels._find_sgemm()
    assert info["defaults"] == {"dtype": "float32", "backend": "numpy"}
    assert info["backends"]["torch"] == {"installed": False}
    for library in info["blas"]:
        assert set(library) >= {"internal_api", "version", "architecture"}
        assert set(library) >= {"num_threads", "filepath", "numpy"}


@pytest.mark.skipif(
    not (_kernels.AVAILABLE and _kernels._find_sgemm()),
    reason="NumPy's BLAS is not OpenBLAS with a cblas_sgemm symbol",
)
def test_the_report_names_numpys_openblas_and_the_sgemm_bands(no_optional_backends):
    from threadpoolctl import threadpool_limits

    info = system_info.system_info()
    assert info["compiled"]["loops"]  # the SIMD copy the CPU takes
    assert isinstance(info["compiled"]["exact_division"], bool)
    assert any(library["numpy"] for library in info["blas"])
    text = system_info.format_info(info)
    assert f"OpenBLAS {_kernels.SGEMM_SYMBOL}" in text
    assert "(NumPy's)" in text
    with threadpool_limits(1, user_api="blas"):
        assert system_info.system_info()["threads"]["in_fit"] == 1


def test_the_reference_path_reports_no_threads(no_optional_backends):
    with _kernels.reference_only():
        assert system_info.system_info()["threads"]["in_fit"] == 1


def _run(code: str, **environment) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow  # a fresh Python process
def test_without_the_loops_it_says_they_are_off_and_why():
    text = _run("import glassnet; glassnet.show_config()", GLASSNET_NO_COMPILED="1")
    assert "compiled loops  off: turned off by GLASSNET_NO_COMPILED=1" in text
    assert "threads in fit  1 " in text
    assert "products        np.matmul (the compiled loops are not available)" in text


@pytest.mark.slow  # a fresh Python process
def test_optional_backends_that_are_not_installed_are_not_imported():
    code = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name in "
        "('torch', 'cupy') else real(name, *a)\n"
        "import glassnet\n"
        "text = glassnet.show_config()\n"
        "print(sorted(m for m in ('torch', 'cupy') if m in sys.modules))\n"
    )
    output = _run(code)
    assert "torch not installed; cupy not installed" in output
    assert output.strip().splitlines()[-1] == "[]"


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="torch is not installed"
)
def test_an_installed_torch_is_reported_with_its_cuda_device():
    import torch

    info = system_info._torch()
    assert info["version"] == torch.__version__
    assert info["cuda"] is torch.cuda.is_available()
    if info["cuda"]:
        assert info["device"] == torch.cuda.get_device_name(0)
    line = system_info._backend_line("torch", info)
    assert line.startswith(f"torch {torch.__version__} (CUDA: ")
