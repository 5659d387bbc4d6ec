"""Progress bars only where a person is watching: off in pipes and logs, and every bar of the
package and its scenarios goes through ``sim.progress``."""

import ast
import io
from pathlib import Path

from sim import progress

ROOT = Path(__file__).resolve().parents[2]


def test_a_bar_draws_nothing_when_standard_error_is_not_a_terminal(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    for _ in progress.progress(range(50), desc="work", file=err):
        pass
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
