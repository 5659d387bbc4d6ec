"""Sweeps on Dask: reproducible across worker counts, resumable, robust to a dying worker."""

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from sim import ensemble

TINY = ["N=[4]", "t_measure=3e4", "record_every=500", "t_deterministic=200"]
PARAMS = {"K": [4.0, 5.0]}


def _rows(sweep_dir):
    with open(os.path.join(sweep_dir, "results.csv")) as f:
        return sorted(csv.DictReader(f), key=lambda r: r["task"])


def _sweep(out, workers, replicas=2, batch=True):
    sweep = ensemble.Sweep("rod-dc", PARAMS, replicas, 11, out, quick=True, overrides=TINY, batch=batch)
    client = ensemble.connect(workers=workers)
    try:
        sweep.run(client, progress=False)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    return _rows(out)


@pytest.fixture(scope="module")
def one_worker_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("w1")
    return out, _sweep(out, workers=1)


@pytest.fixture(scope="module")
def one_worker(one_worker_dir):
    return one_worker_dir[1]


def test_a_points_replicas_run_as_one_batch_with_the_results_of_runs_one_by_one(one_worker_dir, tmp_path):
    """The unit of work is a point: its replicas' rods advance as one batch (sim.lockstep), and
    every column of every run is what running the replicas one after another gives."""
    out, batched = one_worker_dir
    for row in batched:
        notes = json.loads((out / "runs" / row["task"] / "metadata.json").read_text())["notes"]
        assert notes and all("one of a batch of 2 replicas" in n for n in notes)
    assert _sweep(tmp_path, workers=1, batch=False) == batched


def test_two_workers_give_identical_results_to_one(one_worker, tmp_path):
    two = _sweep(tmp_path, workers=2)
    assert len(two) == len(one_worker) == 4
    assert two == one_worker  # every column of every run, bit for bit as written
    assert len({r["seed"] for r in two}) == 2  # replicas have their own streams
    with open(tmp_path / "aggregate.csv") as f:
        agg = list(csv.DictReader(f))
    assert len(agg) == 2 and all(a["n"] == "2" for a in agg)
    assert (tmp_path / "figures" / "sweep.png").stat().st_size > 5000


def test_a_worker_killed_mid_task_is_retried_and_nothing_is_lost(one_worker, tmp_path):
    sweep = ensemble.Sweep("rod-dc", PARAMS, 2, 11, tmp_path, quick=True, overrides=TINY)
    client = ensemble.connect(workers=2)
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("rows", sweep.run(client, progress=False)))
    runner.start()
    try:
        deadline = time.time() + 120
        while not list((tmp_path / "runs").glob("*/config.json")) and time.time() < deadline:
            time.sleep(0.02)
        victim = next(iter(client.run(os.getpid).values()))
        os.kill(victim, signal.SIGKILL)
        runner.join(timeout=300)
        assert not runner.is_alive()
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert _rows(tmp_path) == one_worker


def _completed_runs(out) -> dict:
    """Run directory -> mtime of its summary, for the runs marked completed (a kill between a
    run's summary and its completed status leaves a run that is, rightly, computed again)."""
    done = {}
    for meta in out.glob("runs/*/metadata.json"):
        if json.loads(meta.read_text()).get("status") == "completed":
            done[meta.parent.name] = (meta.parent / "summary.json").stat().st_mtime_ns
    return done


def test_rerunning_an_interrupted_sweep_does_only_the_missing_runs(one_worker, tmp_path):
    out = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        "rod-dc",
        "--quick",
        "--quiet",
        "--workers",
        "1",
        "--param",
        "K=4.0,5.0",
        "--replicas",
        "2",
        "--seed",
        "11",
        "--out",
        str(out),
    ] + [a for s in TINY for a in ("--set", s)]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while not _completed_runs(out) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes
    proc.wait()
    finished = _completed_runs(out)
    assert 1 <= len(finished) < 4, "the kill must land mid-sweep"
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    for task, mtime in finished.items():  # finished runs were not recomputed
        assert (out / "runs" / task / "summary.json").stat().st_mtime_ns == mtime
    assert _rows(out) == one_worker


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: ensemble.parse_params(["Q=1,2"], {"K": 1.0}), "unknown key 'Q'"),
        (lambda: ensemble.parse_params(["K="], {"K": 1.0}), "empty value list"),
        (lambda: ensemble.make_tasks("rod-dc", {"K": [1.0]}, 0, 1), "replicas = 0 is out of range"),
        (lambda: ensemble.connect(scheduler="tcp://127.0.0.1:1", timeout=2), "is unreachable within 2 s"),
    ],
)
def test_bad_sweep_specs_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_list_values_survive_the_parameter_syntax():
    assert ensemble.parse_params(["N=[16,64],[256]", "K=1,2.5"], {"N": [16], "K": 1.0}) == {
        "N": [[16, 64], [256]],
        "K": [1, 2.5],
    }


def test_sweep_figure_shows_quantities_that_vary_not_constants_or_verdicts():
    from sim.ensemble import headline_columns

    agg = [
        {
            "N.mean": 64.0,
            "J.mean": 0.05 * k,
            "J_stderr.mean": 0.001,
            "checks.ok.mean": 1.0,
            "cases.0.twist.mean": 0.01 * k,
            "seed.mean": 3.0 + k,
        }
        for k in (1, 2, 3)
    ]
    numeric = ["N", "J", "J_stderr", "checks.ok", "cases.0.twist", "seed"]
    assert headline_columns(agg, numeric) == ["J", "cases.0.twist"]


def test_a_failing_point_becomes_a_failed_row_and_the_rest_finish(tmp_path):
    """A pulse of 50 passes every check but its front cannot be analysed (the run fails after it ran):
    that row is marked failed with its error, the other point completes and is aggregated, the exit
    code says some failed. A corrupted summary is detected, named and recomputed."""
    out = tmp_path / "sw"
    sweep = [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        "rod-second-sound",
        "--quick",
        "--param",
        "pulse=0.01,50",
        "--workers",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    res = subprocess.run(sweep, capture_output=True, text=True, timeout=600)
    assert res.returncode == 1 and "1 of 2 runs failed" in res.stderr
    rows = {r["pulse"]: r for r in _rows(out)}
    assert rows["50"]["status"] == "failed" and "on the edge of the record" in rows["50"]["error"]
    assert rows["0.01"]["status"] == "completed" and float(rows["0.01"]["wave_speed_measured"]) > 0
    with open(out / "aggregate.csv") as f:
        assert [a["pulse"] for a in csv.DictReader(f)] == ["0.01"]
    good = next(p for p in (out / "runs").glob("*/summary.json"))
    original = good.read_text()
    good.write_text(original[: len(original) // 2])  # a truncated summary
    with pytest.warns(UserWarning, match=f"{good}.*corrupt"):
        assert ensemble.completed_summary(good.parent) is None
    subprocess.run(sweep, capture_output=True, text=True, timeout=600)
    assert good.read_text() == original  # recomputed, bit for bit
