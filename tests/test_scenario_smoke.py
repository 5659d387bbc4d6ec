"""Smoke test of every registered scenario at tiny size (as Mesa runs each of its examples).

Each scenario of ``sim.scenario.catalog()`` runs in-process through ``sim.cli.main`` with
``--quick --quiet`` and the tiny ``--set`` overrides of ``TINY`` (fewest points, steps and
cases that still reach every stage: simulation, analysis, figures, summary). Nothing here
judges the physics: at these sizes statistical checks may fail, which only ``--strict``
(not passed) turns into a non-zero exit. What is checked is the shape of what a run
leaves behind: metadata status, summary (checks, metrics, deviations, all_pass), PNG
figures, finished time series and no leftover time-series checkpoints.

A scenario added without an entry in ``TINY`` fails ``test_every_scenario_has_a_tiny_configuration``
and its own parametrised case: give it a tiny configuration (seconds, not minutes).

The spectra cache of the network scenarios goes to a per-test temporary directory
(``SIM_CACHE_DIR``): each case measures a cold cache, as on a clean CI clone, and the
user's ~/.cache is left alone. The whole file takes about 25 s on 2 cores, about a minute
when numba's cache is cold too (a clean clone): compiling the rod kernels (first rod case,
rod-ac) and the network kernels (conductance-vs-h, drag-noise) is most of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import pytest

from sim import cli, scenario

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: name -> --set overrides (on top of --quick) of a run that takes seconds.
TINY: dict[str, list[str]] = {
    # multipole model kept (the default) at order 1 and far apart: cheap; the d = 2R row runs in the dipole model
    "conductance-vs-h": ["lmax=1", "d_over_R=[2.0, 6.0]", "n_h=2", "n_h_multipole=2", "h_min_multipole_over_R=10"],
    "drag-noise": ["h_over_R=[5.0]", "n_slow=100", "n_predict=2", "n_batches=2"],
    # multipole at order 1 (both sign maps run) ...
    "drag-sic": [
        "lmax=1",
        "d_over_R=[6.0]",
        "n_h=2",
        "n_h_map_multipole=2",
        "h_min_multipole_over_R=10",
        "d_map_over_R=[3.0]",
        "d_map_multipole_over_R=[6.0]",
        "spectra_points_over_R=[[3.0, 5.0]]",
        "workers=1",
    ],
    # ... and the dipole model, whose two h points (2R, 50R) bracket a sign change of R_D (brentq, coarse)
    "drag-sic-au": [
        "model=dipole",
        "d_over_R=[3.0]",
        "n_h=2",
        "d_map_over_R=[3.0]",
        "spectra_points_over_R=[[3.0, 5.0]]",
        "boundary_rtol=0.1",
        "workers=1",
    ],
    "hall": ["B=[-5.0, 5.0]", "environment=[false]"],
    "insb-persistent": [
        "wavelength=[9.8e-06, 1.18e-05, 50]",
        "h_sweep_R=[2, 10]",
        "B_sweep=[-5, 5]",
        "T_sweep=[300]",
        "inset_B=[0.0, 6.0, 3]",
        "n_relax=1",
        "rtol=1e-2",
    ],
    "persistent-drag": ["h_R=[3]", "T=[300.0]"],
    # m = 3 only: the figure draws the (scipy, ~40 s) junction curves for m = 1 and 2 only
    "rod-ac": [
        "overdamped.m=[3]",
        "overdamped.ratios=[3.0]",
        "periods=2",
        "inertial.sweep_time=2000",
        "inertial.windows=5",
        "inertial.switching_sweep_times=[1000]",
    ],
    "rod-critical": ["N=4", "t_ramp=2000", "iv_drives=[0.5, 1.5]", "t_iv=1000", "slip_drives=[0.9]", "t_slip=1000"],
    "rod-dc": ["N=[4, 8]", "t_measure=4000", "record_every=200", "t_deterministic=1000"],
    # t_run: the S0 fit needs >= 3 block lengths of 8 blocks each after the burn-in
    "rod-noise": ["kinds.super.N=2", "kinds.normal.N=2", "C=20", "t_run=20000", "record_every=50"],
    "rod-rotor-instability": ["N=4", "t_max=50", "record_every=2"],
    "rod-second-sound": ["N=100", "fit_from=5"],
    # one step edge bisected, against the junction's; edge_tol * 10 must stay below the step's width
    "rod-shapiro": ["points=2", "periods=10", "settle_periods=1", "edge_tol=0.02", "dt=0.5", "max_ratio=0.5"],
    # the Arrhenius fit needs >= 3 grid points with >= 10 slips each
    "rod-slip-statistics": [
        "N=3",
        "weak_link=1",
        "temperatures=[0.5, 0.6, 0.7]",
        "bias=[0.6]",
        "replicas=1",
        "t_run=20000",
    ],
}

#: statuses a time series may end with, besides "completed" (the rotor rods stop on their own, by design)
ALSO_ALLOWED_STATUS = {"rod-rotor-instability": {"runaway"}}

CATALOG = sorted(scenario.catalog())


@pytest.fixture
def cold_spectra_cache(tmp_path, monkeypatch):
    """An empty spectra cache for this test only (as tests/radiative/conftest.py does for its tests)."""
    path = tmp_path / "spectra-cache"
    monkeypatch.setenv("SIM_CACHE_DIR", str(path))
    return path


def test_every_scenario_has_a_tiny_configuration():
    assert CATALOG, "scenario.catalog() found no scenarios"
    missing, stale = set(CATALOG) - set(TINY), set(TINY) - set(CATALOG)
    assert not missing, f"scenarios without a tiny configuration in TINY: {sorted(missing)}"
    assert not stale, f"TINY names scenarios that are not registered: {sorted(stale)}"


def _leaves(obj, path="metrics"):
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _leaves(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _leaves(value, f"{path}[{i}]")
    else:
        yield path, obj


def _check_summary(summary: dict) -> None:
    checks, metrics, deviations = summary.get("checks"), summary.get("metrics"), summary.get("deviations")
    assert isinstance(checks, dict), f"checks is {checks!r}"
    assert isinstance(metrics, dict), f"metrics is {metrics!r}"
    assert isinstance(deviations, dict), f"deviations is {deviations!r}"
    # sim.scenario.tally: checks hold booleans only (anything else, None included, is moved to metrics)
    bad = {k: v for k, v in checks.items() if not isinstance(v, bool)}
    assert not bad, f"non-boolean checks: {bad}"
    # a metric is a number, or null / text (a value not measured, a regime's name, a non-finite float as
    # io.write_json writes it), possibly in lists and tables; never a boolean (that would be a check)
    for path, value in _leaves(metrics):
        assert (
            value is None or isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool))
        ), f"{path} = {value!r} is not a number, null or text"
        if isinstance(value, float):
            assert math.isfinite(value), f"{path} = {value!r}"  # non-finite floats are written as text
    # all_pass: every check passed; null only for a run without checks (sim.scenario.tally)
    if checks:
        assert summary["all_pass"] is all(checks.values()), (summary["all_pass"], checks)
    else:
        assert summary["all_pass"] is None, summary["all_pass"]
    # a documented deviation explains a check that failed, with its reason
    for key, reason in deviations.items():
        assert checks.get(key) is False, f"deviation {key!r} is not a failing check ({checks.get(key)!r})"
        assert isinstance(reason, str) and reason.strip(), f"deviation {key!r} has no reason"


def _check_figures(run_dir: Path) -> None:
    figures = sorted((run_dir / "figures").glob("*"))
    pngs = [f for f in figures if f.suffix == ".png"]
    assert pngs, f"no figures/*.png in {run_dir}"
    for f in figures:
        data = f.read_bytes()
        assert len(data) > len(PNG_MAGIC), f"{f.name} is empty"
        assert f.suffix != ".png" or data.startswith(PNG_MAGIC), f"{f.name} is not a PNG"


def _check_timeseries(run_dir: Path, name: str) -> None:
    allowed = {"completed"} | ALSO_ALLOWED_STATUS.get(name, set())
    for path in sorted((run_dir / "timeseries").glob("*.h5")):
        with h5py.File(path, "r") as f:
            status = f.attrs.get("status")
            status = status.decode() if isinstance(status, bytes) else status
            assert status in allowed, f"{path.name}: status {status!r}, allowed {sorted(allowed)}"
            if status == "completed" and "target_step" in f.attrs and "step" in f:
                last = int(f["step"][-1]) if f["step"].shape[0] else 0
                assert last == int(f.attrs["target_step"]), (
                    f"{path.name}: completed at step {last} of {int(f.attrs['target_step'])}"
                )
    # a finished time series deletes its checkpoints (sim.simulation.run_recorded); the steady states'
    # checkpoints under steady/ (hall, persistent-drag) are kept by design, for a resume
    leftovers = sorted(p.name for p in (run_dir / "timeseries").glob("*.ckpt.npz*"))
    assert not leftovers, f"time-series checkpoints left behind: {leftovers}"
    temporaries = sorted(p.relative_to(run_dir) for p in run_dir.rglob(".*") if p.name != ".lock")
    assert not temporaries, f"temporary files left behind: {temporaries}"


@pytest.mark.parametrize("name", CATALOG)
def test_scenario_runs_at_tiny_size(name, tmp_path, cold_spectra_cache, capsys):
    if name not in TINY:
        pytest.fail(f"scenario {name!r} has no tiny configuration: add it to TINY in {Path(__file__).name}")
    run_dir = tmp_path / "run"
    args = ["run", name, "--quick", "--quiet", "--out", str(run_dir)]
    for assignment in TINY[name]:
        args += ["--set", assignment]
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 0, f"exit code {code}: {err}"
    assert "Traceback" not in err, err
    assert not (run_dir / "error.txt").exists(), (run_dir / "error.txt").read_text()

    config = json.loads((run_dir / "config.json").read_text())
    assert config["scenario"] == name and config["quick"] is True
    # what the gallery's --record compares a run with: the configuration a plain run writes
    written = {k: v for k, v in config.items() if k not in ("scenario", "quick")}
    assert written == json.loads(json.dumps(scenario.get(name).run_config(True, TINY[name])))
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["scenario"] == name
    assert meta["status"] == "completed", meta.get("error")
    assert "error" not in meta, meta["error"]

    summary = json.loads((run_dir / "summary.json").read_text())
    _check_summary(summary)
    _check_figures(run_dir)
    _check_timeseries(run_dir, name)
