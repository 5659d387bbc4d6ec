"""The Josephson-junction reference of the weak link (sim.rod.junction): limits and retrapping."""

import math

import pytest

from sim.rod import junction


@pytest.mark.parametrize("i", [1.2, 2.0, 4.0])
def test_overdamped_limit_is_adler(i):
    assert junction.winding_rate(i, 0.0) == math.sqrt(i * i - 1)
    assert junction.winding_rate(i, 1e-4) == pytest.approx(math.sqrt(i * i - 1), rel=3e-4)
    assert junction.winding_rate(0.9, 0.0) == 0.0


def test_finite_capacitance_speeds_up_the_running_state_towards_the_bias():
    """At fixed bias the running rate grows with beta_c, from Adler's sqrt(i^2 - 1) towards i."""
    rates = [junction.winding_rate(1.5, b) for b in (0.0, 0.08, 1.0, 50.0)]
    assert rates == sorted(rates) and rates[0] == pytest.approx(math.sqrt(1.25)) and rates[-1] < 1.5
    assert junction.winding_rate(5.0, 50.0) == pytest.approx(5.0, rel=1e-3)


def test_retrapping_current():
    large = junction.retrapping_current(100.0, tol=1e-5)
    assert large == pytest.approx(4 / (math.pi * 10), rel=5e-3)       # the large-beta_c (Melnikov) limit
    at4 = junction.retrapping_current(4.0, tol=1e-5)
    assert 0.05 < 4 / (math.pi * 2) / at4 - 1 < 0.08                   # that limit is ~6 % high at beta_c = 4
    assert junction.keeps_running(at4 + 1e-3, 4.0) and not junction.keeps_running(at4 - 1e-3, 4.0)
    assert junction.winding_rate(at4 + 0.01, 4.0) > 0.2 and junction.winding_rate(at4 - 0.01, 4.0) == 0.0
    assert junction.retrapping_current(0.5, tol=1e-5) == pytest.approx(1.0, abs=1e-4)  # no hysteresis there
