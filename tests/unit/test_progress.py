"""Progress bars only where a person is watching; in pipes and logs a plain line now and then for
long work, and every bar of the package and its scenarios goes through ``sim.progress``."""

import ast
import io
import re
import time
from pathlib import Path

from sim import progress

ROOT = Path(__file__).resolve().parents[2]


def test_short_work_writes_nothing_when_standard_error_is_not_a_terminal(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    for _ in progress.progress(range(50), desc="work", file=err):
        pass
    assert err.getvalue() == ""


def test_long_work_off_a_terminal_writes_whole_lines_at_intervals(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.1)
    t0 = time.perf_counter()
    for _ in progress.progress(range(300), desc="sign map", unit="point"):
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    text = err.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    # one line per interval (and the final one), not one per update
    assert 2 <= len(lines) <= elapsed / 0.1 + 2, (len(lines), elapsed)
    done = [int(re.search(r"(\d+)/300 ", line).group(1)) for line in lines]
    assert all(line.startswith("sign map:") for line in lines) and done == sorted(done) and done[-1] == 300


def test_quiet_long_work_writes_nothing(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.01)
    bar = progress.progress(total=4, desc="steps", quiet=True)
    for _ in range(4):
        time.sleep(0.02)
        bar.update(1)
    bar.close()
    assert err.getvalue() == ""


def test_only_sim_progress_imports_tqdm():
    offenders = []
    for path in sorted((ROOT / "sim").rglob("*.py")) + sorted((ROOT / "scenarios").glob("*.py")):
        if path.name == "progress.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] == "tqdm" for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"tqdm used directly (bars in logs and pipes): {offenders}"
