"""Layers import downwards: no scenario imports another, and the library never imports a scenario."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_scenario_imports_another_and_the_library_imports_none():
    offenders = []
    for path in sorted((ROOT / "scenarios").glob("*.py")) + sorted((ROOT / "sim").rglob("*.py")):
        found = {m for m in _imports(path) if m == "scenarios" or m.startswith("scenarios.")}
        if found:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(found)}")
    assert not offenders, "imports running up the layers:\n" + "\n".join(offenders)
