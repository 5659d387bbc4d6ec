"""rod-second-sound: a heat pulse on one ring of a long closed rod travels as a wave.

docs/model.md §A4.5: the clocks give the rod an effective torsional inertia I_eff = C/(omega0 omega0'),
so a temperature disturbance travels as "second sound" at a sqrt(K omega0 omega0'/C) (a = one
ring spacing). One ring in the middle of a closed rod (k_L = k_R = 0, no noise) starts slightly
hotter; the front's arrival time at each ring (the time of its first, largest maximum of
T_i(t) - T0) is measured from the trajectory and fitted with the dispersive-front law
t = n/v + b n^(1/3) + c (``sim.rod.linear.front_speed``) on rings between the source
region and the reach of the end reflections.
"""

from __future__ import annotations

import numpy as np

from sim.config_keys import REDUCED, Key
from sim.rod import keys as rod_keys
from sim.rod.linear import effective_inertia, front_speed, second_sound_speed
from sim.rod.model import LAWS, RodParams, make_law
from sim.rod.runner import load, simulate
from sim.scenario import scenario
from sim.stats import peak_times
from sim.viz.plots import new_figure, save

REL_TOL = 0.03  # tolerance on the measured wave speed
AIRY_PEAK = 1.018793  # first maximum of Ai(-x): the front's first peak sits at 2 w_p t = 2n + AIRY_PEAK n^(1/3)

KEYS = {
    "N": Key("rings of the closed rod (the pulse starts on ring N // 2)", "integer", low=2),
    "C": rod_keys.RING["C"],
    "K": Key(
        "link torque amplitude: the rod's stiffness, v = sqrt(K omega0 omega0'/C)", unit=REDUCED, low=0, low_open=True
    ),
    "m": rod_keys.RING["m"],
    "torque": rod_keys.RING["torque"],
    "law": Key(
        "clock law omega0(T): a table with `name` and its parameters (docs/model.md §A2); it needs "
        "omega0 omega0' > 0 at T0 for a wave",
        "mapping",
    ),
    "law.name": Key("clock law", "choice", choices=tuple(LAWS)),
    "T0": Key("uniform temperature of the rod before the pulse", unit=REDUCED, low=0, low_open=True),
    "pulse": Key(
        "extra temperature of the source ring at t = 0 (small: the small-angle regime)",
        unit=REDUCED,
        low=0,
        low_open=True,
    ),
    "dt": Key("time step", unit=REDUCED, low=0, low_open=True),
    "record_every": Key("steps between recorded frames", "integer", low=1),
    "fit_from": Key(
        "nearest ring distance from the source in the front fit (away from the source region)", "integer", low=1
    ),
    "fit_to_fraction": Key(
        "farthest ring distance in the front fit, as a fraction of N (before the end "
        "reflections; the source sits N/2 from each end)",
        low=0,
        high=0.5,
        low_open=True,
        high_open=True,
    ),
}


def defaults(quick: bool) -> dict:
    return {
        "N": 400 if quick else 1000,
        # the rod-dc material: K = 5, C = 50, linear law with omega0 omega0' = 0.5 at T0 = 1,
        # so v = sqrt(0.05) = 0.224 rings per time unit
        "C": 50.0,
        "K": 5.0,
        "m": 1,
        "torque": "sine",
        "law": {"name": "linear", "w_ref": 1.0, "beta": 0.5, "T_ref": 1.0},
        "T0": 1.0,
        "pulse": 0.01,  # extra temperature of the source ring at t = 0 (small-angle regime)
        "dt": 0.5,
        # a frame every 4 steps = 2 time units = 0.45 ring transit times (1/v); the peak of the
        # front is many frames wide (its width grows like n^(1/3)/v) and refined by a parabola
        "record_every": 4,
        "fit_from": 20,  # nearest ring distance fitted: away from the source region
        "fit_to_fraction": 0.4,  # farthest ring distance fitted, as a fraction of N: before the end reflections
        "seed": 0,
    }


def _params(cfg) -> RodParams:
    N, T0 = cfg["N"], cfg["T0"]
    T_init = np.full(N, T0)
    T_init[N // 2] += cfg["pulse"]
    return RodParams(
        N=N,
        C=cfg["C"],
        K=cfg["K"],
        m=cfg["m"],
        torque=cfg["torque"],
        law=make_law(cfg["law"]),
        k_L=0.0,
        k_R=0.0,
        T_L=T0,
        T_R=T0,
        T_init=T_init,
        dt=cfg["dt"],
        noise=False,
        seed=cfg["seed"],
    )


def _duration(cfg, v_expected: float, n_max: int) -> float:
    """Long enough for the front's first peak to pass distance n_max (Airy lag plus 5 ring times),
    short enough that the reflections from the ends (N/2 rings away) never reach the fitted rings."""
    t = (n_max + 0.5 * AIRY_PEAK * n_max ** (1 / 3) + 5.0) / v_expected
    t_reflection = (cfg["N"] - n_max - 2) / v_expected
    if t >= t_reflection:
        raise ValueError(
            f"fit_to_fraction = {cfg['fit_to_fraction']!r} reaches the end reflections; allowed: a smaller fraction"
        )
    return t


def precheck(cfg) -> None:
    """The rod builds (time step, memory) and the fitted front stays clear of the end reflections."""
    params = _params(cfg)
    _duration(
        cfg, second_sound_speed(params.law, cfg["T0"], cfg["K"], cfg["C"]), int(cfg["fit_to_fraction"] * params.N)
    )


def plot(t, dT, source, fit, v_expected, distances, arrival, ctx) -> None:
    fig, ax = new_figure(2, 1, width=6.0, height=4.2)
    x = np.arange(dT.shape[1]) - source
    lim = np.abs(dT[:, source + distances]).max()  # the front's amplitude, not the initial pulse's
    im = ax[0, 0].imshow(
        dT.T,
        aspect="auto",
        origin="lower",
        cmap="RdBu_r",
        vmin=-lim,
        vmax=lim,
        extent=(t[0], t[-1], x[0] - 0.5, x[-1] + 0.5),
        interpolation="nearest",
    )
    fig.colorbar(im, ax=ax[0, 0], label="T_i(t) - T0")
    tt = np.linspace(0, t[-1], 50)
    for sign in (1, -1):
        ax[0, 0].plot(
            tt, sign * v_expected * tt, "k:", lw=1.2, label="expected a sqrt(K w0 w0'/C)" if sign > 0 else None
        )
        n = np.linspace(distances.min(), distances.max(), 200)
        t_front = n / fit["speed"] + fit["spreading_coefficient"] * np.cbrt(n) + fit["offset"]
        ax[0, 0].plot(
            t_front, sign * n, "g--", lw=1.2, label="fitted front t = n/v + b n^(1/3) + c" if sign > 0 else None
        )
    every = max(1, len(distances) // 40)
    ax[0, 0].plot(arrival[::every], distances[::every], "y.", ms=3, label="measured first peak")
    ax[0, 0].set(xlabel="time", ylabel="ring - source ring", title="second sound: space-time map", ylim=(x[0], x[-1]))
    ax[0, 0].legend(fontsize=7, loc="lower left")
    for frac in (0.25, 0.5, 0.75, 1.0):
        k = int(round(frac * (len(t) - 1)))
        ax[0, 1].plot(x, dT[k], lw=0.8, label=f"t = {t[k]:.0f}")
    ax[0, 1].set(xlabel="ring - source ring", ylabel="T_i - T0", title="temperature profiles")
    ax[0, 1].legend(fontsize=7)
    save(fig, ctx.path("figures", "rod_second_sound.png"))


@scenario(
    "rod-second-sound",
    "second sound: a heat pulse on a closed rod travels at sqrt(K omega0 omega0'/C) (docs/model.md §A4.5)",
    defaults,
    KEYS,
    precheck,
)
def run(cfg, ctx) -> dict:
    params = _params(cfg)
    N, T0, source = params.N, cfg["T0"], params.N // 2
    v_expected = second_sound_speed(params.law, T0, cfg["K"], cfg["C"])
    n_max = int(cfg["fit_to_fraction"] * N)
    nsteps = int(np.ceil(_duration(cfg, v_expected, n_max) / params.dt / cfg["record_every"])) * cfg["record_every"]
    path = ctx.path("timeseries", f"rod_N{N}_pulse.h5")
    simulate(params, nsteps, cfg["record_every"], path=path, progress=not ctx.quiet, desc=f"N={N} pulse", ctx=ctx)
    d = load(path, ["T", "twist", "ledger_error", "energy_stored"])
    t, dT = d["time"], d["T"] - T0

    distances = np.arange(cfg["fit_from"], n_max + 1)
    # the rod is mirror-symmetric about the source: average the two directions
    arrival = 0.5 * (peak_times(t, dT[:, source + distances]) + peak_times(t, dT[:, source - distances]))
    fit = front_speed(distances, arrival)
    rel_err = fit["speed"] / v_expected - 1.0
    ctx.log(
        f"  front speed {fit['speed']:.6g} +- {fit['speed_stderr']:.2g} rings/time, expected {v_expected:.6g} "
        f"({100 * rel_err:+.3f} %); straight-line fit {fit['speed_straight']:.6g}"
    )
    plot(t, dT, source, fit, v_expected, distances, arrival, ctx)
    max_twist = float(np.abs(d["twist"]).max())
    ledger = float(np.abs(d["ledger_error"]).max() / np.abs(d["energy_stored"]).max())
    return {
        "scenario": "rod-second-sound",
        "wave_speed_measured": fit["speed"],
        "wave_speed_stderr": fit["speed_stderr"],
        "wave_speed_expected": v_expected,
        "relative_error": rel_err,
        "wave_speed_straight_line": fit["speed_straight"],
        "wave_speed_straight_line_stderr": fit["speed_straight_stderr"],
        "front_spreading_coefficient": fit["spreading_coefficient"],
        "front_spreading_expected": 0.5 * AIRY_PEAK / v_expected,
        "effective_inertia": effective_inertia(params.law, T0, cfg["C"]),
        "max_abs_twist": max_twist,
        "ledger_rel_error": ledger,
        "N": N,
        "source_ring": source,
        "pulse": cfg["pulse"],
        "T0": T0,
        "C": cfg["C"],
        "K": cfg["K"],
        "torque": cfg["torque"],
        "law": cfg["law"],
        "dt": params.dt,
        "record_every": cfg["record_every"],
        "frame_interval": cfg["record_every"] * params.dt,
        "t_end": float(t[-1]),
        "fitted_distances": [int(distances[0]), int(distances[-1])],
        "checks": {
            "speed_within_3_percent": abs(rel_err) <= REL_TOL,
            "small_angle": max_twist < 0.1,  # sin(x)/x - 1 < 0.2 %: the harmonic yardstick applies
            "energy_conserved": ledger < 1e-12,
        },
    }
