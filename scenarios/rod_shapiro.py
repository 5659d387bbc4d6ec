"""rod-shapiro: phase locking of the weak-link oscillation to a modulated reservoir (Shapiro steps).

The overdamped weak-link rod of ``rod-ac`` with the reservoirs modulated at w_d. With
``modulation = "antisymmetric"`` (default) T_L and T_R move in antiphase about T_mean,
T_{L,R} = T_mean +- (dT + A sin(w_d t)) / 2, so the halves' mean temperature, and with it
the locking threshold d_omega_c, stays fixed; ``"hot"`` modulates T_L alone,
T_L = T_mean + dT + A sin(w_d t), T_R = T_mean, which raises the mean temperature with the
drive. The mean winding rate of the phase across the weak link, measured from the
trajectory over whole drive periods, locks to n w_d over finite ranges of the mean drive:
Shapiro steps, as in a Josephson junction under microwaves.

Each step's edges are found by bisection on the mean drive (rod runs of ``periods`` drive
periods after ``settle_periods``: just off a step the phase slips once every many periods,
and the window decides how close to an edge the two can be told apart). Yardstick: the
same edges of the mapped junction, beta_c psi'' + psi' + sin psi = i0 + i1 sin(Omega tau),
i0 = d_omega / d_omega_c, i1 = A-modulation / d_omega_c, Omega = w_d / d_omega_c,
beta_c = C_half d_omega_c / k, integrated independently (``sim.rod.junction``, scipy).
With antisymmetric modulation every edge of steps n = 0..3 must agree within 0.005
d_omega_c; with hot-only modulation the edges shift (the mean temperature, hence
d_omega_c, moves with the drive) and the shift is reported.
"""

from __future__ import annotations

import numpy as np

from sim.config_keys import REDUCED, Key
from sim.progress import progress
from sim.rod import junction
from sim.rod import keys as rod_keys
from sim.rod.analysis import adler_frequency, winding_rate
from sim.rod.junction import locking_threshold, weak_link_params
from sim.rod.runner import load, simulate
from sim.scenario import scenario
from sim.schedule import Schedule
from sim.viz.plots import new_figure, save

EDGE_AGREEMENT = 0.005  # antisymmetric modulation: every edge within this of the junction's (units of d_omega_c)
STEPS = range(4)  # n = 0..3

KEYS = {
    **rod_keys.WEAK_LINK,
    "C": Key("heat capacity per ring (small: the overdamped regime)", unit=REDUCED, low=0.5),
    **rod_keys.LAW,
    "T_mean": Key(
        "cold (right) reservoir temperature, at which d_omega_c is evaluated", unit=REDUCED, low=0, low_open=True
    ),
    "dt": Key(
        "largest time step (lowered so that a drive period is a whole number of steps)",
        unit=REDUCED,
        low=0,
        low_open=True,
    ),
    "w_d_ratio": Key("drive (modulation) frequency w_d / d_omega_c", low=0, low_open=True),
    "modulation_ratio": Key("amplitude of the modulation of d_omega, over d_omega_c (0: no modulation)", low=0),
    "max_ratio": Key("largest mean drive d_omega / d_omega_c of the sweep (which starts at 0)", low=0, low_open=True),
    "points": Key("mean drives in the coarse sweep, evenly spaced from 0 to max_ratio", "integer", low=2),
    "periods": Key(
        "drive periods averaged per point after the settling time: a phase slip in the window moves "
        "the rate by >= w_d / periods, which sets how close to an edge a point is told on or off a step",
        "integer",
        low=10,
    ),
    "settle_periods": Key(
        "drive periods discarded first (the locked state's relaxation, slow near an edge)", "integer", low=1
    ),
    "frames_per_period": Key("recorded frames per drive period", "integer", low=1),
    "modulation": Key(
        "which reservoirs are modulated: both in antiphase (mean temperature fixed) or the hot one",
        "choice",
        choices=("antisymmetric", "hot"),
    ),
    "edge_tol": Key("bisection tolerance of each step edge, in units of d_omega_c", low=0, low_open=True, high=0.1),
}


def defaults(quick: bool) -> dict:
    return {
        "n_half": 4,
        "K": 5.0,
        "K_w": 0.005,
        "k": 0.5,
        "C": 1.0,
        "law": {"name": "linear", "w_ref": 1.0, "beta": 0.5, "T_ref": 1.0},
        "T_mean": 1.0,
        "dt": 0.1,  # largest time step; adjusted so a drive period is whole steps
        "w_d_ratio": 1.0,  # drive frequency / d_omega_c
        # modulation amplitude of d_omega / d_omega_c: 2 gives steps n = 1..3 of comparable width
        # (in the fast-drive limit step n is ~ |J_n(modulation / w_d)| wide)
        "modulation_ratio": 2.0,
        "max_ratio": 3.5,  # largest mean drive d_omega / d_omega_c
        "points": 36 if quick else 71,
        "periods": 150 if quick else 400,  # a slip in the window moves the rate by >= w_d / periods
        "settle_periods": 40 if quick else 80,
        "frames_per_period": 4,
        "modulation": "antisymmetric",
        "edge_tol": 0.002 if quick else 5e-4,
        "seed": 0,
    }


def _baths(cfg, ratio, d_omega_c, slope, w_d):
    """(T_L, T_R) giving a mean drive ratio * d_omega_c with the configured modulation."""
    dT, A = ratio * d_omega_c / slope, cfg["modulation_ratio"] * d_omega_c / slope
    if cfg["modulation"] == "hot":
        return Schedule("sinusoid", T0=cfg["T_mean"] + dT, amplitude=A, w=w_d), cfg["T_mean"]
    return (
        Schedule("sinusoid", T0=cfg["T_mean"] + dT / 2, amplitude=A / 2, w=w_d),
        Schedule("sinusoid", T0=cfg["T_mean"] - dT / 2, amplitude=-A / 2, w=w_d),
    )


def _point_params(cfg, ratio):
    """(params, weak link, d_omega_c, w_d, period, record_every, steps_per_period) of the rod at mean
    drive ``ratio`` d_omega_c. A drive period is a whole number of steps, frames fall on exact
    fractions of it, and the winding is measured over whole periods (a fraction would bias the rate)."""
    d_omega_c, slope = locking_threshold(cfg)
    w_d = cfg["w_d_ratio"] * d_omega_c
    T_L, T_R = _baths(cfg, ratio, d_omega_c, slope, w_d)
    period = 2 * np.pi / w_d
    record_every = int(np.ceil(period / (cfg["frames_per_period"] * cfg["dt"])))
    steps_per_period = cfg["frames_per_period"] * record_every
    params, w = weak_link_params(cfg | {"dt": period / steps_per_period}, cfg["C"], 1, T_L, T_R)
    return params, w, d_omega_c, w_d, period, record_every, steps_per_period


def precheck(cfg) -> None:
    """The rods at both ends of the sweep build (time step, temperatures above zero) before any runs."""
    for ratio in (0.0, cfg["max_ratio"]):
        _point_params(cfg, ratio)


def run_point(cfg, ratio, ctx, record: bool = True) -> dict:
    """Mean winding rate of the rod at mean drive ``ratio`` d_omega_c over ``periods`` whole drive periods."""
    params, w, d_omega_c, w_d, period, record_every, steps_per_period = _point_params(cfg, ratio)
    n_settle = max(int(np.ceil(20.0 * cfg["C"] * cfg["n_half"] / cfg["k"] / period)), cfg["settle_periods"])
    nsteps = (n_settle + cfg["periods"]) * steps_per_period
    path = ctx.path("timeseries", f"shapiro_drive{ratio:.4f}.h5") if record else None
    run = simulate(params, nsteps, record_every, path=path, progress=False, ctx=ctx)
    d = load(path if record else run.recorder, ["twist"], t_start=(n_settle - 0.01) * period)
    return {
        "d_omega": ratio * d_omega_c,
        "drive_ratio": ratio,
        "winding_rate": winding_rate(d["time"], d["twist"][:, w]),
        "w_d": w_d,
        "d_omega_c": d_omega_c,
    }


def step_of(rate: float, w_d: float, periods: int) -> int | None:
    """The step n a mean rate sits on (None: between steps)."""
    n = int(round(rate / w_d))
    return n if junction.on_step(n, rate, w_d, periods) else None


def coarse_steps(points, periods) -> dict:
    """n -> (lowest, highest) index of the coarse sweep's points on step n."""
    out = {}
    for k, p in enumerate(points):
        n = step_of(p["winding_rate"], p["w_d"], periods)
        if n is not None and n in STEPS:
            lo, hi = out.get(n, (k, k))
            out[n] = (min(lo, k), max(hi, k))
    return out


def edges(on, grid, index_range, tol) -> tuple[float | None, float | None]:
    """(lower, upper) edges of a step seen on ``grid`` at indices ``index_range``, refined by bisection
    with ``on(drive) -> bool``; an edge is None where the step reaches an end of the sweep (n = 0 at
    drive 0, or a step running past max_ratio): no edge was found there, none is reported."""
    lo, hi = index_range
    lower = None if lo == 0 else junction.bisect_edge(on, grid[lo], grid[lo - 1], tol)
    upper = None if hi + 1 == len(grid) else junction.bisect_edge(on, grid[hi], grid[hi + 1], tol)
    return lower, upper


def junction_edges(cfg, beta_c, n, near: tuple, tol: float) -> tuple[float | None, float | None]:
    """The mapped junction's edges of step n, bracketed from the rod's edges ``near``: a drive on
    the junction's step is searched inward from the rod's edge (steps of 10 tol, halved down to
    tol/2 when the step is narrower than the search step) within the sweep [0, max_ratio], then
    widened outward to a drive off it; None where the junction shows no step n there, or its step
    runs on more than max_ratio past the rod's edge."""
    span = cfg["max_ratio"]

    def on(i0):
        rate = junction.ac_rate(
            i0, cfg["modulation_ratio"], cfg["w_d_ratio"], beta_c, periods=cfg["periods"], settle=cfg["settle_periods"]
        )
        return step_of(rate, cfg["w_d_ratio"], cfg["periods"]) == n

    def bracket(edge, outward):  # outward = +1: the step lies below the edge; -1: above it
        step = 10 * tol
        while True:
            drives = edge - outward * step * np.arange(1, int(span / step) + 2)
            inside = next((x for x in drives if 0.0 <= x <= span and on(x)), None)
            if inside is not None:
                break
            step /= 2
            if step < tol / 2:
                return None
        outside = edge + outward * step
        while on(outside):
            outside += outward * step
            if abs(outside - edge) > span:  # the junction's step runs on far past the rod's
                return None
        return junction.bisect_edge(on, inside, outside, tol)

    return tuple(None if edge is None else bracket(edge, outward) for edge, outward in zip(near, (-1, +1)))


def plot(points, steps, steps_junction, cfg, ctx) -> None:
    fig, ax = new_figure(1, 1, width=7.0, height=4.8)
    a = ax[0, 0]
    d_omega_c, w_d = points[0]["d_omega_c"], points[0]["w_d"]
    x = np.array([p["d_omega"] for p in points]) / d_omega_c
    a.plot(x, np.array([p["winding_rate"] for p in points]) / w_d, "o", ms=3, label="rod, coarse sweep")
    xf = np.linspace(0, x.max(), 400)
    a.plot(xf, adler_frequency(xf, 1.0) / cfg["w_d_ratio"], "k:", lw=1, label="Adler, no modulation")
    for rows, style, name in (
        (steps, {"color": "C3", "lw": 2.5, "alpha": 0.5}, "rod step (bisected edges)"),
        (steps_junction, {"color": "k", "lw": 1.0, "ls": "--"}, "junction step"),
    ):
        for k, st in enumerate(rows):
            lo = 0.0 if st["lower"] is None else st["lower"]
            hi = cfg["max_ratio"] if st["upper"] is None else st["upper"]  # a step past the sweep's end
            a.plot([lo, hi], [st["n"], st["n"]], label=name if k == 0 else None, **style)
    a.set(
        xlabel="mean drive d_omega / d_omega_c",
        ylabel="mean winding rate / w_d",
        title=f"Shapiro steps ({cfg['modulation']} modulation): w_d = {cfg['w_d_ratio']:g} d_omega_c, "
        f"amplitude {cfg['modulation_ratio']:g} d_omega_c",
    )
    a.title.set_fontsize(9)
    a.legend(fontsize=8)
    save(fig, ctx.path("figures", "rod_shapiro.png"))


@scenario(
    "rod-shapiro",
    "phase locking of the weak-link oscillation to a modulated reservoir: Shapiro steps "
    "with bisected edges against the mapped Josephson junction",
    defaults,
    KEYS,
    precheck,
)
def run(cfg, ctx) -> dict:
    grid = np.linspace(0.0, cfg["max_ratio"], cfg["points"])
    points = [run_point(cfg, float(r), ctx) for r in progress(grid, desc="drive sweep", quiet=ctx.quiet, leave=False)]
    d_omega_c, w_d = points[0]["d_omega_c"], points[0]["w_d"]
    beta_c = junction.junction_beta_c(cfg["C"] * cfg["n_half"], d_omega_c, cfg["k"])
    found = coarse_steps(points, cfg["periods"])
    steps, steps_junction = [], []
    for n in sorted(found):

        def on(ratio, n=n):
            return step_of(run_point(cfg, ratio, ctx, record=False)["winding_rate"], w_d, cfg["periods"]) == n

        lower, upper = edges(on, grid, found[n], cfg["edge_tol"])
        j_lower, j_upper = junction_edges(cfg, beta_c, n, (lower, upper), cfg["edge_tol"])
        steps.append({"n": n, "lower": lower, "upper": upper})
        steps_junction.append({"n": n, "lower": j_lower, "upper": j_upper})
        ctx.log(f"  step n={n}: rod [{lower}, {upper}], junction [{j_lower}, {j_upper}] d_omega_c")
    shifts = [r[k] - j[k] for r, j in zip(steps, steps_junction) for k in ("lower", "upper") if r[k] is not None]
    plot(points, steps, steps_junction, cfg, ctx)
    checks = {"steps_0_to_3_present": set(STEPS) <= set(found)}
    if cfg["modulation"] == "antisymmetric":
        checks["edges_within_0.005_of_the_junction"] = bool(shifts) and max(map(abs, shifts)) <= EDGE_AGREEMENT
    return {
        "scenario": "rod-shapiro",
        "modulation": cfg["modulation"],
        "w_d": w_d,
        "d_omega_c": d_omega_c,
        "beta_c": beta_c,
        "steps": steps,
        "steps_junction": steps_junction,
        "metrics": {
            "edge_shift_max": max(map(abs, shifts)) if shifts else None,
            "edge_shift_mean": float(np.mean(shifts)) if shifts else None,
        },
        "sweep": [{k: p[k] for k in ("d_omega", "winding_rate")} for p in points],
        "checks": checks,
    }
