"""What runs here: ``gn.show_config()`` prints it, ``system_info()`` returns it.

Training on NumPy arrays takes one of three paths (docs/architecture.md, D16, D22):
the compiled loops of ``glassnet/_fastops.c`` with float32 products split across
glassnet's own threads through NumPy's OpenBLAS ``cblas_sgemm``; the same loops on
one thread with ``np.matmul`` (another BLAS, or float64); or the pure NumPy code (no
C compiler at install, ``GLASSNET_NO_COMPILED=1``, or ``fit(fast=False)``, the
notes' reference). All give the same numbers in float32 at one BLAS thread; only
the speed differs. This module says which path this machine takes and why, with
the versions a bug report needs::

    import glassnet as gn
    gn.show_config()          # prints the report and returns its text

    from glassnet.system_info import system_info
    system_info()["compiled"]["available"]     # the same, as a dict

Optional backends are looked up without importing a package that is not installed;
an installed torch or cupy is imported to ask it for its CUDA device.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import platform
import sys

import numpy as np

from glassnet import _kernels


def _compiled() -> dict:
    """Whether the compiled loops run, why not, and which SIMD copy the CPU takes."""
    info = {
        "available": _kernels.AVAILABLE,
        "reason": _kernels.UNAVAILABLE_REASON,
        "loops": None,
        "exact_division": None,
    }
    build_info = getattr(_kernels._fastops, "build_info", None)
    if _kernels.AVAILABLE and build_info is not None:
        info.update({k: v for k, v in build_info().items() if k != "threads"})
    return info


def _blas() -> list[dict]:
    """threadpoolctl's view of the BLAS libraries loaded (NumPy's marked)."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "num_threads", "filepath")
    libraries = []
    for library in threadpool_info():
        if library.get("user_api") != "blas":
            continue
        entry = {key: library.get(key) for key in keys}
        entry["numpy"] = _kernels._inside_numpy(library.get("filepath") or "")
        libraries.append(entry)
    return libraries


def _threads_and_products() -> tuple[dict, dict]:
    """The threads ``fit`` shares (as ``_kernels.parallel`` would) and whether the
    float32 products go through glassnet's sgemm bands."""
    banded = _kernels._find_sgemm()
    library = _kernels._numpy_openblas() if banded else None
    threads = {
        "in_fit": _kernels.planned_threads(),
        "blas_limit": library.num_threads if library else None,
        "cpus": _kernels._cpus(),
    }
    if not _kernels.AVAILABLE:
        reason = "the compiled loops are not available"
    else:
        reason = _kernels.SGEMM_REASON
    products = {"banded": banded, "symbol": _kernels.SGEMM_SYMBOL, "reason": reason}
    return threads, products


def _torch() -> dict:
    """torch's version and CUDA device, imported only when it is installed."""
    if importlib.util.find_spec("torch") is None:
        return {"installed": False}
    try:
        torch = importlib.import_module("torch")
    except Exception as error:  # installed but broken: say so, do not fail
        return {"installed": True, "error": f"{type(error).__name__}: {error}"}
    info = {"installed": True, "version": torch.__version__}
    cuda = bool(torch.cuda.is_available())
    info["cuda"] = cuda
    info["device"] = torch.cuda.get_device_name(0) if cuda else None
    return info


def _cupy() -> dict:
    """cupy's version and CUDA device, imported only when it is installed."""
    if importlib.util.find_spec("cupy") is None:
        return {"installed": False}
    try:
        cupy = importlib.import_module("cupy")
        info = {"installed": True, "version": cupy.__version__}
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # no CUDA driver, or a broken install
        return {"installed": True, "error": f"{type(error).__name__}: {error}"}
    info["cuda"] = count > 0
    info["device"] = None
    if count > 0:
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        info["device"] = name.decode() if isinstance(name, bytes) else str(name)
    return info


def _defaults() -> dict:
    """The dtype and backend a model is built with when none is given."""
    from glassnet.backend import DEFAULT_DTYPE
    from glassnet.model import Sequential

    backend = inspect.signature(Sequential.build).parameters["backend"].default
    return {"dtype": DEFAULT_DTYPE, "backend": backend}


def system_info() -> dict:
    """What runs here, as a dict: ``glassnet``, ``python``, ``platform``, ``numpy``
    (versions); ``compiled`` (available, reason, loops: the SIMD copy, exact_division);
    ``threads`` (in_fit: glassnet's threads inside ``fit``, min(BLAS limit, CPUs) when
    the products are banded, else 1; blas_limit; cpus); ``products`` (banded: whether
    float32 products go through glassnet's sgemm bands, symbol, reason when not);
    ``blas`` (threadpoolctl's internal_api, version, architecture, num_threads,
    filepath of each BLAS loaded, ``numpy``: NumPy's own); ``backends`` (torch,
    cupy: installed, version, cuda, device); ``defaults`` (dtype, backend)."""
    from glassnet import __version__

    threads, products = _threads_and_products()
    return {
        "glassnet": __version__,
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "numpy": np.__version__,
        "compiled": _compiled(),
        "threads": threads,
        "products": products,
        "blas": _blas(),
        "backends": {"torch": _torch(), "cupy": _cupy()},
        "defaults": _defaults(),
    }


def _compiled_line(compiled: dict) -> str:
    if not compiled["available"]:
        return f"off: {compiled['reason']}"
    text = "built"
    if compiled["loops"]:
        text += f", {compiled['loops']} copy of the loops"
    if compiled["exact_division"] is not None:
        division = (
            "by multiplication (FMA)" if compiled["exact_division"] else "divides"
        )
        text += f"; float32 Adam {division}"
    return text


def _products_line(products: dict) -> str:
    if products["banded"]:
        return (
            "float32 products in bands on glassnet's threads through NumPy's "
            f"OpenBLAS {products['symbol']}"
        )
    return f"np.matmul ({products['reason']})"


def _threads_line(threads: dict) -> str:
    if threads["blas_limit"] is None:
        return f"{threads['in_fit']} (products not banded: no pool of glassnet's)"
    limits = f"min(BLAS limit {threads['blas_limit']}, CPUs {threads['cpus']})"
    if threads["in_fit"] > 1:
        return f"{threads['in_fit']} ({limits}; BLAS held to one thread meanwhile)"
    return f"{threads['in_fit']} ({limits}: no pool of glassnet's)"


def _blas_lines(libraries: list[dict]) -> list[str]:
    if not libraries:
        return ["BLAS            none found by threadpoolctl"]
    lines = []
    for library in libraries:
        owner = " (NumPy's)" if library["numpy"] else ""
        lines.append(
            f"BLAS            {library['internal_api']} {library['version']}, "
            f"{library['architecture']} kernel, {library['num_threads']} threads, "
            f"{library['filepath']}{owner}"
        )
    return lines


def _backend_line(name: str, info: dict) -> str:
    if not info["installed"]:
        return f"{name} not installed"
    if "error" in info:
        return f"{name} installed, not importable ({info['error']})"
    cuda = f"CUDA: {info['device']}" if info["cuda"] else "CUDA: not available"
    return f"{name} {info['version']} ({cuda})"


def format_info(info: dict) -> str:
    """The report :func:`show_config` prints, from :func:`system_info`'s dict."""
    backends = info["backends"]
    lines = [
        f"glassnet        {info['glassnet']}",
        f"python          {info['python']} on {info['platform']}",
        f"numpy           {info['numpy']}",
        f"compiled loops  {_compiled_line(info['compiled'])}",
        f"threads in fit  {_threads_line(info['threads'])}",
        f"products        {_products_line(info['products'])}",
        *_blas_lines(info["blas"]),
        f"backends        {_backend_line('torch', backends['torch'])}; "
        f"{_backend_line('cupy', backends['cupy'])}",
        f"defaults        dtype {info['defaults']['dtype']}, "
        f"backend {info['defaults']['backend']}",
    ]
    return "\n".join(lines)


def show_config(file=None) -> str:
    """Print what runs here (see :func:`system_info`) to ``file`` (default
    ``sys.stdout``) and return the text."""
    text = format_info(system_info())
    print(text, file=sys.stdout if file is None else file)
    return text
