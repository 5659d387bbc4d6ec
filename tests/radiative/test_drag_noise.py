"""drag-noise: the fluctuation helpers (sim.radiative.fluctuations) on constructed signals and
directly simulated OU processes, and (slow) the scenario's --quick run with every check."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import lfilter

from sim.radiative.dynamics import NetworkParams, NetworkSystem
from sim.radiative.fluctuations import (
    batched_peak,
    discrete_stationary_covariance,
    lagged_covariance,
    linear_response,
    predicted_peak,
    ros2_step_matrix,
)
from sim.radiative.network import Network

ROOT = Path(__file__).resolve().parents[2]
R = 100e-9
# a non-symmetric 2-variable OU (unequal heat capacities): modes 1.0 and ~0.35 per unit time
C2 = np.array([1.0, 2.5])
L2 = np.array([[0.8, -0.3], [-0.3, 0.9]])  # W/K-like conductance Laplacian (thermostat legs on the diagonal)
M2 = L2 / C2[:, None]
S2 = np.diag(1.0 / C2)  # kB T^2 C^-1 in units kB T^2 = 1


def _symmetric(a_s, a_f):
    """M of a symmetric pair with modes a_s ((x3 + x4)/2) and a_f ((x3 - x4)/2); Sigma = I."""
    return 0.5 * np.array([[a_s + a_f, a_s - a_f], [a_s - a_f, a_s + a_f]]), np.eye(2)


def test_predicted_peak_matches_two_mode_closed_form():
    """Symmetric pair: r(tau) = (exp(-a_s tau) - exp(-a_f tau))/2, peak at ln(a_f/a_s)/(a_f - a_s)."""
    a_s, a_f = 2.0, 30.0
    M, S = _symmetric(a_s, a_f)
    tau = np.linspace(0, 1, 7)
    np.testing.assert_allclose(
        lagged_covariance(M, S, tau)[:, 1, 0], 0.5 * (np.exp(-a_s * tau) - np.exp(-a_f * tau)), rtol=1e-12, atol=1e-15
    )
    pk = predicted_peak(M, S, 1, 0, 1.0)
    t_star = np.log(a_f / a_s) / (a_f - a_s)
    assert pk["lag"] == pytest.approx(t_star, rel=1e-5)
    assert pk["value"] == pytest.approx(0.5 * (np.exp(-a_s * t_star) - np.exp(-a_f * t_star)), rel=1e-10)


def _simulate(R, M, Sigma, dt, x0, nsteps, rng):
    """Replicas x (n_rep, 2) of x_{n+1} = R x_n + w, cov(w) = (M Sigma + Sigma M^T) dt; returns all states."""
    Lq = np.linalg.cholesky((M @ Sigma + Sigma @ M.T) * dt)
    xs = [x0]
    for _ in range(nsteps):
        xs.append(xs[-1] @ R.T + rng.normal(size=x0.shape) @ Lq.T)
    return np.array(xs)


def test_discrete_stationary_covariance_matches_simulation():
    """Coarse step (a_max dt = 0.3, bias ~ 15 %): explicit Euler and ROS2 replicas settle on the
    discrete Lyapunov covariance, not on Sigma (the check could fail: the bias is > 10 errors)."""
    rng = np.random.default_rng(2)
    dt = 0.3 / np.linalg.eigvals(M2).real.max()
    for R in (np.eye(2) - M2 * dt, ros2_step_matrix(M2, dt)):
        Sd = discrete_stationary_covariance(R, M2, S2, dt)
        xs = _simulate(R, M2, S2, dt, np.zeros((20000, 2)), 120, rng)[-1]  # 120 steps: ~12 slow times
        cov = xs.T @ xs / len(xs)
        err = np.sqrt((Sd @ Sd + np.outer(np.diag(Sd), np.diag(Sd))) / len(xs))  # Gaussian sample-covariance errors
        assert np.all(np.abs(cov - Sd) < 4 * err), (cov, Sd)
    assert np.abs(Sd[0, 0] / S2[0, 0] - 1) > 10 * err[0, 0] / S2[0, 0]


def test_lagged_covariance_matches_ou_simulation():
    """Replicas started from Gibbs (Sigma), fine ROS2 step: <x_a(tau) x_b(0)> = expm(-M tau) Sigma."""
    rng = np.random.default_rng(3)
    dt = 2e-3
    x0 = rng.normal(size=(40000, 2)) * np.sqrt(np.diag(S2))
    xs = _simulate(ros2_step_matrix(M2, dt), M2, S2, dt, x0, 750, rng)
    for k in (250, 750):
        meas = xs[k].T @ x0 / len(x0)
        pred = lagged_covariance(M2, S2, k * dt)[0]
        assert np.all(
            np.abs(meas - pred)
            < 4 * np.sqrt(np.diag(S2))[:, None] * np.sqrt(np.diag(S2)) / np.sqrt(len(x0)) + 0.01 * S2.max()
        )
    assert abs(pred[1, 0]) > 0.1 * np.sqrt(S2[0, 0] * S2[1, 1])  # the cross term is really tested


def test_batched_peak_on_two_mode_signal():
    """x3 = s + d, x4 = s - d with s, d exact AR(1) modes: the measured peak of C34 (value and lag)
    within 4 of its batch-means errors of the closed form, and those errors are finite and small."""
    a_s, a_f, dt, n = 1.0, 20.0, 0.01, 400_000  # 4000 slow times
    rng = np.random.default_rng(4)
    modes = []
    for a in (a_s, a_f):
        phi = np.exp(-a * dt)
        modes.append(lfilter([1.0], [1.0, -phi], rng.normal(size=n) * np.sqrt(0.5 * (1 - phi**2))))
    s, d = modes
    M, S = _symmetric(a_s, a_f)
    pk = predicted_peak(M, S, 1, 0, 1.0)
    bp = batched_peak(s + d, s - d, dt, 40, 20)
    assert 0 < bp["value_stderr"] < 0.02 and 0 < bp["lag_stderr"] < 0.05
    assert abs(bp["value"] - pk["value"]) < 4 * bp["value_stderr"]
    assert abs(bp["lag"] - pk["lag"]) < 4 * bp["lag_stderr"]
    with pytest.raises(ValueError, match="batches"):
        batched_peak(s[:1000], d[:1000], dt, 40, 20)


def test_ros2_step_matrix_and_linear_response_match_the_kernel():
    """One noise-free kernel step from T + delta e_k, k = each free particle, gives the columns of
    ros2_step_matrix(M, dt) with M from linear_response (nonlinearity ~ delta/T)."""
    net = Network([[0, 0, 0], [3 * R, 0, 0], [0, 5 * R, 0], [3 * R, 5 * R, 0]], R, "SiC", model="dipole")
    p = NetworkParams(
        net, ["thermostat", "thermostat", "free", "free"], [300.0, 300.0], T_init=300.0, environment=False
    )
    s = NetworkSystem(p)
    M, Sigma = linear_response(s, 300.0)
    np.testing.assert_allclose(np.diag(Sigma), 1.380649e-23 * 300.0**2 / p.C[2:], rtol=1e-12)
    assert np.allclose(Sigma, np.diag(np.diag(Sigma)))
    dt = 0.5 / np.linalg.eigvals(M).real.max()  # coarse: R differs from expm(-M dt) visibly
    s = NetworkSystem(
        NetworkParams(net, p.roles, [300.0, 300.0], T_init=300.0, environment=False, dt=dt), tables=s.tables
    )
    delta = 1e-4
    cols = []
    for k in (2, 3):
        st = s.initial_state()
        st.T[k] += delta
        s.advance(st, 1)
        cols.append((st.T[2:] - 300.0) / delta)
    np.testing.assert_allclose(np.array(cols).T, ros2_step_matrix(M, dt), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_drag_noise_quick_checks(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "sim", "run", "drag-noise", "--quick", "--quiet", "--out", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=600)
    summary = json.loads((out / "summary.json").read_text())
    checks = summary["checks"]
    assert len(checks) == 6 * len(summary["per_h"])
    failed = [k for k, v in checks.items() if v is not True]
    assert not failed, failed
    assert (out / "figures" / "drag_noise.png").exists()


def test_noisy_run_at_the_largest_accepted_step_stays_on_the_exact_discrete_law():
    """drag-noise's dimer at h = 3R and the largest a_max dt its a_dt key accepts, 2e5 steps: the
    passive temperatures stay bounded (inside 7 standard deviations) and their means (0) and
    variances match the discrete scheme's exact stationary covariance, which is measurably not
    kB T^2 / C there (the bias the scenario's expectations carry)."""
    from sim import scenario
    from sim.stats import block_average
    from sim_scenarios import drag_noise

    cfg = scenario.get("drag-noise").defaults(True) | {"a_dt": drag_noise.KEYS["a_dt"].high}
    pred = drag_noise.prediction(cfg, 3 * R)
    dt = drag_noise.plan(cfg, pred)["dt"]
    s, _ = drag_noise._system(cfg, 3 * R, 5, dt=dt, tables=pred["system"].tables)
    st = s.initial_state()
    s.advance(st, 200)
    x = np.empty((50_000, 2))
    for k in range(len(x)):
        s.advance(st, 4)
        x[k] = st.T[2:] - cfg["T"]
    M, Sigma = pred["M"], pred["Sigma"]
    Sd = discrete_stationary_covariance(ros2_step_matrix(M, dt), M, Sigma, dt)
    assert np.all(np.abs(x) < 7 * np.sqrt(np.diag(Sd)))
    for i in range(2):
        mean, var = block_average(x[:, i]), block_average(x[:, i] ** 2)
        assert abs(mean["mean"]) < 4 * mean["stderr"]
        assert abs(var["mean"] - Sd[i, i]) < 4 * var["stderr"], (var, Sd[i, i])
        assert abs(Sd[i, i] - Sigma[i, i]) > 10 * var["stderr"]
