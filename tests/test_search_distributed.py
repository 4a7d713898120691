"""Search on a real dask cluster, an unreachable scheduler, and kill-and-resume.

The dask test starts a real ``distributed`` scheduler and two worker processes on
127.0.0.1 and tears them down afterwards; the kill test runs a search in a child
process, SIGKILLs it after a few trials are journaled and resumes it here. All of
them are marked ``slow`` (real clusters, real processes, a connection timeout); the
fast tier's search tests are in test_search.py and test_search_digits.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import search_objectives as objectives

from glassnet.search import (
    LogUniform,
    OneMinusLogUniform,
    PowersOfTwo,
    random_search,
    read_journal,
)

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SPACE = {
    "learning_rate": LogUniform(1e-4, 1),
    "beta1": OneMinusLogUniform(0.9, 0.999),
    "batch_size": PowersOfTwo(16, 256),
}


def without_durations(result) -> list[dict]:
    return [{k: v for k, v in t.items() if k != "duration_s"} for t in result.trials]


def python_path() -> str:
    """PYTHONPATH that lets child processes import glassnet and search_objectives."""
    entries = [str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(entry for entry in entries if entry)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.delenv("GLASSNET_TEST_SLEEP", raising=False)
    objectives.CALLS.clear()


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", python_path())  # the worker processes inherit it
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # no fixed port
            silence_logs=40,
        )
    try:
        yield cluster
    finally:
        cluster.close(timeout=20)


@pytest.mark.timeout(120)
def test_dask_workers_give_the_same_trials_as_a_serial_run(dask_cluster):
    serial = random_search(
        objectives.noisy_quadratic, SPACE, trials=8, seed=11, backend="serial"
    )
    distributed = random_search(
        objectives.noisy_quadratic,
        SPACE,
        trials=8,
        seed=11,
        backend="dask",
        scheduler=dask_cluster.scheduler_address,
        timeout=20,
    )
    assert without_durations(distributed) == without_durations(serial)
    assert objectives.CALLS and len(objectives.CALLS) == 8  # only the serial run here
    from distributed import Client

    with Client(dask_cluster.scheduler_address, timeout=20) as client:
        worker_pids = client.run(os.getpid)
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids.values()


@pytest.mark.timeout(120)
def test_pruning_on_dask_under_a_time_budget_gives_the_serial_trials(dask_cluster):
    # a time budget that is never spent still makes the executor submit trials
    # one per free thread: the results are those of the serial run
    space = {"learning_rate": LogUniform(1e-4, 1e-1), "epochs": 9}
    common = {"trials": 7, "seed": 4, "prune": True}
    serial = random_search(
        objectives.epochs_quadratic, space, backend="serial", **common
    )
    distributed = random_search(
        objectives.epochs_quadratic,
        space,
        backend="dask",
        scheduler=dask_cluster.scheduler_address,
        timeout=20,
        time_budget=600,
        **common,
    )
    assert without_durations(distributed) == without_durations(serial)
    assert distributed.stopped is None
    assert any(trial.get("pruned") for trial in distributed.trials)


@pytest.mark.timeout(60)
def test_an_unreachable_scheduler_fails_fast_with_a_clear_error():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    address = f"tcp://127.0.0.1:{port}"
    start = time.perf_counter()
    with pytest.raises(
        ConnectionError,
        match=f"could not reach the dask scheduler at '{address}' within 3 s",
    ):
        random_search(
            objectives.noisy_quadratic,
            SPACE,
            trials=2,
            backend="dask",
            scheduler=address,
            timeout=3,
        )
    assert time.perf_counter() - start < 15


CHILD = """
import sys
import search_objectives
from glassnet.search import LogUniform, OneMinusLogUniform, PowersOfTwo, random_search

space = {
    "learning_rate": LogUniform(1e-4, 1),
    "beta1": OneMinusLogUniform(0.9, 0.999),
    "batch_size": PowersOfTwo(16, 256),
}
random_search(search_objectives.noisy_quadratic, space, trials=24, seed=9,
              backend="serial", out=sys.argv[1])
"""


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_a_killed_search_resumes_to_exactly_the_planned_trials(tmp_path):
    killed_dir = tmp_path / "killed"
    environment = {**os.environ, "PYTHONPATH": python_path()}
    environment["GLASSNET_TEST_SLEEP"] = "0.15"  # 24 trials: ~3.6 s if left alone
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(killed_dir)],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    journal = killed_dir / "trials.jsonl"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if journal.exists() and len(read_journal(journal)) >= 4:
                break
            time.sleep(0.02)
        assert child.poll() is None, child.communicate()[1].decode()[-2000:]
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    done_before = len(read_journal(journal))
    assert 4 <= done_before < 24
    with open(journal, "ab") as handle:  # as if the kill had torn a write
        handle.write(b'{"trial_id": "r0-k0-t23", "round": 0, "con')

    resumed = random_search(
        objectives.noisy_quadratic,
        SPACE,
        trials=24,
        seed=9,
        backend="serial",
        out=killed_dir,
    )
    assert len(objectives.CALLS) == 24 - done_before
    objectives.CALLS.clear()
    uninterrupted = random_search(
        objectives.noisy_quadratic,
        SPACE,
        trials=24,
        seed=9,
        backend="serial",
        out=tmp_path / "whole",
    )
    assert len(resumed.trials) == 24
    assert without_durations(resumed) == without_durations(uninterrupted)
    assert resumed.best["trial_id"] == uninterrupted.best["trial_id"]
    assert resumed.best_config == uninterrupted.best_config
    journaled = read_journal(journal)
    assert len(journaled) == 24
    assert len({r["trial_id"] for r in journaled}) == 24
    assert journal.read_bytes().endswith(b"\n")
