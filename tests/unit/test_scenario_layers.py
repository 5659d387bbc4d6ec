"""Layers import downwards: no scenario imports another, and the library never imports a scenario.
The folder scenarios/ installs as ``sim_scenarios``, found through the ``sim.scenarios`` entry points."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_PACKAGES = ("scenarios", "sim_scenarios")


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
        found = {m for m in _imports(path) if m.split(".")[0] in SCENARIO_PACKAGES}
        if found:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(found)}")
    assert not offenders, "imports running up the layers:\n" + "\n".join(offenders)


def test_every_package_is_installed_and_none_is_called_plain_scenarios():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sim").rglob("__init__.py")}
    assert on_disk <= set(setup["packages"]), (
        f"packages missing from pyproject.toml: {on_disk - set(setup['packages'])}"
    )
    assert "scenarios" not in setup["packages"]
    assert setup["package-dir"] == {"sim_scenarios": "scenarios"}


def test_the_catalog_comes_from_the_entry_point_group():
    from sim import scenario

    assert scenario.scenario_packages() == ["sim_scenarios"]
    modules = {m for m, _ in scenario.catalog().values()}
    on_disk = {f"sim_scenarios.{p.stem}" for p in (ROOT / "scenarios").glob("*.py") if p.stem != "__init__"}
    assert modules == on_disk
