"""``python -m glassnet``, in process: glassnet/__main__.py hands its exit status to
``sys.exit``. The real-process runs are in test_cli_smoke.py (marked slow); this
keeps the module in the fast tier."""

import runpy
import sys

import pytest

import glassnet
from glassnet.cli import EXIT_USAGE


def run_main_module(monkeypatch, *argv: str) -> int:
    monkeypatch.setattr(sys, "argv", ["glassnet", *argv])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("glassnet", run_name="__main__", alter_sys=False)
    return exited.value.code


def test_python_m_glassnet_version(monkeypatch, capsys):
    assert run_main_module(monkeypatch, "--version") == 0
    assert capsys.readouterr().out.strip() == f"glassnet {glassnet.__version__}"


def test_python_m_glassnet_exits_with_mains_status(monkeypatch, capsys):
    assert run_main_module(monkeypatch) == EXIT_USAGE  # no command: the help
    assert "usage: glassnet" in capsys.readouterr().out
