import numpy as np
import pytest

from sim.stats import block_average, cross_correlation, rate_from_cumulative


def _ar1(rng, phi, n):
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.9])
def test_block_average_recovers_the_autocorrelation_time_of_ar1(rng, phi):
    exact_tau = 0.5 * (1 + phi) / (1 - phi)
    taus = [block_average(_ar1(rng, phi, 2**16))["tau_int"] for _ in range(8)]
    # each estimate's relative error is ~ sqrt(2 / n_blocks) at the plateau; 8 replicas average it
    assert np.mean(taus) == pytest.approx(exact_tau, rel=0.12)
    assert not np.isclose(np.mean(taus), 0.5) or phi == 0.0


def test_naive_error_would_be_too_small_for_correlated_data(rng):
    x = _ar1(rng, 0.95, 2**16)
    naive = x.std(ddof=1) / np.sqrt(x.size)
    assert block_average(x)["stderr"] > 4 * naive


def test_rate_from_cumulative_is_the_end_point_rate(rng):
    t = np.arange(0, 1000.0, 1.0)
    q = 0.3 * t + rng.normal(0, 0.1, t.size).cumsum() * 0.01
    r = rate_from_cumulative(t, q, t_start=100.0)
    assert r["mean"] == pytest.approx((q[-1] - q[100]) / (t[-1] - t[100]))
    assert abs(r["mean"] - 0.3) < 5 * r["stderr"]


def test_block_average_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        block_average([1.0])


def test_zero_frequency_noise_slope_removes_a_bounded_offset(rng):
    """Q = Brownian motion (S0 = 2) plus a bounded, correlated wiggle (var 50): the slope
    estimator recovers S0 where var(dQ)/tau over one block length is biased by ~2*50/tau."""
    from sim_scenarios.rod_noise import zero_frequency_noise

    n, dt, tau_c = 400_000, 1.0, 20.0
    walk = np.cumsum(rng.normal(0, np.sqrt(2.0 * dt), n))
    x = np.zeros(n)
    a = np.exp(-dt / tau_c)
    noise = rng.normal(0, np.sqrt(50.0 * (1 - a * a)), n)
    for i in range(1, n):
        x[i] = a * x[i - 1] + noise[i]
    t = np.arange(n) * dt
    S0, err, _ = zero_frequency_noise(t, walk + x, tau_c, 5.0)
    # the error is the longest blocks' own: S0 sqrt(2 / (n_blocks - 1)), 500 blocks of 800 steps
    assert abs(S0 - 2.0) < 4 * err and err < 1.5 * 2.0 * np.sqrt(2 / 499)
    dQ = np.diff((walk + x)[:: int(5 * tau_c)])
    naive = np.var(dQ) / (5 * tau_c)
    assert naive > 2.0 + 4 * err  # the single-length estimate is visibly biased


def test_cross_correlation_matches_direct_sums():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=500), rng.normal(size=500)
    c = cross_correlation(x, y, 40)
    direct = [np.mean(x[: 500 - k] * y[k:]) for k in range(41)]
    np.testing.assert_allclose(c, direct, rtol=1e-10, atol=1e-14)
    # y delayed copy of x by 7 samples: the correlation sits at lag 7 only
    z = rng.normal(size=20000)
    c = cross_correlation(z[7:], z[:-7], 12)
    assert c[7] == pytest.approx(1.0, abs=0.03) and np.all(np.abs(np.delete(c, 7)) < 0.05)
    with pytest.raises(ValueError, match="max_lag"):
        cross_correlation(x, y, 500)
