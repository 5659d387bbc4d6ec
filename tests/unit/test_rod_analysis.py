import numpy as np
import pytest

from sim.rod.analysis import adler_frequency, count_slips, peak_frequency, winding_rate


def test_peak_frequency_finds_the_line_to_sub_bin_accuracy(rng):
    dt, n = 0.5, 4000
    t = np.arange(n) * dt
    w0 = 0.0371  # not on a bin: bins are 2 pi / (n dt) = 0.00314 apart
    x = 1.0 * np.sin(w0 * t + 0.3) + 0.3 * np.sin(2 * w0 * t) + 0.1 * rng.standard_normal(n) + 5.0
    assert peak_frequency(x, dt) == pytest.approx(w0, rel=2e-3)
    assert peak_frequency(np.full(100, 2.0), dt) == 0.0
    # f_min excludes a stronger low-frequency line
    y = 3.0 * np.sin(0.01 * t) + np.sin(0.5 * t)
    assert peak_frequency(y, dt, f_min=0.1) == pytest.approx(0.5, rel=2e-3)


def test_count_slips_on_a_constructed_trace():
    # 3 forward slips of 2 pi, then 1 backward, with wiggles below half a turn
    phi = np.concatenate([np.linspace(0, 6 * np.pi, 300), np.linspace(6 * np.pi, 4 * np.pi, 100)])
    phi += 0.4 * np.sin(np.arange(phi.size))
    s = count_slips(phi)
    assert s["net"] == 2 and s["total"] == 4 and len(s["times"]) == 4
    s2 = count_slips(phi, m=2)  # branches every pi
    assert s2["net"] == 4 and s2["total"] == 8
    assert count_slips(0.9 * np.sin(np.linspace(0, 50, 500)))["total"] == 0  # no slip: |phi| < pi
    with pytest.raises(ValueError, match="m = 0 is out of range"):
        count_slips(phi, m=0)


def test_adler_closed_form():
    assert adler_frequency(0.02, 0.01) == pytest.approx(np.sqrt(3e-4))
    assert adler_frequency(0.005, 0.01) == 0.0
    assert adler_frequency(0.006, 0.01, m=2) == pytest.approx(np.sqrt(0.012**2 - 1e-4))
    assert np.allclose(adler_frequency(np.array([0.0, 1.0]), 0.5), [0.0, np.sqrt(0.75)])


def test_winding_rate():
    t = np.linspace(0, 10, 11)
    assert winding_rate(t, 0.3 * t + 1) == pytest.approx(0.3)
