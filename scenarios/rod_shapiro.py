"""rod-shapiro: phase locking of the weak-link oscillation to a modulated reservoir (Shapiro steps).

The overdamped weak-link rod of ``rod-ac`` with the hot reservoir's temperature modulated
at w_d: T_L(t) = T_R + dT + A sin(w_d t). The mean winding rate of the phase across the
weak link, measured from the trajectory over whole drive periods, locks to n w_d over
finite ranges of the mean drive: steps, as in a Josephson junction under microwaves.
"""

from __future__ import annotations

import numpy as np

from scenarios.rod_ac import locking_threshold, weak_link_params
from sim.config_keys import REDUCED, Key
from sim.progress import progress
from sim.rod import keys as rod_keys
from sim.rod.analysis import adler_frequency, winding_rate
from sim.rod.runner import load, simulate
from sim.scenario import scenario
from sim.schedule import Schedule
from sim.viz.plots import new_figure, save

LOCK_TOL = 1e-3  # a point is on step n when its winding rate is within 0.1 % of n w_d

KEYS = {
    **rod_keys.WEAK_LINK,
    "C": Key("heat capacity per ring (small: the overdamped regime)", unit=REDUCED, low=0.5),
    **rod_keys.LAW,
    "T_mean": Key("cold (right) reservoir temperature, at which d_omega_c is evaluated", unit=REDUCED, low=0,
                  low_open=True),
    "dt": Key("largest time step (lowered so that a drive period is a whole number of steps)", unit=REDUCED, low=0,
              low_open=True),
    "w_d_ratio": Key("drive (modulation) frequency w_d / d_omega_c", low=0, low_open=True),
    "modulation_ratio": Key("amplitude of the modulation of d_omega, over d_omega_c (0: no modulation)", low=0),
    "max_ratio": Key("largest mean drive d_omega / d_omega_c of the sweep (which starts at 0)", low=0, low_open=True),
    "points": Key("mean drives in the sweep, evenly spaced from 0 to max_ratio", "integer", low=2),
    "periods": Key("drive periods averaged per point (after the settling time)", "integer", low=1),
    "frames_per_period": Key("recorded frames per drive period", "integer", low=1),
}


def defaults(quick: bool) -> dict:
    return {
        "n_half": 4, "K": 5.0, "K_w": 0.005, "k": 0.5, "C": 1.0,
        "law": {"name": "linear", "w_ref": 1.0, "beta": 0.5, "T_ref": 1.0},
        "T_mean": 1.0, "dt": 0.1,     # largest time step; adjusted so a drive period is whole steps
        "w_d_ratio": 1.0,          # drive frequency / d_omega_c
        # modulation amplitude of d_omega / d_omega_c: 2 gives steps n = 1..3 of comparable width
        # (in the fast-drive limit step n is ~ |J_n(modulation / w_d)| wide)
        "modulation_ratio": 2.0,
        "max_ratio": 3.5,          # largest mean drive d_omega / d_omega_c
        "points": 36 if quick else 106,
        "periods": 30 if quick else 80,  # drive periods averaged per point
        "frames_per_period": 16,
        "seed": 0,
    }


def run_point(cfg, ratio, ctx) -> dict:
    d_omega_c, slope = locking_threshold(cfg)
    w_d = cfg["w_d_ratio"] * d_omega_c
    T_L = Schedule("sinusoid", T0=cfg["T_mean"] + ratio * d_omega_c / slope,
                   amplitude=cfg["modulation_ratio"] * d_omega_c / slope, w=w_d)
    # a drive period is a whole number of steps, frames fall on exact fractions of it, and the
    # winding is measured over whole periods (a fraction of one would bias the mean rate)
    period = 2 * np.pi / w_d
    record_every = int(np.ceil(period / (cfg["frames_per_period"] * cfg["dt"])))
    steps_per_period = cfg["frames_per_period"] * record_every
    params, w = weak_link_params(cfg | {"dt": period / steps_per_period}, cfg["C"], 1, T_L, cfg["T_mean"])
    n_settle = int(np.ceil(max(20.0 * cfg["C"] * cfg["n_half"] / cfg["k"], 5 * period) / period))
    nsteps = (n_settle + cfg["periods"]) * steps_per_period
    path = ctx.path("timeseries", f"shapiro_drive{ratio:.4f}.h5")
    simulate(params, nsteps, record_every, path=path, progress=False, ctx=ctx)
    d = load(path, ["twist"], t_start=(n_settle - 0.01) * period)
    return {"d_omega": ratio * d_omega_c, "drive_ratio": ratio,
            "winding_rate": winding_rate(d["time"], d["twist"][:, w]), "w_d": w_d, "d_omega_c": d_omega_c}


def find_steps(points, w_d) -> list[dict]:
    """Group points whose winding rate is n w_d (within LOCK_TOL) into steps n = 0, 1, 2, ..."""
    steps = []
    rates = np.array([p["winding_rate"] for p in points])
    drives = np.array([p["d_omega"] for p in points])
    for n in range(int(rates.max() / w_d) + 2):
        on = np.abs(rates - n * w_d) <= LOCK_TOL * max(n, 1) * w_d
        if on.any():
            steps.append({"n": n, "expected_rate": n * w_d, "measured_rate": float(rates[on].mean()),
                          "d_omega_from": float(drives[on].min()), "d_omega_to": float(drives[on].max()),
                          "points": int(on.sum())})
    return steps


def plot(points, steps, cfg, ctx) -> None:
    fig, ax = new_figure(1, 1, width=6.5, height=4.5)
    a = ax[0, 0]
    d_omega_c, w_d = points[0]["d_omega_c"], points[0]["w_d"]
    x = np.array([p["d_omega"] for p in points]) / d_omega_c
    a.plot(x, np.array([p["winding_rate"] for p in points]) / w_d, "o", ms=3, label="measured (modulated reservoir)")
    xf = np.linspace(0, x.max(), 400)
    a.plot(xf, adler_frequency(xf, 1.0) / cfg["w_d_ratio"], "k:", lw=1, label="Adler, no modulation")
    for s in steps:
        a.axhline(s["n"], color="C3", lw=0.6, ls="--")
    a.set(xlabel="mean drive d_omega / d_omega_c", ylabel="mean winding rate / w_d",
          title=f"Shapiro steps: w_d = {cfg['w_d_ratio']:g} d_omega_c, modulation {cfg['modulation_ratio']:g} d_omega_c")
    a.legend()
    save(fig, ctx.path("figures", "rod_shapiro.png"))


@scenario("rod-shapiro", "phase locking of the weak-link oscillation to a modulated reservoir: Shapiro steps",
          defaults, KEYS)
def run(cfg, ctx) -> dict:
    ratios = np.linspace(0.0, cfg["max_ratio"], cfg["points"])
    points = []
    for ratio in progress(ratios, desc="drive sweep", quiet=ctx.quiet, leave=False):
        points.append(run_point(cfg, float(ratio), ctx))
    w_d = points[0]["w_d"]
    steps = find_steps(points, w_d)
    plot(points, steps, cfg, ctx)
    found = {s["n"] for s in steps if s["points"] >= 2}
    checks = {
        "steps_0_1_2_present": {0, 1, 2} <= found,
        "plateaus_at_n_w_d": all(abs(s["measured_rate"] - s["expected_rate"]) <= LOCK_TOL * max(s["n"], 1) * w_d
                                 for s in steps),
    }
    for s in steps:
        ctx.log(f"  step n={s['n']}: rate {s['measured_rate']:.6g} (n w_d = {s['expected_rate']:.6g}) "
                f"for d_omega in [{s['d_omega_from']:.4g}, {s['d_omega_to']:.4g}]")
    return {"scenario": "rod-shapiro", "w_d": w_d, "d_omega_c": points[0]["d_omega_c"], "steps": steps,
            "sweep": [{k: p[k] for k in ("d_omega", "winding_rate")} for p in points], "checks": checks}
