"""Hostile model files and checkpoints, each loaded in a child process (issue 20,
"Done when", the model-file half).

The files of tests/hostile_model_files.py (about 300: declarations of gigabytes in
kilobytes, tens of thousands of layers, manifests that parse to hundreds of
megabytes, deeply nested JSON, a wrong type in every setting of every layer, NaN
and infinite weights, arrays that disagree with the architecture, checkpoints with
huge or lying optimizer moments and bad training state, paths that are a file's
contents, and the legitimate variants beside them) are handed to one Python
process that imports glassnet once and forks a child per file. Each child loads
its file (``gn.load``, ``load_checkpoint``, or ``fit(resume=...)``) with an audit
hook recording every ``open``; its parent measures its wall time and its peak
resident memory (``wait4``'s ``ru_maxrss``, which counts what the child shares
with the process it was forked from, as a fresh process's would count its
imports). For each file:

- a clear error of the expected kind (``ModelFileError``, or ``ValueError`` when
  resuming, ``TypeError`` for bytes that are a file's contents) whose one-line
  message matches the case, names the file (shortened when its name is long) and
  stays under 1000 characters; or, for a legitimate file, the model it holds,
  predicting what the saved model predicted;
- within 5 s and 400 MB of peak memory;
- and no file opened but the one given (modules Python imports aside).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_model_files import cases, verdict

SECONDS = 5.0
PEAK_BYTES = 400 * 10**6

SERVER = r"""
import json, os, resource, signal, sys, time
sys.path.insert(0, sys.argv[1])
from hostile_model_files import outcome

def child(case, out):
    signal.alarm(60)
    limit = 2 * 2**30  # a regression fails with MemoryError, not the machine
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    given = case["given"] or case["path"]
    if case["action"] == "load_bytes":
        with open(case["path"], "rb") as handle:
            given = handle.read()
    opened = []
    def hook(event, args):
        if event == "open":
            opened.append(args[0])
    sys.addaudithook(hook)
    start = time.perf_counter()
    result = outcome(case["action"], given, case["network"])
    result["seconds"] = time.perf_counter() - start
    names = [os.fsdecode(p) if isinstance(p, bytes) else p for p in list(opened)]
    result["opened"] = [p if isinstance(p, int | str) else repr(p) for p in names]
    data = json.dumps(result).encode()
    while data:
        data = data[os.write(out, data):]

def run(case):
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            child(case, write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 2**16):
        chunks.append(chunk)
    os.close(read_end)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if chunks:
        result = json.loads(b"".join(chunks))
    else:
        result = {"error": "died", "message": f"wait status {status}"}
    result.update(name=case["name"], wall=wall, peak=usage.ru_maxrss * 1024)
    return result

request = json.load(sys.stdin)
for case in request["warm_up"]:  # the imports a load makes, made once here
    outcome(case["action"], case["path"], case["network"])
for case in request["cases"]:
    print(json.dumps(run(case)), flush=True)
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-models")
    found = {}
    for name, case in cases().items():
        sub = folder / name
        sub.mkdir()
        found[name] = (case, case.make(sub))
    return found


def request(made) -> dict:
    entries = []
    for name, (case, thing) in made.items():
        given = thing.given if isinstance(thing.given, str) else None
        entries.append(
            {
                "name": name,
                "path": str(thing.path),
                "given": given,
                "action": case.action,
                "network": case.network,
            }
        )
    warm = [
        made["small-float32-loads"],
        made["checkpoint-loads"],
        made["checkpoint-resumes"],
        made["legacy-format-1-loads"],
        made["W1-nan"],
    ]
    warm_up = [
        {"action": case.action, "path": str(thing.path), "network": case.network}
        for case, thing in warm
    ]
    return {"warm_up": warm_up, "cases": entries}


def opened_beyond(result: dict, allowed: set[str]) -> list:
    """Files the child opened other than the given one (Python's own modules,
    imported on first use, aside)."""
    roots = tuple(p for p in sys.path if p and Path(p).is_dir())
    others = []
    for target in result["opened"]:
        if isinstance(target, int) or target in allowed:
            continue
        if target.endswith((".py", ".pyc", ".so")) and target.startswith(roots):
            continue
        others.append(target)
    return others


@pytest.mark.slow  # a process forked per file, about 300 files
@pytest.mark.timeout(900)
def test_hostile_model_files_fail_clearly_fast_and_small_in_a_child(made):
    process = subprocess.run(
        [sys.executable, "-c", SERVER, str(Path(__file__).parent)],
        input=json.dumps(request(made)),
        capture_output=True,
        text=True,
        timeout=800,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert process.returncode == 0, process.stderr[-3000:]
    results = [json.loads(line) for line in process.stdout.splitlines()]
    assert [r["name"] for r in results] == list(made)
    failures = []
    for result in results:
        case, thing = made[result["name"]]
        allowed = {str(thing.path)}
        if isinstance(thing.given, str):
            allowed.add(thing.given)
        problems = [verdict(case, thing, result)]
        if result["wall"] > SECONDS:
            problems.append(f"took {result['wall']:.1f} s")
        if result["peak"] > PEAK_BYTES:
            problems.append(f"peak memory {result['peak'] / 1e6:.0f} MB")
        others = opened_beyond(result, allowed)
        if others:
            problems.append(f"opened {others[:3]}")
        problems = [p for p in problems if p]
        if problems:
            failures.append(f"{result['name']}: {'; '.join(problems)}")
    watched = results[list(made).index("small-float32-loads")]["opened"]
    assert str(made["small-float32-loads"][1].path) in watched  # the hook sees
    slowest = max(results, key=lambda r: r["wall"])
    largest = max(results, key=lambda r: r["peak"])
    assert not failures, "\n".join(failures)
    assert slowest["wall"] < SECONDS and largest["peak"] < PEAK_BYTES
