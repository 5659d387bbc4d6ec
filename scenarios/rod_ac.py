"""rod-ac: the AC Josephson effect for heat across a weak link (docs/model.md §A4.6).

A rod of two stiff halves joined by a weak link K_w << K, each half on its own reservoir.
When the halves' clock rates differ by more than the locking threshold the phase across
the weak link winds and the link's heat current oscillates; below it the link locks and
carries a DC current. Measured from the trajectory: the spectral peak of the weak link's
heat current, its phase winding rate and its mean current. Yardstick: the Adler equation
d psi/dt = m d_omega - d_omega_c sin(psi), d_omega_c = omega0 omega0' K_w (1/k_L + 1/k_R).

The weak link is a current-biased, resistively and capacitively shunted junction with
beta_c = C_half d_omega_c / k (``sim.rod.junction``, integrated independently with
scipy). Overdamped regime (small C_half): beta_c = 0.08, close to the Adler limit
sqrt((m d_omega)^2 - d_omega_c^2); the rod runs about 0.3 % faster than Adler, which is that
finite beta_c: against the junction at the rod's beta_c the deviation is below 1e-3.
Inertial regime (large C_half, beta_c = 4): sweeping the drive up and down shows
hysteresis; the down sweep retraps at the junction's exact retrapping current
(0.597 d_omega_c at beta_c = 4; the large-beta_c formula 4/(pi sqrt(beta_c)) = 0.637 is 6 %
too high there), within the sweep's resolution. Switching vs sweep rate: ramps of both
reservoirs in antiphase (mean temperature, hence d_omega_c, fixed) from i = 0 at several
rates; the phase leaves its well later the faster the ramp (i_s - 1 ~ rate^(2/3), the delay
of a saddle-node), at the junction's switching current (``junction.switching_current``,
same ramp) within 0.005 d_omega_c (measured: 1e-4). The rod is deterministic here: thermal
escape, which would switch it early, is off.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullLocator
from scipy import signal

from sim.config_keys import REDUCED, Key
from sim.rod import junction
from sim.rod import keys as rod_keys
from sim.rod.analysis import (
    adler_frequency,
    adler_parameters,
    peak_frequency,
    winding_rate,
)
from sim.rod.junction import locking_threshold, weak_link_params
from sim.rod.model import make_law
from sim.rod.runner import load, simulate
from sim.scenario import scenario
from sim.schedule import Schedule
from sim.viz.plots import new_figure, save

ADLER_TOL = 0.02  # overdamped, unlocked: within 2 % of the Adler frequency
JUNCTION_TOL = 1e-3  # ... and within 0.1 % of the junction at the rod's beta_c (measured: <= 5e-4)
SWITCH_TOL = 0.005  # switching currents within 0.005 d_omega_c of the junction's (as the Shapiro edges)

KEYS = {
    **rod_keys.WEAK_LINK,
    **rod_keys.LAW,
    "T_mean": Key(
        "temperature the drives are set about (overdamped: the reservoirs' mean; sweeps: the cold one), "
        "where d_omega_c is evaluated",
        unit=REDUCED,
        low=0,
        low_open=True,
    ),
    "dt": Key("time step", unit=REDUCED, low=0, low_open=True),
    "overdamped.C": Key(
        "heat capacity per ring in the overdamped regime (small: halves follow their reservoirs)", unit=REDUCED, low=0.5
    ),
    "overdamped.m": Key("periodicities of the link torque run in the overdamped regime", "integers", low=1),
    "overdamped.ratios": Key(
        "fixed drives m d_omega / d_omega_c of the overdamped runs (> 1: running, < 1: locked)",
        "numbers",
        low=0,
        low_open=True,
    ),
    "inertial.C": Key("heat capacity per ring in the inertial regime (large: hysteresis)", unit=REDUCED, low=0.5),
    "inertial.max_ratio": Key(
        "top of the inertial sweep, d_omega / d_omega_c (past the threshold 1)", low=1, low_open=True
    ),
    "inertial.sweep_time": Key(
        "duration of each ramp of the hot reservoir (up and down)", unit=REDUCED, low=0, low_open=True
    ),
    "inertial.windows": Key("time windows per sweep, each giving one mean winding rate", "integer", low=1),
    "inertial.switching_sweep_times": Key(
        "durations of the antisymmetric ramps from i = 0 to switching_top that "
        "measure the switching current vs sweep rate",
        "numbers",
        unit=REDUCED,
        low=0,
        low_open=True,
    ),
    "inertial.switching_top": Key(
        "bias i = m d_omega / d_omega_c those ramps end at (then held)", low=1, low_open=True
    ),
    "periods": Key("beat periods measured per overdamped case (after the settling time)", "integer", low=1),
    "record_every": Key("steps between recorded frames (10x that in the inertial sweeps)", "integer", low=1),
}


def defaults(quick: bool) -> dict:
    return {
        "n_half": 4,  # rings per half
        "K": 5.0,
        "K_w": 0.005,
        "k": 0.5,  # contact conductance of each reservoir
        "law": {"name": "linear", "w_ref": 1.0, "beta": 0.5, "T_ref": 1.0},
        "T_mean": 1.0,
        "dt": 0.1,
        "overdamped": {"C": 1.0, "m": [1, 2], "ratios": [0.5, 0.9, 1.2, 1.5, 2.0, 3.0, 4.0]},
        "inertial": {
            "C": 50.0,
            "max_ratio": 2.5,
            "sweep_time": 2.0e5 if quick else 6.0e5,
            "windows": 60,
            "switching_sweep_times": [1.25e4, 2.5e4, 5.0e4, 1.0e5]
            if quick
            else [1.25e4, 2.5e4, 5.0e4, 1.0e5, 2.0e5, 4.0e5],
            "switching_top": 1.3,
        },
        "periods": 20 if quick else 60,  # beat periods measured per unlocked case
        "record_every": 10,
        "seed": 0,
    }


def _drive(cfg, ratio, m):
    """Bath temperatures giving m d_omega = ratio * d_omega_c (symmetric about T_mean)."""
    d_omega_c, slope = locking_threshold(cfg)
    dT = ratio * d_omega_c / (m * slope)
    return cfg["T_mean"] + dT / 2, cfg["T_mean"] - dT / 2


def run_case(cfg, m, ratio, ctx) -> dict:
    C = cfg["overdamped"]["C"]
    T_L, T_R = _drive(cfg, ratio, m)
    params, w = weak_link_params(cfg, C, m, T_L, T_R)
    d_omega, d_omega_c = adler_parameters(params.law, T_L, T_R, cfg["K_w"], cfg["k"], cfg["k"])
    expected = float(adler_frequency(d_omega, d_omega_c, m))
    # settle: 20 half relaxation times C_half/k, and for a locked link 10 Adler relaxation
    # times 1/sqrt(d_omega_c^2 - (m d_omega)^2), which grow near the threshold
    locking_rate = np.sqrt(max(d_omega_c**2 - (m * d_omega) ** 2, 0.0))
    t_settle = max(20.0 * C * cfg["n_half"] / cfg["k"], 10.0 / locking_rate if locking_rate > 0 else 0.0)
    period = 2 * np.pi / (expected if expected > 0 else d_omega_c)
    t_total = t_settle + cfg["periods"] * period
    nsteps = int(t_total / cfg["dt"]) // cfg["record_every"] * cfg["record_every"]
    path = ctx.path("timeseries", f"ac_overdamped_m{m}_ratio{ratio:g}.h5")
    simulate(
        params, nsteps, cfg["record_every"], path=path, progress=not ctx.quiet, desc=f"m={m} drive={ratio:g}", ctx=ctx
    )
    d = load(path, ["twist", "supercurrent", "link_heat"], t_start=t_settle)
    t, current = d["time"], d["supercurrent"][:, w]
    winding = winding_rate(t, m * d["twist"][:, w])  # rate of psi = m phi
    locked = abs(winding) * (t[-1] - t[0]) < 2 * np.pi  # less than one turn of psi in the window
    J_mean = winding_rate(t, d["link_heat"][:, w])
    beta_c = junction.junction_beta_c(C * cfg["n_half"], d_omega_c, cfg["k"])
    measured = 0.0 if locked else peak_frequency(current, t[1] - t[0])
    omega_junction = junction.winding_rate(m * d_omega / d_omega_c, beta_c) * d_omega_c
    return {
        "m": m,
        "regime": "overdamped",
        "drive_ratio": ratio,
        "T_L": T_L,
        "T_R": T_R,
        "d_omega": d_omega,
        "d_omega_c": d_omega_c,
        "beta_c": beta_c,
        "omega_peak_measured": measured,
        "omega_peak_expected": expected,
        "omega_junction": omega_junction,
        "deviation_from_adler": measured / expected - 1 if expected > 0 else None,
        "deviation_from_junction": measured / omega_junction - 1 if omega_junction > 0 else None,
        "winding_rate": winding,
        "locked": bool(locked),
        "J_mean": J_mean,
        "J_dc_expected": (T_L - T_R) / (2.0 / cfg["k"]) if expected == 0 else 0.0,
        # residual wiggle relative to the Josephson amplitude omega0 K_w / m a running link would show
        "current_std_over_ac_amplitude": float(current.std() / (params.law.omega0(cfg["T_mean"]) * cfg["K_w"] / m)),
        "trace_t": t[:: max(1, t.size // 2000)].tolist(),
        "trace_J": current[:: max(1, t.size // 2000)].tolist(),
    }


def run_sweep(cfg, direction, ctx) -> dict:
    """Inertial regime: ramp T_L slowly up (or down) across the threshold; winding rate per window."""
    inert = cfg["inertial"]
    law = make_law(cfg["law"])
    d_omega_c, slope = locking_threshold(cfg)
    T_hi = cfg["T_mean"] + inert["max_ratio"] * d_omega_c / slope
    t_settle = 20.0 * inert["C"] * cfg["n_half"] / cfg["k"]
    lo, hi = (cfg["T_mean"], T_hi) if direction == "up" else (T_hi, cfg["T_mean"])
    ramp = Schedule("ramp", T0=lo, T1=hi, t0=t_settle, t1=t_settle + inert["sweep_time"])
    params, w = weak_link_params(cfg, inert["C"], 1, ramp, cfg["T_mean"])
    nsteps = int((t_settle + inert["sweep_time"]) / cfg["dt"])
    every = 10 * cfg["record_every"]
    nsteps -= nsteps % every
    run = simulate(
        params,
        nsteps,
        every,
        path=ctx.path("timeseries", f"ac_inertial_sweep_{direction}.h5"),
        progress=not ctx.quiet,
        desc=f"inertial sweep {direction}",
        ctx=ctx,
    )
    d = load(run.recorder.path, ["twist"], t_start=t_settle)
    edges = np.linspace(0, d["time"].size - 1, inert["windows"] + 1).astype(int)
    t_mid = 0.5 * (d["time"][edges[:-1]] + d["time"][edges[1:]])
    rates = [winding_rate(d["time"][a : b + 1], d["twist"][a : b + 1, w]) for a, b in zip(edges[:-1], edges[1:])]
    d_omega = law.omega0(ramp.at(t_mid)) - law.omega0(cfg["T_mean"])
    running = np.abs(rates) > 0.2 * d_omega_c
    switch = (
        float(d_omega[np.argmax(running)])
        if direction == "up" and running.any()
        else (float(d_omega[len(running) - 1 - np.argmax(running[::-1])]) if running.any() else float("nan"))
    )
    return {
        "direction": direction,
        "d_omega": d_omega.tolist(),
        "winding_rate": list(map(float, rates)),
        "switch_d_omega": switch,
        "d_omega_c": d_omega_c,
        "resolution_d_omega": float(np.abs(np.diff(d_omega)).max()),  # drive change over one window
        "beta_c": junction.junction_beta_c(inert["C"] * cfg["n_half"], d_omega_c, cfg["k"]),
    }


def run_switching(cfg, sweep_time, ctx) -> dict:
    """Inertial regime, switching: T_L and T_R ramped in antiphase (their mean, so d_omega_c,
    fixed) from i = 0 to ``switching_top`` over ``sweep_time``; the switch is the first time the
    weak link's phase reaches pi (interpolated between frames), against the junction's."""
    inert = cfg["inertial"]
    law = make_law(cfg["law"])
    d_omega_c, slope = locking_threshold(cfg)
    top = inert["switching_top"]
    dT = top * d_omega_c / slope
    t_settle = 20.0 * inert["C"] * cfg["n_half"] / cfg["k"]
    T_L, T_R = (
        Schedule("ramp", T0=cfg["T_mean"], T1=cfg["T_mean"] + sign * dT / 2, t0=t_settle, t1=t_settle + sweep_time)
        for sign in (1, -1)
    )
    params, w = weak_link_params(cfg, inert["C"], 1, T_L, T_R)
    every = 10 * cfg["record_every"]
    nsteps = int((t_settle + 1.5 * sweep_time) / cfg["dt"])  # and half as long again held at the top
    nsteps -= nsteps % every
    run = simulate(
        params,
        nsteps,
        every,
        path=ctx.path("timeseries", f"ac_switching_sweep{sweep_time:g}.h5"),
        progress=not ctx.quiet,
        desc=f"switching, sweep {sweep_time:g}",
        ctx=ctx,
    )
    d = load(run.recorder.path, ["twist"])
    t, psi = d["time"], d["twist"][:, w]
    rate = top / (sweep_time * d_omega_c)  # di / d tau, tau = d_omega_c t
    beta_c = junction.junction_beta_c(inert["C"] * cfg["n_half"], d_omega_c, cfg["k"])
    out = {"sweep_time": sweep_time, "rate": rate, "switching_junction": junction.switching_current(beta_c, rate, top)}
    left = np.nonzero(psi > np.pi)[0]
    if left.size == 0 or left[0] == 0:
        return out | {"switching_measured": None}
    k = int(left[0])
    t_switch = t[k - 1] + (np.pi - psi[k - 1]) / (psi[k] - psi[k - 1]) * (t[k] - t[k - 1])
    i_switch = (law.omega0(T_L.at(t_switch)) - law.omega0(T_R.at(t_switch))) / d_omega_c
    return out | {"switching_measured": float(i_switch)}


def checks(cases, sweeps, switching=()) -> dict:
    running = [c for c in cases if not c["locked"]]
    locked = [c for c in cases if c["locked"]]
    out = {
        "unlocked_m1_within_2_percent": all(
            abs(c["omega_peak_measured"] / c["omega_peak_expected"] - 1) <= ADLER_TOL for c in running if c["m"] == 1
        ),
        "unlocked_m2_within_2_percent": all(
            abs(c["omega_peak_measured"] / c["omega_peak_expected"] - 1) <= ADLER_TOL for c in running if c["m"] == 2
        ),
        "locked_exactly_when_adler_says": all(c["locked"] == (c["omega_peak_expected"] == 0) for c in cases),
        "locked_cases_dc_no_oscillation": all(
            c["current_std_over_ac_amplitude"] < 0.01 and abs(c["J_mean"] / c["J_dc_expected"] - 1) <= ADLER_TOL
            for c in locked
        ),
    }
    out["unlocked_match_junction_within_0.1_percent"] = all(
        abs(c["deviation_from_junction"]) <= JUNCTION_TOL for c in running
    )
    if sweeps:
        up, down = sweeps["up"], sweeps["down"]
        out["inertial_hysteresis"] = bool(down["switch_d_omega"] < 0.9 * up["switch_d_omega"])
        out["retrapping_at_the_junction_value"] = bool(
            abs(down["retrapping_measured"] - down["retrapping_expected"])
            <= down["resolution_d_omega"] / down["d_omega_c"]
        )
    if switching:
        by_rate = sorted(switching, key=lambda s: s["rate"])
        measured = [s["switching_measured"] for s in by_rate]
        out["switching_at_the_junction_value"] = all(
            m is not None and abs(m - s["switching_junction"]) <= SWITCH_TOL for m, s in zip(measured, by_rate)
        )
        out["switching_current_rises_with_sweep_rate"] = (
            None if None in measured else bool(np.all(np.diff(measured) > 0))
        )
    return out


def plot(cases, sweeps, cfg, ctx) -> None:
    fig, ax = new_figure(2, 2, width=5.5)
    # the trace shown: the running m = 1 case nearest twice the threshold (any case if none runs)
    running = [c for c in cases if not c["locked"]] or cases
    show = min(running, key=lambda c: (c["m"] != 1, abs(c["drive_ratio"] - 2.0)))
    t, J = np.array(show["trace_t"]), np.array(show["trace_J"])
    ax[0, 0].plot(t - t[0], J, lw=0.8)
    ax[0, 0].set(
        xlabel="time (reduced)",
        ylabel="weak-link heat current",
        title=f"AC heat current, m={show['m']}, m d_omega = {show['drive_ratio']:g} d_omega_c",
    )
    f, p = signal.periodogram(J - J.mean(), fs=1.0 / (t[1] - t[0]), window="hann")
    ax[0, 1].semilogy(2 * np.pi * f[1:], p[1:], lw=0.8)
    ax[0, 1].axvline(show["omega_peak_expected"], color="k", ls=":", label="Adler")
    ax[0, 1].set_ylim(bottom=p[1:].max() * 1e-10)
    ax[0, 1].set(
        xlabel="angular frequency (rad/time)",
        ylabel="power",
        title="spectrum",
        xlim=(0, 6 * max(show["omega_peak_expected"], show["d_omega_c"])),
    )
    ax[0, 1].legend()
    for m, color in ((1, "C0"), (2, "C1")):
        cs = [c for c in cases if c["m"] == m]
        if not cs:
            continue
        x = np.array([c["d_omega"] for c in cs]) / cs[0]["d_omega_c"]
        ax[1, 0].plot(
            x, [c["omega_peak_measured"] / c["d_omega_c"] for c in cs], "o", color=color, label=f"measured, m={m}"
        )
        xf = np.linspace(0, x.max() * 1.05, 300)
        ax[1, 0].plot(xf, adler_frequency(xf, 1.0, m), color=color, lw=1, label=f"Adler, m={m}")
        xj = np.linspace(1.02 / m, x.max() * 1.05, 24)  # just above threshold: a turn there takes very long
        ax[1, 0].plot(
            xj,
            junction.running_rates(m * xj, cs[0]["beta_c"]),
            ls="--",
            color=color,
            lw=1,
            label=f"junction, beta_c = {cs[0]['beta_c']:.2g}, m={m}",
        )
    ax[1, 0].set(
        xlabel="d_omega / d_omega_c", ylabel="omega_peak / d_omega_c", title="peak frequency vs drive (overdamped)"
    )
    if ax[1, 0].get_legend_handles_labels()[0]:  # this panel draws the cases with m = 1 and 2 only
        ax[1, 0].legend(fontsize=8)
    for direction, marker in (("up", "^"), ("down", "v")):
        if direction in sweeps:
            s = sweeps[direction]
            ax[1, 1].plot(
                np.array(s["d_omega"]) / s["d_omega_c"],
                np.array(s["winding_rate"]) / s["d_omega_c"],
                marker,
                ms=4,
                label=f"sweep {direction}",
            )
    if sweeps:
        xf = np.linspace(0, cfg["inertial"]["max_ratio"], 200)
        ax[1, 1].plot(xf, adler_frequency(xf, 1.0), "k:", lw=1, label="overdamped Adler")
        ax[1, 1].plot(xf, xf, "k--", lw=0.7, label="m d_omega")
        ax[1, 1].axvline(
            sweeps["down"]["retrapping_expected"], color="C3", ls="-.", lw=1, label="junction retrapping current"
        )
        ax[1, 1].set(title=f"inertial regime (beta_c = {sweeps['up']['beta_c']:.1f}): hysteresis")
    ax[1, 1].set(xlabel="d_omega / d_omega_c", ylabel="mean winding rate / d_omega_c")
    ax[1, 1].legend(fontsize=8)
    save(fig, ctx.path("figures", "rod_ac.png"))


def plot_switching(switching, beta_c, ctx) -> None:
    """Excess switching current i_s - 1 against the sweep rate, rod and junction, log-log."""
    if not switching:
        return
    fig, ax = new_figure(1, 1, width=5.0, height=3.8)
    a = ax[0, 0]
    s = sorted(switching, key=lambda s: s["rate"])
    rate = np.array([x["rate"] for x in s])
    a.loglog(rate, [x["switching_junction"] - 1 for x in s], "k-", lw=1, label=f"junction, beta_c = {beta_c:.2g}")
    got = [(r, x["switching_measured"] - 1) for r, x in zip(rate, s) if x["switching_measured"] is not None]
    if got:
        a.loglog(*zip(*got), "o", mfc="none", ms=8, label="rod")
    a.loglog(
        rate,
        (s[0]["switching_junction"] - 1) * (rate / rate[0]) ** (2 / 3),
        ":",
        color="0.5",
        lw=1,
        label="~ rate^(2/3) (saddle-node delay)",
    )
    a.set(xlabel="sweep rate di/dtau (tau = d_omega_c t)", ylabel="switching current i_s - 1 (units of d_omega_c)")
    a.set_title("inertial weak link: switching current vs sweep rate", fontsize=10)
    a.xaxis.set_major_locator(FixedLocator(rate))  # the rates run, not a decade grid
    a.xaxis.set_major_formatter(FormatStrFormatter("%.2g"))
    a.xaxis.set_minor_locator(NullLocator())
    a.legend(fontsize=8)
    save(fig, ctx.path("figures", "rod_ac_switching.png"))


def precheck(cfg) -> None:
    """Every overdamped rod and the inertial one build before any runs."""
    for m in cfg["overdamped"]["m"]:
        for ratio in cfg["overdamped"]["ratios"]:
            weak_link_params(cfg, cfg["overdamped"]["C"], m, *_drive(cfg, ratio, m))
    weak_link_params(cfg, cfg["inertial"]["C"], 1, *_drive(cfg, cfg["inertial"]["max_ratio"], 1))
    weak_link_params(cfg, cfg["inertial"]["C"], 1, *_drive(cfg, cfg["inertial"]["switching_top"], 1))


@scenario(
    "rod-ac",
    "AC Josephson oscillation across a weak link: Adler frequency, locking, inertial hysteresis",
    defaults,
    KEYS,
    precheck,
)
def run(cfg, ctx) -> dict:
    cases = []
    for m in cfg["overdamped"]["m"]:
        for ratio in cfg["overdamped"]["ratios"]:
            c = run_case(cfg, m, ratio, ctx)
            ctx.log(
                f"  m={m} drive={ratio:g} d_omega_c: omega_peak {c['omega_peak_measured']:.5g} "
                f"(Adler {c['omega_peak_expected']:.5g}), locked={c['locked']}, J_mean={c['J_mean']:.4g}"
            )
            cases.append(c)
    sweeps = {direction: run_sweep(cfg, direction, ctx) for direction in ("up", "down")}
    switching = [run_switching(cfg, S, ctx) for S in cfg["inertial"]["switching_sweep_times"]]
    for s in switching:
        ctx.log(
            f"  switching, sweep {s['sweep_time']:g} (di/dtau = {s['rate']:.3g}): i = {s['switching_measured']} "
            f"measured, {s['switching_junction']:.5f} junction"
        )
    down = sweeps["down"]
    down["retrapping_expected"] = junction.retrapping_current(down["beta_c"])  # units of d_omega_c
    down["retrapping_measured"] = down["switch_d_omega"] / down["d_omega_c"]
    ctx.log(
        f"  inertial: running from d_omega = {sweeps['up']['switch_d_omega']:.4g} sweeping up, "
        f"until {down['switch_d_omega']:.4g} sweeping down (d_omega_c = {down['d_omega_c']:.4g}); retrapping "
        f"{down['retrapping_measured']:.4f} d_omega_c, junction {down['retrapping_expected']:.4f} at beta_c = "
        f"{down['beta_c']:.3g}"
    )
    plot(cases, sweeps, cfg, ctx)
    plot_switching(switching, sweeps["up"]["beta_c"], ctx)
    summary_cases = [{k: v for k, v in c.items() if not k.startswith("trace_")} for c in cases]
    return {
        "scenario": "rod-ac",
        "cases": summary_cases,
        "inertial_sweeps": sweeps,
        "switching_vs_sweep_rate": switching,
        "checks": checks(cases, sweeps, switching),
    }
