"""The Numba kernel against its NumPy twin, determinism, energy ledger, runaway handling."""

import os
import subprocess
import sys

import numpy as np
import pytest

from sim.io import MemoryRecorder, TimeSeriesWriter
from sim.rod.model import Power, Rotor, Table
from sim.rod.reference import advance_reference
from sim.rod.runner import simulate
from sim.rod.system import Rod
from sim.schedule import Schedule
from sim.simulation import Recorder, RunawayError, Simulation

CASES = {
    "linear-sine-noisy": dict(noise=True),
    "linear-deterministic": dict(),
    "normal-noisy": dict(K=0.0, g=0.5, noise=True),
    "mixed-g-K-noisy": dict(g=np.linspace(0.1, 0.4, 7), K=np.linspace(1, 5, 7), noise=True),
    "harmonic-m2": dict(torque="harmonic", K=2.0, m=2, noise=True),
    "sine-m3-power": dict(m=3, law=Power(1.0, 1.5, 1.0), noise=True, dt=0.25),  # within the noisy-rod step limit
    # the rotor clock ticks only for T well below T_q (omega0 ~ exp(-2 pi^2 T/T_q) beyond)
    "rotor": dict(law=Rotor(1.0, 0.25, 10.0), K=0.5, noise=True),
    "table-schedules": dict(
        law=Table(T=(0.5, 1.0, 1.6), omega=(0.6, 1.0, 1.3)),
        T_L=Schedule("sinusoid", T0=1.1, amplitude=0.2, w=0.3),
        T_R=Schedule("ramp", T0=0.9, T1=1.2, t0=5.0, t1=40.0),
        noise=True,
    ),
    "closed-left-end": dict(k_L=0.0, noise=True, g=0.2),
    "weak-link-large-increments": dict(K=np.array([5, 5, 5, 1e-3, 5, 5, 5.0]), T_L=1.5, T_R=0.6),
}


@pytest.mark.parametrize("case", CASES)
def test_kernel_matches_numpy_twin(rod_params, case):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rod = Rod(rod_params(**CASES[case]))
    fast = rod.initial_state()
    fast.theta[:] = np.linspace(0.0, 2.5, rod.params.N)  # a twisted start exercises the torques
    fast.phi[:] = fast.theta[:-1] - fast.theta[1:]
    fast.sin_mphi[:], fast.cos_mphi[:] = np.sin(rod.params.m * fast.phi), np.cos(rod.params.m * fast.phi)
    slow = fast.copy()
    rod.advance(fast, 120)
    advance_reference(rod, slow, 120)
    for name in ("theta", "phi", "E", "link_heat", "link_impulse", "acc"):
        a, b = getattr(fast, name), getattr(slow, name)
        # accumulators can be near-cancelling sums of O(1) terms: absolute round-off is the scale
        assert np.allclose(a, b, rtol=1e-11, atol=1e-10), name
    assert fast.step == slow.step == 120


@pytest.mark.parametrize(
    "case", ["linear-sine-noisy", "normal-noisy", "harmonic-m2", "table-schedules", "weak-link-large-increments"]
)
@pytest.mark.parametrize("R", [1, 3, 8])
def test_a_replica_in_a_batch_is_bit_identical_to_it_run_alone(rod_params, case, R):
    """R replicas in one kernel call (replicas innermost) against each run alone with its seed,
    over 1300 steps in two calls (a trig re-sync on the way). Replica 0 starts twisted and hot
    on one side, so its increments leave the series range while the others' stay inside: the
    batch takes the general branch, each element still gets the value it gets alone."""
    import dataclasses
    import warnings

    from sim.rod.kernels import _SMALL_ANGLE
    from sim.rod.system import ARRAY_FIELDS

    seeds = [11 + 7 * r for r in range(R)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = rod_params(**CASES[case])
        batch = Rod(params, seeds)
        alone = [Rod(dataclasses.replace(params, seed=s)) for s in seeds]

    def unusual(state):  # replica 0's start
        state.E[: params.N // 2] *= 2.0
        state.theta[:] = np.linspace(0.0, 2.5, params.N)
        state.phi[:] = state.theta[:-1] - state.theta[1:]
        state.sin_mphi[:], state.cos_mphi[:] = np.sin(params.m * state.phi), np.cos(params.m * state.phi)

    b = batch.initial_state()
    singles = [rod.initial_state() for rod in alone]
    if R > 1:
        first = batch.replica(b, 0)
        unusual(first)
        for f in ARRAY_FIELDS:
            getattr(b, f)[:, 0] = getattr(first, f)
        unusual(singles[0])
        omega = params.law.omega0(first.E / params.C)
        if case != "harmonic-m2":  # the mixed batch is what is tested
            assert np.abs(np.diff(omega)).max() * params.dt * params.m / 2 > _SMALL_ANGLE
    batch.advance(b, 700)
    batch.advance(b, 600)
    for rod, single in zip(alone, singles):
        rod.advance(single, 1300)
    for r, single in enumerate(singles):
        got = batch.replica(b, r)
        for f in ARRAY_FIELDS:
            assert np.array_equal(getattr(got, f), getattr(single, f)), (r, f)
    assert b.step == 1300


def test_large_increments_take_the_general_half_angle_path(rod_params):
    """A weak link between halves at different temperatures: increments beyond the series range."""
    rod = Rod(rod_params(**CASES["weak-link-large-increments"], dt=2.0))
    s = rod.initial_state()
    s.E[:4] = 50 * 1.5
    s.E[4:] = 50 * 0.6
    ref = s.copy()
    rod.advance(s, 50)
    advance_reference(rod, ref, 50)
    dphi = np.abs(np.diff(s.phi))
    assert np.allclose(s.E, ref.E, rtol=1e-11) and np.allclose(s.phi, ref.phi, rtol=1e-11, atol=1e-12)
    assert abs(s.phi[3]) > 5.0 and dphi.max() > 0  # the weak link wound through several turns


_DETERMINISM = """
import numpy as np, hashlib
from sim.rod.model import RodParams
from sim.rod.system import Rod
rod = Rod(RodParams(N=32, K=5.0, g=0.2, noise=True, seed={seed}))
s = rod.initial_state(); rod.advance(s, 3000)
print(hashlib.sha256(np.concatenate([s.E, s.phi, s.theta, s.acc]).tobytes()).hexdigest())
"""


def _run_hash(seed, threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    out = subprocess.run(
        [sys.executable, "-c", _DETERMINISM.format(seed=seed)], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_same_seed_is_bit_identical_across_thread_counts_and_other_seeds_differ():
    one, two = _run_hash(4, 1), _run_hash(4, 2)
    assert one == two
    assert _run_hash(5, 2) != one


def test_chunking_does_not_change_the_trajectory(rod_params):
    """Resuming from any step must reproduce the same bits (checkpoints depend on it)."""
    rod = Rod(rod_params(noise=True, g=0.3))
    a, b = rod.initial_state(), rod.initial_state()
    rod.advance(a, 3000)
    for n in (1, 99, 1000, 700, 1200):
        rod.advance(b, n)
    assert b.step == 3000
    for name in ("E", "phi", "theta", "sin_mphi", "link_heat", "acc"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("noise", [False, True])
def test_energy_ledger_closes_to_round_off(rod_params, noise):
    run = simulate(
        rod_params(N=32, noise=noise, g=0.2, T_L=Schedule("sinusoid", T0=1.1, amplitude=0.3, w=0.01)),
        200_000,
        record_every=5000,
        progress=False,
    )
    d = run.recorder.data
    scale = d["energy_stored"].max()
    assert np.abs(d["ledger_error"]).max() / scale < 1e-12
    assert abs(d["Q_L"][-1]) > 1.0  # heat did flow: the ledger is not trivially zero


def test_runaway_stops_the_run_and_keeps_the_record(rod_params, tmp_path):
    """The rotor law: temperatures separate on their own; the run stops with a diagnosis."""
    import warnings

    import h5py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # strong coupling, small heat capacity: the separation outgrows what the torque can hold
        p = rod_params(
            N=16, law=Rotor(1.0, 0.25, 1.0), K=5.0, C=2.0, T_L=0.1, T_R=0.1, k_L=0.05, k_R=0.05, noise=True, dt=0.05
        )
    path = tmp_path / "runaway.h5"
    with pytest.raises(RunawayError, match=r"runaway at step \d+.*clock law 'rotor'.*expected instability"):
        simulate(p, 400_000, record_every=10, path=path, progress=False)
    with h5py.File(path) as f:
        assert f.attrs["status"] == "runaway"
        assert f["T"].shape[0] > 1 and f["T"].shape[1] == 16


def test_energy_runaway_in_the_last_step_of_a_call_is_named(rod_params):
    """A ring driven below zero energy in the last step the kernel was asked for (record_every = 1)
    is still reported as such, not as a NaN spread or a non-finite snapshot."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = rod_params(
            N=16,
            law=Rotor(1.0, 0.25, 1.0),
            K=5.0,
            C=2.0,
            T_L=0.1,
            T_R=0.1,
            k_L=0.0,
            k_R=0.0,
            T_init=0.1 * (1 + 1e-6 * (-1.0) ** np.arange(16)),
            dt=0.05,
        )
    with pytest.raises(RunawayError, match=r"the energy of ring \d+ became .*expected instability"):
        simulate(p, 10_000, record_every=1, progress=False)


def test_temperature_spread_beyond_runaway_dT_is_reported(rod_params):
    rod = Rod(rod_params(runaway_dT=0.3))
    s = rod.initial_state()
    s.E[2] = 50 * 1.5
    with pytest.raises(
        RunawayError, match=r"ring temperatures separate, spread .* > runaway_dT = 0.3 \(ring 2 at T = 1.5"
    ):
        rod.check_runaway(s)


def test_nonfinite_snapshot_is_refused(rod_params):
    rod = Rod(rod_params())
    sim = Simulation(rod, reporters=[Recorder(MemoryRecorder(), 10)])
    sim.state.E[3] = np.nan
    with pytest.raises(RunawayError):
        sim.run(10)


def test_hdf5_record_has_named_dimensions_and_units(rod_params, tmp_path):
    import h5py

    run = simulate(rod_params(N=6), 1000, record_every=100, path=tmp_path / "r.h5", progress=False)
    assert run.info.status == "completed"
    with h5py.File(tmp_path / "r.h5") as f:
        assert f["T"].shape == (11, 6) and f["twist"].shape == (11, 5)
        assert f["T"].dims[0][0].name == "/time" and f["T"].dims[1][0].name == "/ring"
        assert f["torque"].dims[1][0].name == "/link"
        assert f["T"].attrs["units"] == "1" and f["T"].attrs["reduced_units"] == "energy/k_B"
        assert f["time"].attrs["reduced_units"] == "reduced time" and "k_B = 1" in f.attrs["unit_system"]
        assert f.attrs["Conventions"] == "CF-1.10" and "arXiv:1211.3633" in f.attrs["references"]
        assert f.attrs["status"] == "completed"
        assert np.allclose(f["time"][()], np.arange(11) * 100 * 0.5)
        assert all(f[k].compression == "gzip" and f[k].shuffle for k in ("T", "twist", "time", "step"))


def test_hdf5_record_opens_with_xarray(rod_params, tmp_path):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    simulate(rod_params(N=6), 1000, record_every=100, path=tmp_path / "r.h5", progress=False)
    ds = xr.open_dataset(tmp_path / "r.h5", engine="h5netcdf")
    assert ds["T"].dims == ("time", "ring") and ds["supercurrent"].dims == ("time", "link")
    assert ds["T"].attrs["units"] == "1" and ds.attrs["Conventions"] == "CF-1.10"


def test_memory_is_streamed_in_chunks(rod_params, tmp_path):
    rod = Rod(rod_params(N=6))
    writer = TimeSeriesWriter(tmp_path / "c.h5", rod.dims, rod.observables, chunk_frames=8)
    sim = Simulation(rod, reporters=[Recorder(writer, 10)])
    sim.system.advance(sim.state, 0)
    for _ in range(3):
        writer.append(0, 0.0, rod.observe(sim.state, sim.initial))
    assert len(writer._buffer) == 3 and writer.frames == 0
    for _ in range(5):
        writer.append(0, 0.0, rod.observe(sim.state, sim.initial))
    assert len(writer._buffer) == 0 and writer.frames == 8  # flushed at the chunk size
    writer.close()


def test_closed_rod_conserves_its_energy_exactly(rod_params):
    """k_L = k_R = 0: no reservoir, the stored energy stays what it was (to round-off)."""
    for noise in (True, False):
        rod = Rod(rod_params(k_L=0.0, k_R=0.0, noise=noise, g=0.2))
        s = rod.initial_state()
        s.E[3] *= 1.2
        before, spread = rod.stored_energy(s), s.E.std()
        rod.advance(s, 20_000)
        assert abs(rod.stored_energy(s) - before) < 1e-12 * before
        assert np.all(s.acc == 0.0)  # no reservoir heat, impulse or entropy flow
    assert s.E.std() < 0.2 * spread  # without noise the pulse has spread out
