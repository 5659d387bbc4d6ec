"""Network runs go through the shared loop: checkpoints, wall time and resume work for them too."""

import json
import time
from types import SimpleNamespace

import numpy as np
import pytest
from test_checkpoint import _assert_identical, _series, _sim, completed_run, sigkill_after_first_checkpoint

from sim import checkpoint
from sim.radiative.dynamics import NetworkParams, NetworkState, NetworkSystem, simulate_network, steady_state
from sim.radiative.network import Network
from sim.simulation import WalltimeReached

ARGS = ["--quick", "--quiet", "--set", "h_over_R=[3, 5]", "--set", "n_slow=3000", "--checkpoint-every", "50000"]


def _summary_without_timings(run_dir) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    for row in summary["per_h"]:
        row.pop("wall_s")
    return summary


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return completed_run(tmp_path_factory, ["run", "drag-noise", *ARGS])


def test_drag_noise_sigkilled_mid_run_then_resumed_is_bit_identical(reference, tmp_path):
    out = tmp_path / "run"
    sigkill_after_first_checkpoint(["run", "drag-noise", *ARGS], out, seed=3, delay=(0.2, 2.0))
    assert not (out / "summary.json").exists()
    res = _sim("resume", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    series = _series(out)
    assert len(series) == 2 and all(s["status"] == "completed" for s in series.values())
    # only what the analysis reads, with its coordinates
    assert set(series["drag_noise_h3R.h5"]) == {"T", "time", "step", "particle", "pair", "status"}
    _assert_identical(_series(reference), series)
    assert _summary_without_timings(out) == _summary_without_timings(reference)
    assert not list((out / "timeseries").glob("*.ckpt.npz*"))
    # it resumed (a recomputation from zero would give the same bits): the resumed session stepped less
    steps = [json.loads((d / "metadata.json").read_text())["ring_steps"] for d in (out, reference)]
    assert steps[0] <= steps[1] - 50000 * 4, steps


def _quad_params(**kw):
    net = Network([[0, 0, 0], [300e-9, 0, 0], [0, 300e-9, 0], [300e-9, 300e-9, 0]], 100e-9, "SiC", model="dipole")
    return NetworkParams(
        net, ["thermostat", "thermostat", "free", "free"], [350.0, 300.0], T_init=300.0, environment=False, **kw
    )


def _ctx(**kw):
    """What ``steady_state`` reads from a run context (``sim.scenario.RunContext``)."""
    return SimpleNamespace(
        **({"checkpoint_every": None, "deadline": None, "resume": False, "ring_steps": 0.0, "kernel_time": 0.0} | kw)
    )


def test_a_steady_state_stopped_by_wall_time_resumes_to_the_same_steady_state(tmp_path):
    params = _quad_params()
    system = NetworkSystem(params)
    dt = system.params.dt
    whole = steady_state(params, rtol=1e-10, system=system)
    assert whole.steps > 50
    ckpt = tmp_path / "ss.ckpt.npz"
    with pytest.raises(WalltimeReached):  # a deadline already past: stops after the first check, checkpointed
        steady_state(params, rtol=1e-10, system=system, checkpoint_path=ckpt, ctx=_ctx(deadline=time.monotonic()))
    stopped, _, _, _ = checkpoint.load(ckpt, NetworkState)
    assert 0 < stopped.step < whole.steps
    resumed = steady_state(params, rtol=1e-10, system=system, checkpoint_path=ckpt, ctx=_ctx(resume=True))
    assert resumed.steps == whole.steps and resumed.time == whole.steps * dt
    assert np.array_equal(resumed.T, whole.T) and resumed.criterion == whole.criterion
    # the steady state found is kept: resuming again returns it without a step
    ctx = _ctx(resume=True)
    again = steady_state(params, rtol=1e-10, system=system, checkpoint_path=ckpt, ctx=ctx)
    assert ctx.ring_steps == 0.0 and np.array_equal(again.T, whole.T) and again.steps == whole.steps


def test_a_network_run_records_only_the_names_asked_for_and_they_match_the_full_record(tmp_path):
    params = _quad_params(noise=True, seed=4)
    system = NetworkSystem(params)
    full = simulate_network(params, 300, 10, system=system).recorder.data
    some = simulate_network(params, 300, 10, system=system, observables=["T", "ledger_error"]).recorder.data
    assert set(some) == {"T", "ledger_error"} and len(some["T"]) == 31
    for name in some:
        assert np.array_equal(some[name], full[name]), name
    assert np.abs(full["ledger_error"]).max() < 1e-12 * np.abs(full["Q_thermostat"]).max()


def test_a_network_run_started_from_a_given_state_records_from_there(tmp_path):
    params = _quad_params(noise=True, seed=5)
    system = NetworkSystem(params)
    whole = simulate_network(params, 400, 10, system=system).recorder.data

    def burned_in():
        st = system.initial_state()
        system.advance(st, 100)
        return st

    run = simulate_network(params, 300, 10, system=system, start=burned_in)
    assert run.recorder.steps[0] == 100 and run.recorder.steps[-1] == 400
    assert np.array_equal(run.recorder.data["T"], whole["T"][10:])
