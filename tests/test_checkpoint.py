"""Exact checkpoints: a run killed at any moment and resumed gives the same bits."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import h5py
import numpy as np
import pytest

from sim import checkpoint
from sim.cli import parse_walltime
from sim.rod.model import RodParams
from sim.rod.system import Rod, RodState

ARGS = [
    "--quick",
    "--quiet",
    "--set",
    "N=[6]",
    "--set",
    "t_measure=2e5",
    "--set",
    "record_every=200",
    "--set",
    "t_deterministic=200",
    "--checkpoint-every",
    "5000",
]


def _sim(*args, wait=True):
    cmd = [sys.executable, "-m", "sim", *args]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _series(run_dir):
    out = {}
    for name in sorted(os.listdir(run_dir / "timeseries")):
        if name.endswith(".h5"):
            with h5py.File(run_dir / "timeseries" / name) as f:
                out[name] = {k: f[k][()] for k in f.keys()} | {"status": f.attrs["status"]}
    return out


def _assert_identical(a, b):
    assert a.keys() == b.keys()
    for name in a:
        for key in a[name]:
            assert np.array_equal(a[name][key], b[name][key]), (name, key)


def completed_run(tmp_path_factory, args):
    """The run directory of ``python -m sim ARGS``, run uninterrupted (the reference)."""
    out = tmp_path_factory.mktemp("ref") / "run"
    res = _sim(*args, "--out", str(out))
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return completed_run(tmp_path_factory, ["run", "rod-dc", *ARGS])


def sigkill_after_first_checkpoint(args, out, seed: int, delay: tuple) -> None:
    """Start ``python -m sim ARGS --out OUT``, wait for its first checkpoint, then SIGKILL it
    after a random (seeded) delay drawn from ``delay`` (s); fails if it finished first."""
    proc = _sim(*args, "--out", str(out), wait=False)
    _wait_for_checkpoint(out, proc)
    time.sleep(np.random.default_rng(seed).uniform(*delay))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"


def test_sigkill_at_a_random_moment_then_resume_is_bit_identical(reference, tmp_path):
    out = tmp_path / "run"
    sigkill_after_first_checkpoint(["run", "rod-dc", *ARGS], out, seed=7, delay=(0.0, 1.0))
    assert json.loads((out / "metadata.json").read_text())["status"] == "running"
    res = _sim("resume", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    _assert_identical(_series(reference), _series(out))
    assert json.loads((out / "summary.json").read_text()) == json.loads((reference / "summary.json").read_text())
    assert not list((out / "timeseries").glob("*.ckpt.npz*"))  # completed: checkpoints removed


def test_walltime_stops_with_a_checkpoint_and_resume_finishes_identically(reference, tmp_path):
    out = tmp_path / "run"
    res = _sim("run", "rod-dc", *ARGS, "--out", str(out), "--walltime", "1s")
    assert res.returncode == 3, res.stderr
    assert "python -m sim resume" in res.stderr
    assert json.loads((out / "metadata.json").read_text())["status"] == "walltime"
    assert list((out / "timeseries").glob("*.ckpt.npz"))
    res = _sim("resume", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    _assert_identical(_series(reference), _series(out))


def _small_state():
    rod = Rod(RodParams(N=5, noise=True, seed=2, K=5.0))
    s = rod.initial_state()
    rod.advance(s, 77)
    return rod, s


def test_checkpoint_round_trip_is_exact(tmp_path):
    rod, s = _small_state()
    initial = rod.initial_state()
    checkpoint.save(tmp_path / "c.npz", s, initial, frames=12, extra={"wall_time": 1.5})
    s2, i2, frames, extra = checkpoint.load(tmp_path / "c.npz", RodState)
    assert frames == 12 and extra == {"wall_time": 1.5} and s2.step == 77
    for name in ("theta", "phi", "E", "sin_mphi", "acc"):
        assert np.array_equal(getattr(s2, name), getattr(s, name))
        assert np.array_equal(getattr(i2, name), getattr(initial, name))


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupted_checkpoint_is_refused_and_the_previous_one_used(tmp_path, damage):
    rod, s = _small_state()
    path = tmp_path / "c.npz"
    checkpoint.save(path, s, s, frames=1)
    older_step = s.step
    rod.advance(s, 10)
    checkpoint.save(path, s, s, frames=2)  # the first becomes c.npz.prev
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:  # a flipped bit inside the stored arrays: the zip is readable, the checksum is not
        i = data.find(b"\x93NUMPY") + 200
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
    with pytest.warns(UserWarning, match="corrupted or truncated"):
        restored, _, frames, _ = checkpoint.load(path, RodState)
    assert restored.step == older_step and frames == 1
    path.with_name("c.npz.prev").write_bytes(b"garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(checkpoint.CheckpointError, match="no usable checkpoint"):
            checkpoint.load(path, RodState)


def test_walltime_parsing_and_bad_resume_directory(tmp_path):
    assert parse_walltime("2h") == 7200 and parse_walltime("30m") == 1800 and parse_walltime("90") == 90
    for bad in ("-1h", "soon", "0"):
        with pytest.raises(ValueError, match="--walltime"):
            parse_walltime(bad)
    res = _sim("resume", str(tmp_path))
    assert res.returncode == 2 and "has no config.json" in res.stderr


def _wait_for_checkpoint(out, proc, seconds=120):
    deadline = time.time() + seconds
    while not list((out / "timeseries").glob("*.ckpt.npz")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)


def test_sigterm_stops_with_status_terminated_and_resume_is_bit_identical(reference, tmp_path):
    out = tmp_path / "run"
    proc = _sim("run", "rod-dc", *ARGS, "--out", str(out), wait=False)
    _wait_for_checkpoint(out, proc)
    time.sleep(np.random.default_rng(11).uniform(0.0, 0.5))
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    assert proc.returncode == 143, proc.stderr.read()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["status"] == "terminated" and not (out / "summary.json").exists()
    statuses = {s["status"] for s in _series(out).values()}
    assert "completed" not in statuses or len(statuses) > 1  # the file being written says terminated
    res = _sim("resume", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    _assert_identical(_series(reference), _series(out))
    assert json.loads((out / "summary.json").read_text()) == json.loads((reference / "summary.json").read_text())


def test_a_second_run_on_a_busy_directory_is_refused_and_the_first_completes(reference, tmp_path):
    out = tmp_path / "run"
    first = _sim("run", "rod-dc", *ARGS, "--out", str(out), wait=False)
    _wait_for_checkpoint(out, first)
    second = _sim("run", "rod-dc", *ARGS, "--out", str(out))
    assert second.returncode == 2 and "is in use by another run" in second.stderr
    assert first.wait(timeout=300) == 0, first.stderr.read()
    _assert_identical(_series(reference), _series(out))
    assert json.loads((out / "metadata.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("fault", ["fsync", "replace"])
def test_a_storage_fault_during_a_checkpoint_fails_cleanly_and_resume_is_bit_identical(
    reference, tmp_path, monkeypatch, fault
):
    """No space left while a checkpoint is written: status 'failed' (never 'completed'), the error
    names the fault, the last good checkpoint survives, and resume after the fault gives the same bits."""
    import errno

    from sim import cli

    out = tmp_path / "run"
    calls = {"n": 0}
    real = {"fsync": os.fsync, "replace": os.replace}[fault]

    def full_disk(*a, **k):
        calls["n"] += 1
        if calls["n"] == 8:  # a few checkpoints in: the disk fills up
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*a, **k)

    monkeypatch.setattr(os, fault, full_disk)
    code = cli.main(["run", "rod-dc", *ARGS, "--out", str(out)])
    monkeypatch.setattr(os, fault, real)
    assert code == cli.EXIT_FAILED
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["status"] == "failed" and "No space left on device" in meta["error"]
    assert not (out / "summary.json").exists() and (out / "error.txt").exists()
    assert "completed" != _series(out)["rod_N6_super.h5"]["status"]
    assert cli.main(["resume", str(out), "--quiet"]) == 0
    _assert_identical(_series(reference), _series(out))


def test_a_real_file_size_limit_fails_cleanly_without_a_crash_and_resume_is_bit_identical(reference, tmp_path):
    """RLIMIT_FSIZE (what a full disk or a quota does to a growing file), hit while HDF5 appends
    frames: exit code 1 (not the segmentation fault HDF5 gives when it tears down such a file),
    one clear message naming the file and the reason, status 'failed'; resume once the limit is
    gone rebuilds the unopenable file from its checkpoint and ends bit-identical."""
    import resource

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))  # the first file needs ~0.9 MB

    out = tmp_path / "run"
    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", "rod-dc", *ARGS, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=limited,
    )
    assert res.returncode == 1, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr and "could not write" in res.stderr and "File too large" in res.stderr
    assert "rod_N6_super.h5" in res.stderr
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["status"] == "failed" and "File too large" in meta["error"]
    assert not (out / "summary.json").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _sim("resume", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "rebuilt from its first" in res.stderr
    _assert_identical(_series(reference), _series(out))
    assert json.loads((out / "summary.json").read_text()) == json.loads((reference / "summary.json").read_text())


def test_both_checkpoints_corrupt_is_a_clear_error_and_restart_recomputes(reference, tmp_path):
    out = tmp_path / "run"
    assert _sim("run", "rod-dc", *ARGS, "--out", str(out), "--walltime", "1s").returncode == 3
    for ckpt in (out / "timeseries").glob("*.ckpt.npz*"):
        ckpt.write_bytes(b"not a checkpoint")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _sim("resume", str(out), "--quiet")
    assert res.returncode == 1 and "no usable checkpoint" in res.stderr and "--restart" in res.stderr
    assert "Traceback" not in res.stderr
    res = _sim("resume", str(out), "--restart", "--quiet")
    assert res.returncode == 0, res.stderr
    _assert_identical(_series(reference), _series(out))


def test_a_running_run_can_be_watched(tmp_path):
    """While a run writes, its time series open read-only in h5py and xarray and `sim status`
    reports step, rate and ETA; at the end the file says completed."""
    import sim
    from sim.io import open_live

    out = tmp_path / "run"
    args = [a if a != "t_measure=2e5" else "t_measure=2e6" for a in ARGS]
    proc = _sim("run", "rod-dc", *args, "--out", str(out), wait=False)
    _wait_for_checkpoint(out, proc)
    path = out / "timeseries" / "rod_N6_super.h5"
    try:
        with open_live(path) as f:
            assert f.attrs["status"] == "running" and f["T"].shape[0] > 0
        ds = sim.open_dataset(path)
        assert ds.sizes["time"] > 0 and ds["T"].dims == ("time", "ring")
        res = _sim("status", str(out))
        assert res.returncode == 0, res.stderr
        assert "rod-dc" in res.stdout and "running" in res.stdout and "steps/s" in res.stdout and "ETA" in res.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    assert "terminated" in _sim("status", str(out)).stdout


def test_a_storage_fault_while_writing_frames_fails_cleanly_and_resume_is_bit_identical(
    reference, tmp_path, monkeypatch
):
    import errno

    from sim import cli
    from sim.io import TimeSeriesWriter

    out = tmp_path / "run"
    real, calls = TimeSeriesWriter.flush, {"n": 0}

    def failing_flush(self):
        calls["n"] += 1
        if calls["n"] == 12:
            raise OSError(errno.EIO, "Input/output error", str(self.path))
        return real(self)

    monkeypatch.setattr(TimeSeriesWriter, "flush", failing_flush)
    assert cli.main(["run", "rod-dc", *ARGS, "--out", str(out)]) == cli.EXIT_FAILED
    monkeypatch.setattr(TimeSeriesWriter, "flush", real)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["status"] == "failed" and "Input/output error" in meta["error"]
    assert cli.main(["resume", str(out), "--quiet"]) == 0
    _assert_identical(_series(reference), _series(out))


def test_limits_of_the_machine_are_refused_naming_the_largest_allowed(tmp_path, capsys):
    from sim import cli

    assert cli.main(["run", "rod-second-sound", "--quick", "--out", str(tmp_path / "a"), "--set", "N=1000000000"]) == 2
    assert "allowed: N <=" in capsys.readouterr().err and not (tmp_path / "a").exists()  # refused before it ran
    assert cli.main(["run", "rod-dc", "--quick", "--out", str(tmp_path / "c"), "--set", "dt=3.0"]) == 2
    assert "dt = 3.0 is too large" in capsys.readouterr().err and not (tmp_path / "c").exists()
    assert cli.main(["run", "rod-dc", "--quick", "--out", str(tmp_path / "b"), "--set", "dt=1e-300"]) == 2
    assert "time steps (dt = 1e-300); allowed: at most" in capsys.readouterr().err
