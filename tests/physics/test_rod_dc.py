"""The DC heat supercurrent emerges from the dynamics (docs/model.md §A4.1-A4.3, A4.7)."""

import numpy as np
import pytest

from sim.rod.runner import simulate
from sim.stats import block_average, rate_from_cumulative


def within_sigma(measured, expected, stderr, k=4.0):
    """|measured - expected| <= k stderr: a stochastic test's tolerance follows its statistics."""
    return abs(measured - expected) <= k * stderr


def _steady(params, t_total, record_every=200):
    """Run to t_total; currents are rates over the second half (averaging the standing waves)."""
    run = simulate(params, int(t_total / params.dt), record_every=record_every, progress=False)
    d = run.recorder.data
    t = np.asarray(run.recorder.times)
    last = t >= 0.5 * t[-1]
    rate = lambda q: (q[last][-1] - q[last][0]) / (t[last][-1] - t[last][0])  # noqa: E731
    driven = params.T_L.T0 != params.T_R.T0
    assert not driven or d["entropy_production"][-1] > 0  # every driven run produces entropy
    return {
        "J_left": rate(d["Q_L"]),
        "J_right": rate(d["Q_R"]),
        "J_links": np.array([rate(d["link_heat"][:, i]) for i in range(params.N - 1)]),
        "torque_links": np.array([rate(d["link_impulse"][:, i]) for i in range(params.N - 1)]),
        "twist": d["twist"][-1],
        "T": d["T"][-1],
        "omega": d["omega"][-1],
        "supercurrent": d["supercurrent"][-1],
        "entropy": d["entropy_production"],
    }


# The Strang splitting's steady-state error is (k dt / C)^2 / 12 = 2.1e-6 at dt = 0.5 (checked
# by test_splitting_error_is_second_order); the steady-state checks allow 1e-5.
RTOL = 1e-5


def _series_conductance(k_L, k_R, g=None, N=None):
    r = 1 / k_L + 1 / k_R + (0 if g is None else (N - 1) / g)
    return 1 / r


@pytest.mark.parametrize("N", [4, 16, 64])
def test_super_rod_current_twist_and_uniform_temperature(rod_params, N):
    p = rod_params(N=N)
    s = _steady(p, t_total=40_000.0 * max(1, N // 32))
    J = 0.2 * _series_conductance(0.5, 0.5)  # A4.1: independent of N
    assert s["J_left"] == pytest.approx(J, rel=RTOL)
    assert -s["J_right"] == pytest.approx(J, rel=RTOL)
    assert np.allclose(s["J_links"], J, rtol=RTOL)  # every link carries the supercurrent (time average)
    w0 = 1.0  # linear law at T = 1
    assert np.allclose(s["torque_links"], J / w0, rtol=RTOL)  # Shi & Cheng Eq. 9
    # Instantaneous state: short twist waves standing in the interior lose energy only at the
    # ends and ring for ~1e5 time units (a zig-zag of < 1 % in the supercurrent here)
    assert np.allclose(s["supercurrent"], J, rtol=0.02)
    assert np.allclose(s["twist"], np.arcsin(J / (w0 * 5.0)), rtol=0.02)  # A4.2
    assert np.allclose(s["T"], 1.0, atol=1e-4)  # mean of the baths for equal contacts
    assert s["entropy"][-1] > 0 and np.all(np.diff(s["entropy"][len(s["entropy"]) // 2 :]) > 0)


def test_asymmetric_contacts_set_the_interior_temperature(rod_params):
    p = rod_params(N=12, k_L=0.8, k_R=0.3, dt=0.5)
    s = _steady(p, t_total=60_000.0)
    J = 0.2 * _series_conductance(0.8, 0.3)
    T_in = (0.8 * 1.1 + 0.3 * 0.9) / 1.1
    assert s["J_left"] == pytest.approx(J, rel=RTOL)
    assert np.allclose(s["T"], T_in, atol=1e-4)
    assert np.allclose(s["torque_links"], J / (1 + 0.5 * (T_in - 1)), rtol=RTOL)


@pytest.mark.parametrize(
    "torque,m,expected_twist",
    [
        ("harmonic", 1, lambda J, w, K: J / (w * K)),
        ("sine", 2, lambda J, w, K: np.arcsin(2 * J / (w * K)) / 2),
    ],
)
def test_twist_follows_the_link_law(rod_params, torque, m, expected_twist):
    p = rod_params(N=10, torque=torque, m=m, K=0.5 if torque == "harmonic" else 5.0)
    s = _steady(p, t_total=60_000.0)
    J = 0.2 * _series_conductance(0.5, 0.5)
    assert s["J_left"] == pytest.approx(J, rel=RTOL)
    assert np.allclose(s["twist"], expected_twist(J, 1.0, p.K[0]), rtol=0.02)


@pytest.mark.parametrize("N", [4, 16])
def test_normal_rod_follows_series_resistance(rod_params, N):
    p = rod_params(N=N, K=0.0, g=0.5)
    s = _steady(p, t_total=60.0 * 50 * N**2 / (np.pi**2 * 0.5) + 20_000)
    J = 0.2 * _series_conductance(0.5, 0.5, g=0.5, N=N)  # A4.3: falls like 1/N
    assert s["J_left"] == pytest.approx(J, rel=RTOL)
    assert np.allclose(s["J_links"], J, rtol=RTOL)
    # linear profile inside, with contact drops J/k at both ends
    assert np.allclose(s["T"], np.linspace(1.1 - J / 0.5, 0.9 + J / 0.5, N), atol=RTOL)


def test_equilibrium_gibbs_statistics_and_zero_current(rod_params):
    """T_L = T_R: the end ring's energy has mean C T and variance C T^2; no mean current."""
    C, T = 50.0, 1.0
    p = rod_params(N=4, C=C, T_L=T, T_R=T, noise=True, seed=12)
    run = simulate(p, 1_600_000, record_every=100, progress=False)
    d = run.recorder.data
    t = np.asarray(run.recorder.times)
    keep = t > 5_000
    E_end = d["T"][keep, 0] * C
    mean = block_average(E_end)
    second = block_average((E_end - C * T) ** 2)  # variance about the exact mean
    assert within_sigma(mean["mean"], C * T, mean["stderr"])
    assert within_sigma(second["mean"], C * T**2, second["stderr"])
    assert mean["stderr"] < 0.01 * C * T and second["stderr"] < 0.05 * C * T**2  # the test has power
    J = rate_from_cumulative(t[keep], d["Q_L"][keep])
    assert within_sigma(J["mean"], 0.0, J["stderr"]) and J["stderr"] < 2e-3
    assert d["entropy_production"][-1] > -10 * np.sqrt(C)  # fluctuates about 0, no drift


def test_splitting_error_is_second_order(rod_params):
    errors = []
    for dt in (1.0, 0.5):
        s = _steady(rod_params(N=4, dt=dt), t_total=40_000.0, record_every=int(200 / dt))
        errors.append(s["J_left"] / (0.2 * _series_conductance(0.5, 0.5)) - 1)
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.02)
    assert abs(errors[0]) == pytest.approx((0.5 * 1.0 / 50) ** 2 / 12, rel=0.05)  # (k dt / C)^2 / 12
