"""The command line a user meets: list, run (run directory contents), bad input, bench."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

import sim
from sim.cli import main


def _run(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=900)


def test_list_names_every_scenario_with_a_description(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "rod-dc" in out and "length" in out


def test_run_writes_a_complete_run_directory(tmp_path):
    out = tmp_path / "run"
    res = _run(
        "run",
        "rod-dc",
        "--quick",
        "--quiet",
        "--out",
        str(out),
        "--seed",
        "3",
        "--set",
        "N=[4,8]",
        "--set",
        "t_measure=4000",
        "--set",
        "record_every=200",
        "--set",
        "t_deterministic=1000",
    )
    assert res.returncode == 0, res.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 3 and config["N"] == [4, 8] and config["scenario"] == "rod-dc"
    meta = json.loads((out / "metadata.json").read_text())
    for key in ("version", "git_hash", "numpy", "numba", "seed", "wall_time_s", "ring_steps_per_s"):
        assert key in meta
    assert meta["status"] == "completed" and meta["ring_steps_per_s"] > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "rod-dc" and len(summary["cases"]) == 4
    keys = {
        "N",
        "kind",
        "J_left",
        "J_right",
        "J_link_mean",
        "J_stderr",
        "J_expected",
        "torque_mean",
        "torque_expected",
        "T_interior_mean",
        "ledger_rel_error",
    }
    for case in summary["cases"]:
        assert keys <= set(case)
        assert case["ledger_rel_error"] < 1e-9
        assert case["J_left"] > 0 > case["J_right"]  # heat flows from the hot reservoir
    assert (out / "figures" / "rod_dc.png").stat().st_size > 10_000
    with h5py.File(out / "timeseries" / "rod_N8_super.h5") as f:
        assert f.attrs["status"] == "completed" and f["T"].shape[1] == 8
        assert np.all(np.isfinite(f["supercurrent"][()]))
    with sim.open_run(out) as run:  # read back as xarray: the summary's current is the record's
        ds = run.timeseries["rod_N8_super"]
        case = next(c for c in run.summary["cases"] if c["N"] == 8 and c["kind"] == "super")
        J = sim.current(ds, "Q_L", t_start=case["t_burn"])
        assert J["mean"] == pytest.approx(case["J_left"], rel=1e-12) and J["stderr"] > 0
        assert ds["T"].dims == ("time", "ring") and ds["T"].attrs["reduced_units"] == "energy/k_B"
        assert ds.attrs["Conventions"] == "CF-1.10" and run.config["seed"] == 3


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "no-such-scenario"], "scenario = 'no-such-scenario' is unknown; allowed: "),
        (["run", "rod-dc", "--set", "Q=1"], "unknown key 'Q'"),
        (["run", "rod-dc", "--set", "C=-1", "--set", "N=[4]"], "--set C = -1 is not valid; allowed: C >= 0.5"),
        (["run", "rod-dc", "--set", "noise=maybe"], "--set noise = 'maybe' is not valid; allowed: true or false"),
        (["run", "rod-dc", "--set", "record_every=2.5"], "--set record_every = 2.5 is not valid"),
        (["bench", "nothing"], "bench = 'nothing' is unknown"),
        (["cache", "--max-size=-5M"], "--max-size = '-5M' is not valid; allowed: a size >= 0"),
        (["cache", "--older-than", "-1"], "--older-than = -1.0 days; allowed: >= 0"),
        (["cache", "--max-size", "lots"], "--max-size = 'lots' is not valid"),
    ],
)
def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path, args, message):
    if args[0] == "run":
        args = args + ["--out", str(tmp_path / "x"), "--quiet"]
    res = _run(*args)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "x").exists()  # refused before the run directory was made


def test_cache_command_reports_and_prunes(tmp_path, capsys):
    for name, size in [("a", 2_000_000), ("b", 1_000_000)]:
        (tmp_path / f"{name}.npz").write_bytes(b"0" * size)
    assert main(["cache", "--dir", str(tmp_path)]) == 0
    assert "2 files, 3.0 MB" in capsys.readouterr().out
    assert main(["cache", "--dir", str(tmp_path), "--max-size", "1.5M"]) == 0
    assert "1 files, 1.0 MB (deleted 1)" in capsys.readouterr().out
    assert main(["cache", "--dir", str(tmp_path), "--max-size", "0"]) == 0
    assert "0 files, 0.0 MB (deleted 1)" in capsys.readouterr().out


@pytest.mark.slow
def test_quick_rod_dc_meets_every_tolerance(tmp_path):
    """The --quick run is the reduced run that still meets the scenario's tolerances."""
    res = _run("run", "rod-dc", "--quick", "--quiet", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    failed = [k for k, v in summary["checks"].items() if v is False]
    assert not failed, (failed, summary["checks"])
    normal = sorted((c for c in summary["cases"] if c["kind"] == "normal"), key=lambda c: c["N"])
    assert normal[0]["J_left"] > 2.5 * normal[-1]["J_left"]  # normal rods fall with length


@pytest.fixture
def toy_scenarios():
    """Two throwaway scenarios: one whose check fails, one whose failure is a documented deviation."""
    from sim import scenario as sc

    sc.load_scenarios()
    keys = {"x": sc.Key("a number", low=0)}
    sc.scenario("toy-fails", "a failing check", lambda quick: {"x": 1.0}, keys)(
        lambda cfg, ctx: {"checks": {"ok": True, "bad": False, "size": 3.5}}
    )
    sc.scenario("toy-deviates", "a documented deviation", lambda quick: {"x": 1.0}, keys)(
        lambda cfg, ctx: {"checks": {"ok": True, "paper": False}, "deviations": {"paper": "the model says no"}}
    )
    yield
    for name in ("toy-fails", "toy-deviates"):
        sc.REGISTRY.pop(name)


@pytest.mark.parametrize(
    "name, strict, code, verdict",
    [
        ("toy-fails", False, 0, "toy-fails: 1/2 checks pass; FAILED: bad"),
        ("toy-fails", True, 4, "toy-fails: 1/2 checks pass; FAILED: bad"),
        ("toy-deviates", True, 0, "toy-deviates: 1/2 checks pass; documented deviations from the papers: paper"),
    ],
)
def test_every_run_ends_with_a_verdict_and_strict_fails_on_a_failed_check(
    toy_scenarios, tmp_path, capsys, name, strict, code, verdict
):
    out = tmp_path / "run"
    assert main(["run", name, "--out", str(out)] + (["--strict"] if strict else [])) == code
    assert capsys.readouterr().out.strip().splitlines()[-1] == verdict
    summary = json.loads((out / "summary.json").read_text())
    assert summary["all_pass"] is False
    assert all(isinstance(v, bool) for v in summary["checks"].values())
    if name == "toy-fails":
        assert summary["metrics"] == {"size": 3.5}


def test_an_unexpected_error_ends_as_failed_never_completed(tmp_path, capsys):
    from sim import scenario as sc

    sc.load_scenarios()

    def broken(cfg, ctx):
        raise RuntimeError("disk controller on fire")

    sc.scenario("toy-broken", "fails", lambda quick: {"x": 1.0}, {"x": sc.Key("a number")})(broken)
    try:
        out = tmp_path / "run"
        assert main(["run", "toy-broken", "--out", str(out)]) == 1
        meta = json.loads((out / "metadata.json").read_text())
        assert meta["status"] == "failed" and meta["error"] == "RuntimeError: disk controller on fire"
        assert not (out / "summary.json").exists() and "disk controller" in (out / "error.txt").read_text()
        assert "status 'failed'" in capsys.readouterr().err
    finally:
        sc.REGISTRY.pop("toy-broken")


@pytest.mark.parametrize("error", [(13, "Permission denied"), (30, "Read-only file system")])
def test_an_unwritable_output_directory_is_a_clear_error(tmp_path, capsys, monkeypatch, error):
    """Root may write where a user may not, so the refusal of the file system is injected."""
    from pathlib import Path

    out = tmp_path / "run"

    def refuse(self, *a, **k):
        raise OSError(*error, str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["run", "rod-dc", "--quick", "--quiet", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert error[1] in err and str(out) in err and "allowed: a writable directory" in err and "Traceback" not in err


@pytest.mark.slow
def test_bench_rod_writes_every_figure_as_json(tmp_path):
    """The benchmark's harness, not its speed: every row present, every rate finite and positive,
    each cost ratio the one its definition gives (per link-step, against the floor measured)."""
    out = tmp_path / "bench.json"
    res = _run("bench", "rod", "--quick", "--json", str(out))
    assert res.returncode == 0, res.stderr
    m = json.loads(out.read_text())
    assert [(r["N"], r["kind"]) for r in m["single"]] == [
        (64, "super"),
        (64, "normal"),
        (1024, "super"),
        (1024, "normal"),
    ]
    assert {(r["N"], r["kind"]) for r in m["batched"]} == {(16, "super"), (16, "normal"), (64, "super"), (64, "normal")}
    for r in m["single"] + m["batched"]:
        assert np.isfinite(r["ring_steps_per_s"]) and r["ring_steps_per_s"] > 0
        N = r["N"]
        assert r["cost_over_sin_floor"] == pytest.approx(
            r["sin_floor_link_steps_per_s"] * N / (r["ring_steps_per_s"] * (N - 1))
        )
    for key in ("two_processes_single", "two_processes_batched"):
        assert m[key]["ratio"] == pytest.approx(m[key]["two"] / m[key]["one"])
    assert "batches of replicas" in res.stdout and str(out) in res.stdout


def test_list_reads_the_catalog_without_importing_scenarios_and_get_imports_one():
    """`sim list` names every registered scenario with its description from the modules' source;
    asking for one scenario imports its module only: no scenario imports another."""
    from sim import scenario as sc

    catalog = sc.catalog()
    registry = sc.load_scenarios()
    assert {n: d for n, (_, d) in catalog.items()} == {
        n: s.description for n, s in registry.items() if not n.startswith("toy-")
    }
    code = (
        "import sys; from sim import scenario; scenario.get('hall'); "
        "print(sorted(m for m in sys.modules if m.startswith('sim_scenarios.')))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.replace("'", '"')) == ["sim_scenarios.hall"]
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from sim import cli; cli.main(['list']); "
            "print([m for m in sys.modules if m.startswith('sim_scenarios.')])",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.stdout.strip().endswith("[]") and "rod-dc" in res.stdout
