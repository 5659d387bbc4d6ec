"""Slow: each drag scenario's --quick run in a subprocess; every boolean summary check holds,
except those the summary itself lists under "deviations_from_seed" (with their reason)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("name,sets", [("drag-sic", []), ("drag-sic", ["dT=1"]), ("drag-sic-au", []),
                                       ("drag-sic-au", ["dT=1"]), ("conductance-vs-h", [])])
def test_scenario_quick_checks(name, sets, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "sim", "run", name, "--quick", "--quiet", "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=900)
    summary = json.loads((out / "summary.json").read_text())
    deviations = summary.get("deviations_from_seed", {})
    failed = [k for k, v in summary["checks"].items() if isinstance(v, bool) and not v and k not in deviations]
    assert not failed, failed
    if sets == ["dT=1"]:
        assert summary["checks"]["linear_deviation_below_0.5pct"]
    assert list((out / "figures").glob("*.png"))
