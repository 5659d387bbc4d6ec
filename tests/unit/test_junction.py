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
    assert large == pytest.approx(4 / (math.pi * 10), rel=5e-3)  # the large-beta_c (Melnikov) limit
    at4 = junction.retrapping_current(4.0, tol=1e-5)
    assert 0.05 < 4 / (math.pi * 2) / at4 - 1 < 0.08  # that limit is ~6 % high at beta_c = 4
    assert junction.keeps_running(at4 + 1e-3, 4.0) and not junction.keeps_running(at4 - 1e-3, 4.0)
    assert junction.winding_rate(at4 + 0.01, 4.0) > 0.2 and junction.winding_rate(at4 - 0.01, 4.0) == 0.0
    assert junction.retrapping_current(0.5, tol=1e-5) == pytest.approx(1.0, abs=1e-4)  # no hysteresis there


def test_a_shapiro_drive_locks_to_whole_multiples_and_reduces_to_dc_without_modulation():
    assert junction.ac_rate(2.0, 0.0, 1.0, 0.08) == pytest.approx(junction.winding_rate(2.0, 0.08), rel=2e-3)
    for i0, n in ((0.1, 0), (1.0, 1), (2.2, 2)):  # inside steps 0, 1, 2 at i1 = 2, Omega = 1 (the rod's case)
        rate = junction.ac_rate(i0, 2.0, 1.0, 0.08, periods=100)
        assert rate == pytest.approx(n, abs=1e-9) and junction.on_step(n, rate, 1.0, 100)
    between = junction.ac_rate(1.75, 2.0, 1.0, 0.08, periods=100)
    assert not any(junction.on_step(n, between, 1.0, 100) for n in range(4))
    edge = junction.bisect_edge(
        lambda i0: junction.on_step(1, junction.ac_rate(i0, 2.0, 1.0, 0.08, periods=100), 1.0, 100), 1.0, 1.75, 1e-3
    )
    assert 1.55 < edge < 1.65  # the upper edge of step 1 (the scenario finds 1.611 with longer windows)


def test_step_edges_are_bisected_and_absent_where_the_step_reaches_the_sweep_end():
    from sim_scenarios.rod_shapiro import edges

    grid = [k / 10 for k in range(11)]
    assert edges(lambda x: x < 0.347, grid, (0, 3), 1e-5) == (None, pytest.approx(0.347, abs=1e-5))
    lower, upper = edges(lambda x: x > 0.612, grid, (7, 10), 1e-5)
    assert lower == pytest.approx(0.612, abs=1e-5) and upper is None  # no edge found past max_ratio: none reported


def test_switching_current_is_delayed_past_the_critical_current_as_a_saddle_node():
    """A slow ramp switches just above i = 1, later the faster it goes: i_s - 1 ~ rate^(2/3)
    (the delay at a saddle-node bifurcation); held below i = 1 it never switches."""
    slow, slower = (junction.switching_current(4.0, r, 1.5) for r in (1e-3, 1.25e-4))
    assert 1.0 < slower < slow < 1.1
    assert (slow - 1) / (slower - 1) == pytest.approx(8 ** (2 / 3), rel=0.1)
    assert math.isnan(junction.switching_current(4.0, 1e-2, 0.95))


def test_a_junction_step_narrower_than_the_search_step_is_found_and_an_absent_one_ends_the_search(monkeypatch):
    """The search from the rod's edge into the junction's step used to step 10 tol at a time
    forever when the step was narrower (edge_tol = 0.1 hung rod-shapiro)."""
    import signal

    from sim_scenarios import rod_shapiro

    def fail(*_):
        raise TimeoutError("the bracket search did not end")

    signal.signal(signal.SIGALRM, fail)
    signal.alarm(20)
    try:
        cfg = {"max_ratio": 0.5, "modulation_ratio": 0.5, "w_d_ratio": 1.0, "periods": 10, "settle_periods": 1}
        # a mean rate on step 1 (rate = w_d) only for drives in [0.30, 0.37]: 0.07 wide, < 10 tol = 1.0
        monkeypatch.setattr(rod_shapiro.junction, "ac_rate", lambda i0, *a, **k: 1.0 if 0.30 <= i0 <= 0.37 else 0.5)
        lower, upper = rod_shapiro.junction_edges(cfg, 0.0, 1, (0.29, 0.38), tol=0.1)
        assert lower == pytest.approx(0.30, abs=0.1) and upper == pytest.approx(0.37, abs=0.1)
        # no drive of the sweep is on step 1: no edges, and the search ends
        monkeypatch.setattr(rod_shapiro.junction, "ac_rate", lambda i0, *a, **k: 0.5)
        assert rod_shapiro.junction_edges(cfg, 0.0, 1, (0.29, 0.38), tol=0.1) == (None, None)
    finally:
        signal.alarm(0)
