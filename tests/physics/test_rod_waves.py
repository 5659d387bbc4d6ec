"""Small disturbances of the uniform rod: second sound (docs/model.md §A4.5) and the rotor law's instability.

Fast tests check the measuring pieces on signals with a known answer; the slow tests run the
scenarios' --quick configurations and check their summaries.
"""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.special import jv

from sim.rod.linear import effective_inertia, fastest_mode, front_speed, linearised_generator, second_sound_speed
from sim.rod.model import Linear, RodParams, Rotor, domega0_dT
from sim.stats import exponential_growth_rate, least_squares, peak_times


def _rotor_rod(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UnstableClockLawWarning: expected for this law
        base = dict(
            N=12, C=2.0, K=5.0, law=Rotor(1.0, 0.25, 1.0), k_L=0.0, k_R=0.0, T_L=0.1, T_R=0.1, dt=0.05, noise=False
        )
        return RodParams(**(base | kw))


# --------------------------------------------------------------------------- fit helpers
def test_least_squares_errors_match_the_scatter(rng):
    """Line with Gaussian noise: the slope is found within its error, and the error is sigma/sqrt(Sxx)."""
    x = np.linspace(0, 10, 400)
    sigma = 0.3
    fit = least_squares(np.column_stack([x, np.ones_like(x)]), 2.5 * x - 1.0 + sigma * rng.standard_normal(x.size))
    expected_se = sigma / np.sqrt(np.sum((x - x.mean()) ** 2))
    assert fit["stderr"][0] == pytest.approx(expected_se, rel=0.15)  # s^2 from 398 dof: +-7 % (2 sigma)
    assert abs(fit["coef"][0] - 2.5) < 4 * fit["stderr"][0]
    with pytest.raises(ValueError, match="more points than parameters"):
        least_squares(np.ones((2, 2)), np.ones(2))


def test_peak_times_are_exact_for_a_parabolic_peak():
    t = np.arange(0, 20, 0.5)
    peaks = np.array([7.3, 12.81])
    y = 1.0 - (t[:, None] - peaks[None, :]) ** 2
    assert np.allclose(peak_times(t, y), peaks, atol=1e-12)
    with pytest.raises(ValueError, match="edge of the record"):
        peak_times(t, -t[:, None])


def test_exponential_growth_rate_uses_the_growth_window():
    """Growth at 1.7 from 1e-12, then saturation at 1: the window [1e-8, 1e-2] sees only the growth."""
    t = np.arange(0, 30, 0.05)
    a = 1e-12 * np.exp(1.7 * t)
    a = a / (1 + a)  # logistic saturation: exp growth while a << 1
    fit = exponential_growth_rate(t, a, 1e-8, 1e-2)
    assert fit["rate"] == pytest.approx(1.7, rel=1e-3)  # the logistic bends by a <= 1e-2 at the top
    assert np.exp(1.7 * fit["t_start"]) * 1e-12 == pytest.approx(1e-8, rel=0.1)
    with pytest.raises(ValueError, match="no amplitude inside"):
        exponential_growth_rate(t, a, 2.0, 3.0)


# --------------------------------------------------------------------------- second sound
def test_front_speed_of_an_exact_heat_pulse():
    """T_n(t) = J_2n(2 w_p t) is the exact linear response of the chain to a heat pulse on ring 0;
    sampled like the scenario does, its first peaks give w_p to the Airy law's accuracy."""
    w_p = 0.2236
    t = np.arange(0.0, 900.0, 2.0)
    n = np.arange(20, 181)
    signal = jv(2 * n[None, :], 2 * w_p * t[:, None])
    fit = front_speed(n, peak_times(t, signal))
    assert fit["speed"] == pytest.approx(w_p, rel=2e-4)
    assert fit["spreading_coefficient"] == pytest.approx(1.018793 / (2 * w_p), rel=0.02)
    # the straight line misses the n^(1/3) lag of the front: ~1 % slow here, outside the Airy fit's error
    assert fit["speed_straight"] < w_p * (1 - 0.005)


def test_second_sound_speed_and_effective_inertia():
    law = Linear(w_ref=1.0, beta=0.5, T_ref=1.0)  # omega0 omega0' = 0.5 at T = 1
    assert effective_inertia(law, 1.0, C=50.0) == pytest.approx(100.0, rel=1e-8)
    assert second_sound_speed(law, 1.0, K=5.0, C=50.0) == pytest.approx(np.sqrt(0.05), rel=1e-8)
    assert effective_inertia(Rotor(), 0.1, C=2.0) < 0
    with pytest.raises(ValueError, match="omega0\\*domega0/dT < 0 at T0 = 0.1: no second sound"):
        second_sound_speed(Rotor(), 0.1, K=5.0, C=2.0)


# --------------------------------------------------------------------------- linearised modes
def test_closed_rod_modes_match_the_chain_dispersion():
    """Free ends: allowed q_j = pi j / N; growth rates 2 sqrt(K |w w'| / C) sin(q_j / 2) for the rotor law,
    oscillation frequencies 2 sqrt(K w w' / C) sin(q_j / 2) for a stable law."""
    N, K, C, T0 = 12, 5.0, 2.0, 0.1
    q = np.pi * np.arange(N) / N
    law = Rotor(1.0, 0.25, 1.0)
    ww = float(law.omega0(T0) * domega0_dT(law, T0))
    lam = np.linalg.eigvals(linearised_generator(_rotor_rod(N=N), T0))
    growth = np.sort(lam.real)[-N:]  # the growing half of each +-gamma pair (and the zero modes)
    expected = 2 * np.sqrt(K * abs(ww) / C) * np.sin(q / 2)
    assert np.allclose(growth[1:], expected[1:], atol=1e-9)
    # the uniform rotation (q = 0) is a defective double zero: LAPACK splits it by ~sqrt(round-off)
    # in both the real and the imaginary part, so it is held to that scale, not to 1e-9
    assert abs(growth[0]) < 1e-7
    assert np.allclose(lam.imag, 0.0, atol=1e-7)
    rate, vec = fastest_mode(_rotor_rod(N=N), T0)
    assert rate == pytest.approx(2 * np.sqrt(K * abs(ww) / C) * np.sin(q[-1] / 2), rel=1e-12)
    dE = vec[N:]
    assert np.all(np.sign(dE[:-1]) != np.sign(dE[1:]))  # the fastest mode is the zig-zag

    stable = RodParams(
        N=N,
        C=C,
        K=K,
        law=Linear(w_ref=float(law.omega0(T0)), beta=abs(ww) / float(law.omega0(T0)) ** 2, T_ref=T0),
        k_L=0.0,
        k_R=0.0,
        T_L=T0,
        T_R=T0,
        dt=0.05,
        noise=False,
    )
    lam = np.linalg.eigvals(linearised_generator(stable, T0))
    assert np.allclose(lam.real, 0.0, atol=1e-7)
    freq = np.sort(np.abs(lam.imag))[::2]
    assert np.allclose(freq, 2 * np.sqrt(K * abs(ww) / C) * np.sin(q / 2), atol=1e-7)


def test_bath_contacts_damp_and_must_sit_at_T0():
    rate_closed, _ = fastest_mode(_rotor_rod(), 0.1)
    rate_baths, _ = fastest_mode(_rotor_rod(k_L=0.05, k_R=0.05), 0.1)
    assert 0 < rate_baths < rate_closed
    with pytest.raises(ValueError, match="T_R = .* is not a constant bath at T0 = 0.1"):
        linearised_generator(_rotor_rod(k_R=0.05, T_R=0.12), 0.1)


def test_two_rings_at_a_barrier_top_grow_at_the_lumped_rate():
    """Two rings, each with a contact k, their link at a saddle (torque slope -kappa): the phase
    difference obeys M psi'' + eta psi' = kappa psi with M = C/(2 w w'), eta = k/(2 w w'), so
    the growth rate is [-eta/M + sqrt((eta/M)^2 + 4 kappa/M)] / 2."""
    C, k, kappa, T0 = 3.0, 0.7, 0.4, 1.0
    law = Linear(w_ref=1.0, beta=0.5, T_ref=1.0)
    p = RodParams(N=2, C=C, K=1.0, law=law, k_L=k, k_R=k, T_L=T0, T_R=T0, dt=0.05, noise=False)
    ww = float(law.omega0(T0) * domega0_dT(law, T0))
    M, eta = C / (2 * ww), k / (2 * ww)
    expected = 0.5 * (-eta / M + np.sqrt((eta / M) ** 2 + 4 * kappa / M))
    lam = np.linalg.eigvals(linearised_generator(p, T0, link_slopes=[-kappa]))
    assert lam.real.max() == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"link_slopes has shape \(2,\); allowed: \(1,\)"):
        linearised_generator(p, T0, link_slopes=[1.0, 2.0])


# --------------------------------------------------------------------------- the scenarios
def _run_quick(name, tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", name, "--quick", "--quiet", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    failed = [k for k, v in summary["checks"].items() if v is not True]
    assert not failed, (failed, summary)
    return summary


@pytest.mark.slow
def test_quick_second_sound_meets_every_tolerance(tmp_path):
    s = _run_quick("rod-second-sound", tmp_path)
    assert s["relative_error"] == pytest.approx(s["wave_speed_measured"] / s["wave_speed_expected"] - 1, abs=1e-12)
    assert abs(s["relative_error"]) <= 0.03
    assert s["wave_speed_stderr"] < 0.01 * s["wave_speed_expected"]
    assert s["wave_speed_expected"] == pytest.approx(np.sqrt(s["K"] / s["effective_inertia"]), rel=1e-9)
    assert (tmp_path / "figures" / "rod_second_sound.png").stat().st_size > 10_000


@pytest.mark.slow
def test_quick_rotor_instability_is_detected_and_grows_at_the_linear_rate(tmp_path):
    s = _run_quick("rod-rotor-instability", tmp_path)
    assert s["unstable_detected"] is True
    assert "runaway at step" in s["diagnosis"] and "omega0*domega0/dT < 0" in s["diagnosis"]
    assert any("omega0*domega0/dT < 0" in w for w in s["setup_warnings"])  # the set-up warning, recorded
    assert s["effective_inertia"] < 0
    assert abs(s["growth_rate_measured"] / s["growth_rate_expected"] - 1) <= 0.05
    # the closed rod's fastest allowed mode is just below the infinite rod's zig-zag rate
    N = s["N"]
    assert s["growth_rate_expected"] == pytest.approx(
        s["growth_rate_zigzag_infinite_rod"] * np.sin(np.pi * (N - 1) / (2 * N)), rel=1e-9
    )
    assert s["fit_window_time"][0] < s["fit_window_time"][1] < s["t_stop"] < 100.0  # stopped on its own
    assert s["stable_law_stopped"] is None and s["stable_law_max_spread_ratio"] < 10
    assert (tmp_path / "figures" / "rod_rotor_instability.png").stat().st_size > 10_000
