"""A search owns its folder and its workers: one search per folder (a lock file
with the owner's process id, stale locks taken over), and no worker outlives a
search that is terminated or killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from glassnet.locks import LOCK_FILE, FolderInUseError, folder_lock
from glassnet.search import random_search


def quick_objective(config, seed, budget):
    return {"dev_accuracy": 0.5}


def test_a_held_folder_is_refused_and_released_after(tmp_path):
    with folder_lock(tmp_path) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with pytest.raises(FolderInUseError, match=f"process {os.getpid()}"):
            with folder_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK_FILE).exists()
    with folder_lock(tmp_path):  # free again
        pass


def test_a_live_owners_lock_stops_a_search_before_any_trial(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_FILE).write_text(
            json.dumps({"pid": owner.pid, "host": os.uname().nodename, "started": 0})
        )
        with pytest.raises(FolderInUseError, match=f"process {owner.pid}"):
            random_search(quick_objective, {"x": [1, 2]}, trials=2, out=tmp_path)
        assert not (tmp_path / "trials.jsonl").exists()
    finally:
        owner.kill()
        owner.wait()


def test_a_dead_owners_lock_is_taken_over_with_a_warning(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / LOCK_FILE).write_text(
        json.dumps({"pid": gone.pid, "host": os.uname().nodename, "started": 0})
    )
    with pytest.warns(RuntimeWarning, match="taking over the lock"):
        result = random_search(quick_objective, {"x": [1, 2]}, trials=2, out=tmp_path)
    assert len(result.trials) == 2
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_damaged_lock_is_stale_and_another_hosts_is_refused(tmp_path):
    (tmp_path / LOCK_FILE).write_text("{not json")
    with folder_lock(tmp_path):
        pass
    (tmp_path / LOCK_FILE).write_text(
        json.dumps({"pid": 1, "host": "another-machine", "started": 0})
    )
    with pytest.raises(FolderInUseError, match="another-machine"):
        with folder_lock(tmp_path):
            pass


def test_sigterm_inside_a_search_is_an_interrupt_and_the_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)

    def objective(config, seed, budget):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
        return {"dev_accuracy": 0.5}

    with pytest.raises(KeyboardInterrupt, match="terminated"):
        random_search(objective, {"x": [1, 2]}, trials=1)
    assert signal.getsignal(signal.SIGTERM) is before


# -- real processes -------------------------------------------------------------------


def _workers(pid: int) -> list:
    psutil = pytest.importorskip("psutil")
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _start_search(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "glassnet",
            "search",
            "--data",
            "digits",
            "--trials",
            "8",
            "--jobs",
            "2",
            "--epochs",
            "200",
            "--seed",
            "0",
            "--quiet",
            "--out",
            str(tmp_path / "s"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    workers = []
    while time.monotonic() < deadline and process.poll() is None:
        workers = [w for w in _workers(process.pid) if "loky" in " ".join(w.cmdline())]
        if len(workers) >= 2:
            break
        time.sleep(0.2)
    if len(workers) < 2:
        process.kill()
        pytest.fail(f"the search never started 2 workers: {process.stderr.read()!r}")
    time.sleep(1)  # the workers are running trials now
    return process, _workers(process.pid)


def _still_alive(processes, seconds: float) -> list:
    deadline = time.monotonic() + seconds
    alive = processes
    while time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != "zombie"]
        if not alive:
            return []
        time.sleep(0.2)
    return [(p.pid, " ".join(p.cmdline())[:80]) for p in alive if p.is_running()]


@pytest.mark.slow  # real glassnet search processes and loky workers
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_no_worker_outlives_a_terminated_or_killed_search(tmp_path, how):
    process, children = _start_search(tmp_path)
    process.send_signal(how)
    process.wait(timeout=30)
    assert _still_alive(children, 10) == []
    if how == signal.SIGTERM:
        assert process.returncode != 0
        assert not (tmp_path / "s" / LOCK_FILE).exists()  # released on the way out
