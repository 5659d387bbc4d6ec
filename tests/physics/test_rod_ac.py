"""AC Josephson, critical current and Shapiro steps: closed forms of docs/model.md §A4.4 and A4.6."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sim.rod.analysis import adler_frequency, adler_parameters, winding_rate
from sim.rod.model import RodParams, weak_link_couplings
from sim.rod.runner import simulate
from sim.schedule import Schedule


def _weak_link_rod(drive_ratio, m=1, C=1.0, K_w=0.005, k=0.5):
    """Two 4-ring halves, weak link 3, m d_omega = drive_ratio * d_omega_c (linear law, beta 0.5)."""
    d_omega_c = 1.0 * 0.5 * K_w * 2 / k
    dT = drive_ratio * d_omega_c / (m * 0.5)
    return RodParams(
        N=8,
        C=C,
        K=weak_link_couplings(8, 5.0, K_w, 3),
        m=m,
        k_L=k,
        k_R=k,
        T_L=1 + dT / 2,
        T_R=1 - dT / 2,
        dt=0.1,
        noise=False,
    )


@pytest.mark.parametrize("m", [1, 2])
def test_overdamped_weak_link_winds_at_the_adler_frequency(m):
    p = _weak_link_rod(2.0, m=m)
    d_omega, d_omega_c = adler_parameters(p.law, p.T_L.T0, p.T_R.T0, 0.005, 0.5, 0.5)
    expected = float(adler_frequency(d_omega, d_omega_c, m))
    t_total = 200 + 10 * 2 * np.pi / expected
    run = simulate(p, int(t_total / 0.1), record_every=50, progress=False)
    t = np.asarray(run.recorder.times)
    psi = m * run.recorder.data["twist"][:, 3]
    keep = t > 200
    assert winding_rate(t[keep], psi[keep]) == pytest.approx(expected, rel=0.02)


def test_locked_weak_link_carries_the_dc_current():
    p = _weak_link_rod(0.7)
    run = simulate(p, 60_000, record_every=100, progress=False)
    d = run.recorder.data
    t = np.asarray(run.recorder.times)
    keep = t > 2000
    assert abs(winding_rate(t[keep], d["twist"][keep, 3])) < 1e-6
    J = winding_rate(t[keep], d["link_heat"][keep, 3])
    assert J == pytest.approx((p.T_L.T0 - p.T_R.T0) / 4.0, rel=0.01)  # dT / (1/k_L + 1/k_R)


def test_weak_link_outside_the_rod_is_refused():
    with pytest.raises(ValueError, match=r"weak_link = 7 is out of range; allowed: weak_link >= 0 and weak_link <= 6"):
        weak_link_couplings(8, 5.0, 0.01, 7)
    with pytest.raises(ValueError, match=r"weak_link = -1 is out of range"):
        weak_link_couplings(8, 5.0, 0.01, -1)


def test_drive_schedule_with_negative_temperature_is_refused():
    with pytest.raises(ValueError, match=r"schedule.amplitude = 1.2 .*allowed: schedule.amplitude < 1"):
        RodParams(N=4, T_L=Schedule("sinusoid", T0=1.0, amplitude=1.2, w=0.1))


def _quick(name, tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", name, "--quick", "--quiet", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    failed = [k for k, v in summary["checks"].items() if v is False]
    assert not failed, summary["checks"]
    return summary


@pytest.mark.slow
def test_rod_ac_quick_meets_every_tolerance(tmp_path):
    s = _quick("rod-ac", tmp_path)
    running = [c for c in s["cases"] if not c["locked"]]
    assert running and all(abs(c["omega_peak_measured"] / c["omega_peak_expected"] - 1) < 0.02 for c in running)
    up, down = s["inertial_sweeps"]["up"], s["inertial_sweeps"]["down"]
    assert up["beta_c"] > 1 and down["switch_d_omega"] < up["switch_d_omega"]  # hysteresis when inertial
    switching = sorted(s["switching_vs_sweep_rate"], key=lambda x: x["rate"])
    assert len(switching) >= 3 and all(
        abs(x["switching_measured"] - x["switching_junction"]) <= 0.005 for x in switching
    )
    assert 1 < switching[0]["switching_measured"] < switching[-1]["switching_measured"]


@pytest.mark.slow
def test_rod_critical_quick_meets_every_tolerance(tmp_path):
    s = _quick("rod-critical", tmp_path)
    assert abs(s["J_c_measured"] / s["J_c_expected"] - 1) < 0.02


@pytest.mark.slow
def test_rod_shapiro_quick_meets_every_tolerance(tmp_path):
    s = _quick("rod-shapiro", tmp_path)
    assert {0, 1, 2} <= {step["n"] for step in s["steps"]}


@pytest.mark.slow
def test_rod_noise_quick_meets_every_tolerance(tmp_path):
    s = _quick("rod-noise", tmp_path)
    for kind in ("super", "normal"):
        r = s[kind]
        assert abs(r["S0_equilibrium"] / r["fdt_2T2G"] - 1) < 4 * r["S0_equilibrium_stderr"] / r["fdt_2T2G"] + 0.01


@pytest.mark.slow
def test_rod_slip_statistics_quick_meets_every_tolerance(tmp_path):
    s = _quick("rod-slip-statistics", tmp_path)
    assert s["kramers_points"] >= 3
    assert all(s["checks"].values()), s["checks"]
    # lumped halves give too much friction: their Kramers rate falls short of the measured rates
    r = np.array([p["rate_over_kramers"] for p in s["points"]])
    w = 1 / np.array([p["rate_over_kramers_stderr"] for p in s["points"]]) ** 2
    assert np.sum(w * r) / np.sum(w) - 3 / np.sqrt(np.sum(w)) > 1
