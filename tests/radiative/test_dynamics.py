"""Temperature dynamics of particle networks (sim.radiative.dynamics): exponential relaxation,
order of the integrator, steady states vs the linear solve, the energy ledger, the NumPy
twin, thermal noise (variance kB T^2/C and the fluctuation-dissipation theorem), schedules,
and clear errors for bad input."""

import numpy as np
import pytest
from scipy.linalg import expm

from sim.bench.network import lattice_system
from sim.radiative.dynamics import (
    DENSE_MIN,
    KB,
    NetworkParams,
    NetworkSystem,
    simulate_network,
    steady_state,
)
from sim.radiative.dynamics.reference import advance_numpy
from sim.radiative.fluctuations import ros2_step_matrix
from sim.radiative.network import Network
from sim.schedule import Schedule
from sim.simulation import RunawayError

R = 100e-9


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("spectra")


@pytest.fixture(scope="module")
def dimer(cache):
    return Network([[0, 0, 0], [3 * R, 0, 0]], R, "SiC", cache_dir=cache, model="dipole")


@pytest.fixture(scope="module")
def quad(cache):
    """Two parallel dimers (drag geometry), d = 3R, h = 5R, SiC/Au crossed."""
    d, h = 3 * R, 5 * R
    return Network(
        [[0, 0, 0], [d, 0, 0], [0, h, 0], [d, h, 0]], R, ["SiC", "Au", "Au", "SiC"], cache_dir=cache, model="dipole"
    )


def test_twin_matches_numpy_reference(quad):
    """Numba kernel == NumPy twin step by step (environment, noise, a moving schedule)."""
    sched = Schedule("sinusoid", T0=320.0, amplitude=5.0, w=300.0)
    p = NetworkParams(
        quad,
        ["thermostat", "free", "thermostat", "free"],
        [sched, 300.0],
        T_init=[310.0, 305.0],
        environment=True,
        noise=True,
        seed=3,
        dt=2e-4,
    )
    s = NetworkSystem(p)
    a, b = s.initial_state(), s.initial_state()
    s.advance(a, 40)
    advance_numpy(s, b, 40)
    for f in ("T", "Q_pair", "Q_thermostat", "Q_env", "acc"):
        np.testing.assert_allclose(
            getattr(a, f), getattr(b, f), rtol=1e-9, atol=1e-9 * np.abs(getattr(b, f)).max(), err_msg=f
        )
    assert a.step == b.step == 40


def test_twin_matches_numpy_reference_on_the_lapack_path():
    """Above DENSE_MIN free particles the kernel solves with LAPACK instead of its own LU."""
    s = lattice_system(DENSE_MIN + 6)
    assert s.free_idx.size > DENSE_MIN
    a, b = s.initial_state(), s.initial_state()
    s.advance(a, 5)
    advance_numpy(s, b, 5)
    assert np.ptp(a.T[1:]) > 1e-3  # the drive has spread: a solve that went wrong would show
    for f in ("T", "Q_pair", "Q_thermostat"):
        np.testing.assert_allclose(
            getattr(a, f), getattr(b, f), rtol=1e-10, atol=1e-10 * np.abs(getattr(b, f)).max(), err_msg=f
        )


def _relax(net, dt, t_end, drive):
    p = NetworkParams(net, ["thermostat", "free"], [300.0], T_init=300.0 + drive, environment=False, dt=dt)
    s = NetworkSystem(p)
    st = s.initial_state()
    s.advance(st, int(round(t_end / dt)))
    return st.T[1] - 300.0, p


def test_two_particle_relaxation_follows_exponential_law(dimer):
    """Small drive: T2 - T1 = delta exp(-G t / C) with G the pair conductance at 300 K."""
    G = float(dimer.conductance(300.0, rtol=1e-8)[1, 0])
    C = dimer.heat_capacities[1]
    tau = C / G
    delta = 1e-3
    for t in (0.5 * tau, 2 * tau, 5 * tau):
        x, _ = _relax(dimer, tau / 1000, t, delta)
        # ROS2 rate error ~ 1.3 (dt/tau)^2 ~ 1.3e-6 (measured constant); nonlinearity ~ delta/T ~ 3e-6
        assert x == pytest.approx(delta * np.exp(-t / tau), rel=2e-5 * t / tau)


def test_integrator_is_second_order(dimer):
    """20 K drive, error at t = tau vs a fine reference (dt = tau/5120): halving the step
    divides the error by 4 (measured orders 1.89, 1.94, 1.97 for dt = tau/20 ... tau/160)."""
    tau = dimer.heat_capacities[1] / float(dimer.conductance(300.0)[1, 0])
    ref, _ = _relax(dimer, tau / 5120, tau, 20.0)
    errs = [abs(_relax(dimer, tau / n, tau, 20.0)[0] - ref) for n in (20, 40, 80, 160)]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(orders > 1.85) and np.all(orders < 2.15) and orders[-1] > 1.95, orders


def test_steady_state_matches_linear_solve_for_small_drive(quad):
    """T1 - T2 = 0.02 K: steady temperatures equal the linear-response solve with G(300 K)."""
    p = NetworkParams(quad, ["thermostat", "thermostat", "free", "free"], [300.01, 299.99], environment=False)
    ss = steady_state(p, rtol=1e-12)
    G = quad.conductance(300.0, rtol=1e-8)
    L = np.diag(G.sum(axis=0)) - G  # energy balance sum_j G_ij (T_j - T_i) = 0 on the free rows
    A = L[2:, 2:]
    b = G[2:, :2] @ np.array([300.01, 299.99])
    T_lin = np.linalg.solve(A, b)
    dev = ss.T[2:] - 300.0
    # nonlinearity ~ (0.01 K / 300 K) relative to the deviations; quadrature 1e-8
    np.testing.assert_allclose(dev, T_lin - 300.0, rtol=1e-3, atol=1e-9)
    assert ss.criterion < 1e-12 and ss.steps > 0 and ss.time == pytest.approx(ss.steps * ss.dt)


def test_ledger_closes_and_entropy_grows(quad):
    """Thermostat ramp + environment: stored energy = supplied energy to round-off."""
    ramp = Schedule("ramp", T0=300.0, T1=340.0, t0=0.0, t1=0.05)
    p = NetworkParams(
        quad, ["thermostat", "free", "free", "thermostat"], [ramp, 300.0], T_init=320.0, environment=True, T_env=290.0
    )
    out = simulate_network(p, 400, 20)
    d = out.recorder.data
    scale = np.abs(d["Q_thermostat"]).sum(axis=1).max() + np.abs(d["Q_env"]).sum(axis=1).max()
    assert scale > 0
    assert np.abs(d["ledger_error"]).max() < 1e-12 * (scale + np.abs(p.C * p.T_init).sum() * 1e-4)
    # pair flows are antisymmetric by construction: their sum over a particle's pairs is what it gained
    assert np.all(np.diff(d["entropy_production"]) > 0)


def test_ros2_step_damps_every_mode_without_overshoot_at_any_step():
    """Why a network's dt has no upper bound: a linear mode of rate a is multiplied per step by
    R(a dt), and R stays in (0, 1), decreasing, for a dt from 1e-6 to 1e12 (L-stable: R -> 0)."""
    a_dt = np.geomspace(1e-6, 1e12, 3000)
    R_of = np.array([ros2_step_matrix(np.array([[a]]), 1.0)[0, 0] for a in a_dt])
    assert R_of.min() > 0 and R_of.max() < 1 and np.all(np.diff(R_of) < 0)


def test_a_long_run_far_past_the_explicit_limit_stays_bounded_and_lands_on_the_steady_state(quad):
    """dt = 1e4 fastest relaxation times (5000x explicit Euler's limit 2/lambda_max), 3000 steps
    from 90 K below the hot thermostat, environment on: the largest distance to the steady state
    never grows (to round-off) and the run ends on the steady state found at the accuracy-set dt;
    ledger closed. The first step overshoots (the Jacobian is frozen at 250 K: docs/limits.md):
    at dt = the fastest relaxation time, no temperature leaves the range the run started in."""
    roles = ["thermostat", "free", "thermostat", "free"]
    kw = dict(T_init=250.0, environment=True, T_env=300.0, T_grid=(200.0, 450.0))
    p0 = NetworkParams(quad, roles, [350.0, 300.0], **kw)
    s0 = NetworkSystem(p0)
    tau_fast = s0.relaxation_times(p0.T_init).min()
    ss = steady_state(p0, rtol=1e-12)
    T = {}
    for f in (1e4, 1.0):
        p = NetworkParams(quad, roles, [350.0, 300.0], dt=f * tau_fast, **kw)
        out = simulate_network(p, 3000, 1, system=NetworkSystem(p, tables=s0.tables))
        T[f] = np.asarray(out.recorder.data["T"])
        d = out.recorder.data
        scale = np.abs(d["Q_thermostat"]).sum(axis=1).max() + np.abs(d["Q_env"]).sum(axis=1).max()
        assert np.abs(d["ledger_error"]).max() < 1e-12 * (scale + np.abs(p.C * p.T_init).sum())
    distance = np.abs(T[1e4] - ss.T).max(axis=1)
    assert np.all(np.isfinite(T[1e4])) and np.all(np.diff(distance) < 1e-9)
    np.testing.assert_allclose(T[1e4][-1], ss.T, rtol=1e-10)
    assert T[1e4].max() > 350.0 + 10  # the overshoot this test documents (see the docstring)
    assert T[1.0].min() >= 250.0 - 1e-9 and T[1.0].max() <= 350.0 + 1e-9


def test_thermostat_schedule_is_followed(dimer):
    sched = Schedule("sinusoid", T0=310.0, amplitude=8.0, w=2 * np.pi * 50.0)
    p = NetworkParams(dimer, ["thermostat", "free"], [sched], environment=False, dt=1e-4)
    out = simulate_network(p, 400, 10)
    rec = out.recorder
    np.testing.assert_allclose(rec.data["T"][:, 0], sched.at(np.array(rec.times)), rtol=1e-13)
    # the free particle follows with a lag: it is driven, bounded by the thermostat's range
    Tf = rec.data["T"][:, 1]
    assert Tf.max() - Tf.min() > 0.1 and Tf.max() < 318.0 and Tf.min() > 302.0 - 10


def test_noise_equilibrium_variance_and_fdt(cache):
    """Equilateral triangle at 300 K, one thermostat, two free: equal-time covariance
    kB T^2 C^-1 (diagonal), lagged covariance expm(M tau) kB T^2 C^-1 (FDT), tolerances
    4 standard errors from block averaging + 1.5 a_max dt (the splitting bias of the
    stationary variance is a dt per mode, 0.5 % here)."""
    s3 = np.sqrt(3.0)
    net = Network([[0, 0, 0], [4 * R, 0, 0], [2 * R, 2 * s3 * R, 0]], R, "SiC", cache_dir=cache, model="dipole")
    C = net.heat_capacities * np.array([1.0, 1.0, 2.0])
    p0 = NetworkParams(net, ["thermostat", "free", "free"], [300.0], T_init=300.0, C=C, environment=False)
    s0 = NetworkSystem(p0)
    tau = s0.relaxation_times(p0.T_init)
    dt = 5e-3 * tau.min()
    p = NetworkParams(
        net, ["thermostat", "free", "free"], [300.0], T_init=300.0, C=C, environment=False, noise=True, seed=11, dt=dt
    )
    s = NetworkSystem(p, tables=s0.tables)
    bias = s.stiffness_dt()
    assert bias <= 5.1e-3
    every, n_rec = 20, 150_000  # ~5000 slow relaxation times; records kept off the Simulation loop (speed)
    st = s.initial_state()
    s.advance(st, 20 * every)
    T = np.empty((n_rec, 2))
    for k in range(n_rec):
        s.advance(st, every)
        T[k] = st.T[1:] - 300.0
    Sigma = KB * 300.0**2 / C[1:]
    from sim.stats import block_average

    def check(x, expected, scale):
        ba = block_average(x)
        tol = 4 * ba["stderr"] + 1.5 * bias * scale
        assert abs(ba["mean"] - expected) < tol, (ba["mean"], expected, tol)

    check(T[:, 0] ** 2, Sigma[0], Sigma[0])
    check(T[:, 1] ** 2, Sigma[1], Sigma[1])
    check(T[:, 0] * T[:, 1], 0.0, np.sqrt(Sigma[0] * Sigma[1]))
    lag_t = tau.max()
    lag = int(round(lag_t / (dt * every)))
    M = s0.rates(p0.T_init)["A"][1:, 1:] / C[1:, None]
    pred = expm(M * lag * dt * every) @ np.diag(Sigma)
    for a in range(2):
        for b in range(2):
            check(T[lag:, a] * T[:-lag, b], pred[a, b], np.sqrt(Sigma[a] * Sigma[b]))
    assert abs(pred[0, 1]) > 0.05 * np.sqrt(Sigma[0] * Sigma[1])  # the cross term is really tested


def test_tables_interpolate_power_table(quad):
    p = NetworkParams(quad, ["thermostat", "thermostat", "free", "free"], [350.0, 300.0], environment=True)
    s = NetworkSystem(p)
    T = np.array([301.37, 333.21, 347.77, 312.05])
    E, Gm, eo, go = s._emission(T)
    for j in range(4):
        ref = quad.power_table([T[j]], rtol=1e-10)[0][:, j]
        np.testing.assert_allclose(E[:, j], ref, rtol=1e-8, atol=1e-8 * ref.max())
    ref_out = quad.environment_power_table(T, rtol=1e-10)[1]
    np.testing.assert_allclose(eo, np.diag(ref_out), rtol=1e-8)


def test_bad_input_errors(dimer, quad):
    with pytest.raises(ValueError, match="C = "):
        NetworkParams(dimer, ["thermostat", "free"], [300.0], C=[1e-14, 0.0])
    with pytest.raises(ValueError, match="thermostats\\[0\\]"):
        NetworkParams(dimer, ["thermostat", "free"], [-5.0])
    with pytest.raises(ValueError, match="T_init"):
        NetworkParams(dimer, ["thermostat", "free"], [300.0], T_init=0.0)
    with pytest.raises(ValueError, match="roles\\[1\\]"):
        NetworkParams(dimer, ["thermostat", "floating"], [300.0])
    with pytest.raises(ValueError, match="isolated"):
        steady_state(NetworkParams(quad, ["free"] * 4, [], T_init=[350.0, 300.0, 300, 300], environment=False))
    with pytest.raises(ValueError, match="thermostats has"):
        NetworkParams(dimer, ["thermostat", "free"], [300.0, 310.0])


def test_leaving_the_grid_is_a_runaway(dimer):
    p = NetworkParams(
        dimer, ["thermostat", "free"], [300.0], T_init=301.0, environment=False, T_grid=(299.0, 302.0), dt=1e-3
    )
    s = NetworkSystem(p)
    st = s.initial_state()
    st.T[1] = 305.0
    with pytest.raises(RunawayError, match="left the tabulated range"):
        s.advance(st, 1)


def test_network_file_opens_with_pairs_as_i_j_matrices(quad, tmp_path):
    """open_dataset: CF units that pint-style parsers read (SI), pair variables as antisymmetric (i, j)."""
    import sim

    p = NetworkParams(quad, ["thermostat", "free", "free", "thermostat"], [320.0, 300.0], T_init=[320, 360, 280, 300])
    simulate_network(p, 40, 10, path=tmp_path / "net.h5")
    ds = sim.open_dataset(tmp_path / "net.h5")
    flows = ds["pair_power_ij"]
    assert flows.dims == ("time", "i", "j") and ds["T"].attrs["units"] == "K" and ds["time"].attrs["units"] == "s"
    assert np.array_equal(flows.values, -flows.values.transpose(0, 2, 1))
    k = [tuple(q) for q in ds.attrs["pairs"].reshape(-1, 2).tolist()].index((0, 2))
    assert flows.sel(i=0, j=2).values == pytest.approx(ds["pair_power"].values[:, k], rel=0, abs=0)
    # each particle's net power is the sum of its pair flows and what the environment gives it
    network_part = (ds["P_net"] - ds["env_power"]).values
    assert np.abs(network_part).min() > 0
    assert np.allclose(flows.sum("j").values, network_part, rtol=1e-9, atol=0)
