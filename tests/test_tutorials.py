"""The documentation's code runs: every ```python (and ```bash) block of the course
map and the tutorials, in order, and prints what the page shows.

Each page runs in a fresh Python process (one namespace for the whole page, as a
reader pasting the blocks into one notebook would), in an empty working folder
(``tmp_path``), with the course data at ``$GLASSNET_DATA`` and BLAS on one thread.
A ```bash block runs in ``bash -e`` in the same folder, between the Python blocks
around it. A block's printed output must equal the fenced block that follows it
(```text title="Output"```); a block with no such block must print nothing.

Tolerance: the text must match exactly, except that a number printed with the same
number of digits may differ by one unit in its last digit (float sums that threads
can round differently). Timings are never printed by the pages.

The outputs were printed on the project's machine (x86-64, OpenBLAS on one thread);
a CPU whose BLAS kernels round float32 sums differently could change a trained
model's last digits, and then the page's outputs are regenerated, not loosened.

Regenerate the pages' outputs after changing a page or glassnet:

    python tests/test_tutorials.py               # every page
    python tests/test_tutorials.py docs/course-map.md
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = (
    "docs/course-map.md",
    "docs/tutorials/cat-classifier.md",
    "docs/tutorials/own-images.md",
    "docs/tutorials/transfer-learning.md",
)
NEEDS_DATA = {
    "docs/tutorials/cat-classifier.md": "catvnoncat/train_catvnoncat.h5",
    "docs/tutorials/transfer-learning.md": "mnist/mnist_5k.csv.gz",
}
OUTPUT_INFO = 'text title="Output"'
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


@dataclass
class Block:
    """A runnable block, and the output block after it (None: it prints nothing)."""

    language: str
    code: str
    line: int
    output: str | None = None
    output_span: tuple[int, int] | None = None  # where the output's body is


def read_blocks(text: str) -> list[Block]:
    """The page's ```python and ```bash blocks, each with the output shown after it."""
    blocks: list[Block] = []
    previous_end = None
    for match in FENCE.finditer(text):
        info = match.group(1).strip()
        line = text.count("\n", 0, match.start()) + 1
        if info == OUTPUT_INFO:
            between = text[previous_end : match.start()] if previous_end else "x"
            if not blocks or between.strip() or blocks[-1].output is not None:
                raise ValueError(
                    f"line {line}: an output block must follow a code block"
                )
            blocks[-1].output = match.group(2)
            blocks[-1].output_span = (match.start(2), match.end(2))
        elif info.split(" ")[0] in ("python", "bash"):
            blocks.append(Block(info.split(" ")[0], match.group(2), line))
        previous_end = match.end()
    return blocks


DRIVER = r"""
import contextlib, io, json, subprocess, sys, traceback
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
outputs, error = [], None
for block in blocks:
    where = f"block at line {block['line']}"
    if block["language"] == "bash":
        done = subprocess.run(["bash", "-e", "-c", block["code"]], capture_output=True,
                              text=True)
        outputs.append(done.stdout)
        if done.returncode:
            error = f"{where} exited with status {done.returncode}:\n{done.stderr}"
            break
        continue
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            exec(compile(block["code"], where, "exec"), namespace)
    except BaseException:
        outputs.append(buffer.getvalue())
        error = f"{where} raised:\n{traceback.format_exc()}"
        break
    outputs.append(buffer.getvalue())
json.dump({"outputs": outputs, "error": error}, open(sys.argv[2], "w"))
"""


def run_page(page: str, workdir: Path) -> tuple[list[Block], list[str], str]:
    """Run the page's blocks in ``workdir``; (blocks, printed outputs, stderr)."""
    blocks = read_blocks((ROOT / page).read_text(encoding="utf-8"))
    request = workdir / "_blocks.json"
    result = workdir / "_outputs.json"
    request.write_text(json.dumps([b.__dict__ for b in blocks]), encoding="utf-8")
    from conftest import DATA_DIR

    env = {
        **os.environ,
        "GLASSNET_DATA": str(Path(DATA_DIR).resolve()),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        ),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(request), str(result)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode or not result.exists():
        raise AssertionError(f"{page} did not run:\n{done.stderr[-4000:]}")
    record = json.loads(result.read_text(encoding="utf-8"))
    if record["error"] is not None:
        raise AssertionError(f"{page}: {record['error'][-4000:]}")
    return blocks, record["outputs"], done.stderr


def _last_digit_unit(text: str) -> float:
    mantissa = re.split("[eE]", text)[0]
    exponent = int(re.split("[eE]", text)[1]) if re.search("[eE]", text) else 0
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (exponent - decimals)


def same_output(shown: str, printed: str) -> bool:
    """Equal text, numbers allowed one unit apart in their last printed digit."""
    shown_lines = [line.rstrip() for line in shown.rstrip().splitlines()]
    printed_lines = [line.rstrip() for line in printed.rstrip().splitlines()]
    if len(shown_lines) != len(printed_lines):
        return False
    for a, b in zip(shown_lines, printed_lines, strict=True):
        if NUMBER.sub("#", a) != NUMBER.sub("#", b):
            return False
        for x, y in zip(NUMBER.findall(a), NUMBER.findall(b), strict=True):
            if x == y:
                continue
            unit = _last_digit_unit(x)
            if (
                unit != _last_digit_unit(y)
                or abs(float(x) - float(y)) > 1.000001 * unit
            ):
                return False
    return True


def write_outputs(page: str) -> None:
    """Run ``page`` and write what each block printed into its output block."""
    path = ROOT / page
    with tempfile.TemporaryDirectory() as folder:
        blocks, outputs, _ = run_page(page, Path(folder))
    text = path.read_text(encoding="utf-8")
    pieces, position = [], 0
    for block, printed in zip(blocks, outputs, strict=True):
        if block.output_span is not None:
            start, end = block.output_span
            pieces.append(text[position:start] + printed.rstrip() + "\n")
            position = end
        elif printed.strip():
            raise SystemExit(
                f"{page} line {block.line}: the block prints but has no output block "
                f"after it; add an empty ```{OUTPUT_INFO} block:\n{printed}"
            )
    pieces.append(text[position:])
    path.write_text("".join(pieces), encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_runs_and_prints_what_it_shows(page, tmp_path):
    from conftest import DATA_DIR

    needed = NEEDS_DATA.get(page)
    if needed and not (Path(DATA_DIR) / needed).is_file():
        pytest.skip(f"course data file not found: {Path(DATA_DIR) / needed}")
    blocks, outputs, _ = run_page(page, tmp_path)
    assert blocks, f"{page} has no code blocks"
    for block, printed in zip(blocks, outputs, strict=True):
        shown = block.output or ""
        assert same_output(shown, printed), (
            f"{page}, block at line {block.line} printed:\n{printed}\n"
            f"the page shows:\n{shown}\n(regenerate: python tests/test_tutorials.py "
            f"{page})"
        )


def test_output_comparison_tolerates_only_the_last_digit():
    assert same_output("cost 0.693147\n", "cost 0.693147")
    assert same_output("cost 0.693147", "cost 0.693148")
    assert not same_output("cost 0.693147", "cost 0.693149")
    assert not same_output("cost 0.69", "cost 0.693")
    assert not same_output("train accuracy 1.0", "test accuracy 1.0")
    assert same_output("1e-08", "2e-08") and not same_output("1e-08", "3e-08")
    assert not same_output("a\nb", "a")


def test_read_blocks_pairs_code_with_its_output():
    text = (
        'intro\n```python\nprint(1)\n```\n\n```text title="Output"\n1\n```\n'
        "```bash\necho hi\n```\n```text\nnot an output\n```\n"
    )
    blocks = read_blocks(text)
    assert [(b.language, b.output) for b in blocks] == [
        ("python", "1\n"),
        ("bash", None),
    ]
    with pytest.raises(ValueError, match="must follow a code block"):
        read_blocks('```text title="Output"\n1\n```\n')


def test_every_page_exists_and_has_runnable_blocks():
    for page in PAGES:
        blocks = read_blocks((ROOT / page).read_text(encoding="utf-8"))
        assert any(b.language == "python" for b in blocks), page


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    for name in sys.argv[1:] or PAGES:
        write_outputs(name)
        print(f"wrote the outputs of {name}")
