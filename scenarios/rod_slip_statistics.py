"""rod-slip-statistics: waiting times between thermally activated phase slips across a weak link.

A stiff rod with one weak link K_w, biased by a bath difference to carry a current
J = s J_c (J_c = omega0 K_w / m), noise on. Thermal kicks take the link's phase over the
barrier of its tilted washboard, U(phi) = -(K_w/m^2) cos(m phi) - (J/omega0) phi:

    dU(s) = (2 K_w / m^2) [ sqrt(1 - s^2) - s arccos(s) ]

(the activation energy, from the two stationary points of U). The tilt is set by the baths:
s = bias, the current the rod carries while the link sits in a well. (The measured mean
current is lower: each slip's winding opens a temperature step that the contacts feed.)

Two yardsticks for the rate. If each half of the rod were one lumped body, the phase would
move overdamped in U with the contacts' friction eta = k / (2 omega0 omega0') (for
k_L = k_R = k), and Kramers' high-friction rate would be

    rate = sqrt(U''_min |U''_max|) / (2 pi eta) exp(-dU/T)
         = K_w sqrt(1 - s^2) omega0 omega0' / (pi k) exp(-dU/T)      (m = 1).

But the halves are lossless torsional lines (second sound) with the contacts only at their
far ends: on the time scale of a barrier crossing the link feels their wave conductance
sqrt(C K omega0 omega0'), far below k, so it escapes faster. Langer's multidimensional rate
takes that into account:

    rate = lambda_+ / (2 pi) exp(-dU/T),

with lambda_+ the growth rate of the whole linearised rod (every ring, the contacts) about
the saddle (the weak link at its barrier top, torque slope -K_w sqrt(1 - s^2); the Hessians'
determinants at the well and the saddle then have equal magnitude). It neglects the slow
exchange of energy with the weakly damped halves, so it is an upper bound that the
measured rate should approach as the barrier grows.

Slips are a Poisson process (exponential waiting times). Measured from trajectories for a
grid of temperatures and biases, with replicas for error bars: the waiting-time
distribution (Kolmogorov-Smirnov against the exponential, coefficient of variation), the
mean rate against both formulas (ratio per point), and a plain fit
ln(rate) = ln(A) - b dU/T (b = 1 only if the prefactor were constant; here it is not).
The `power` clock law (omega0 ~ T) is used: at these low temperatures the linear law's
omega0(0) > 0 would let the stiff links drain rings below zero energy.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim.config_keys import REDUCED, Key
from sim.progress import progress
from sim.rod.analysis import count_slips, winding_rate
from sim.rod.linear import linearised_generator
from sim.rod.model import LAWS, RodParams, domega0_dT, make_law, weak_link_couplings
from sim.rod.runner import load, simulate
from sim.scenario import scenario
from sim.stats import least_squares
from sim.viz.plots import new_figure, save

KRAMERS_BARRIER = 4.0  # dU/T above which slips are tested for Poisson statistics

KEYS = {
    "N": Key("rings of the rod", "integer", low=2),
    "weak_link": Key("index of the weak link (0 .. N-2; link i joins rings i and i+1)", "integer", low=0),
    "K": Key(
        "torque amplitude of the stiff links (at least K_w: they carry the current without slipping)",
        unit=REDUCED,
        low=0,
        low_open=True,
    ),
    "K_w": Key(
        "torque amplitude of the weak link: its critical current J_c = omega0 K_w / m and barrier 2 K_w / m^2",
        unit=REDUCED,
        low=0,
        low_open=True,
    ),
    "m": Key("periodicity of the link torque (density peaks per ring)", "integer", low=1),
    "C": Key("heat capacity per ring", unit=REDUCED, low=0.5),
    "k": Key(
        "contact conductance of each reservoir (k_L = k_R = k): the friction of the slipping phase",
        unit=REDUCED,
        low=0,
        low_open=True,
    ),
    "law": Key("clock law omega0(T): a table with `name` and its parameters (docs/model.md §A2)", "mapping"),
    "law.name": Key("clock law", "choice", choices=tuple(LAWS)),
    "temperatures": Key("mean reservoir temperatures of the grid", "numbers", unit=REDUCED, low=0, low_open=True),
    "bias": Key(
        "currents of the grid as J / J_c, set by the bath difference (below 1: the link has a well)",
        "numbers",
        low=0,
        high=1,
        high_open=True,
    ),
    "replicas": Key("independent runs per grid point, for the error bars", "integer", low=1),
    "t_run": Key("length of each run", unit=REDUCED, low=0, low_open=True),
    "dt": Key("time step", unit=REDUCED, low=0, low_open=True),
    "record_every": Key("steps between recorded frames (slips are counted from the frames)", "integer", low=1),
}


def defaults(quick: bool) -> dict:
    return {
        "N": 8,
        "weak_link": 3,
        "K": 4.0,
        "K_w": 1.0,
        "m": 1,
        "C": 50.0,
        "k": 50.0,
        "law": {"name": "power", "w_ref": 1.0, "p": 1.0, "T_ref": 1.0},
        "temperatures": [0.25, 0.3, 0.35],
        "bias": [0.2, 0.35, 0.5],  # J / J_c set by the bath difference
        "replicas": 2 if quick else 4,
        "t_run": 4.0e5 if quick else 2.0e6,
        "dt": 0.2,
        "record_every": 500,
        "seed": 0,
    }


def barrier(s, K_w, m=1):
    """Activation energy of the tilted washboard at bias s = J/J_c (reduced energy units)."""
    s = np.asarray(s, float)
    return 2.0 * K_w / m**2 * (np.sqrt(1.0 - s * s) - s * np.arccos(s))


def law_for(cfg):
    return make_law(cfg["law"])


def kramers_rate(law, T, s, cfg):
    """Overdamped Kramers rate of the weak link's slips (per unit time) for lumped halves, see
    the module docstring."""
    w, dw = float(law.omega0(T)), float(domega0_dT(law, T))
    K_w, m, k = cfg["K_w"], cfg["m"], cfg["k"]
    prefactor = K_w / m**2 * np.sqrt(1.0 - s * s) * w * dw / (np.pi * k)
    return prefactor * np.exp(-barrier(s, K_w, m) / T)


def langer_rate(law, T, s, cfg):
    """Langer's rate lambda_+ / (2 pi) exp(-dU/T) (per unit time), lambda_+ the growth rate of
    the rod linearised about the saddle (module docstring)."""
    params = rod_params(cfg, law, T, 0.0, seed=0)
    K = np.asarray(params.K, float)
    m = cfg["m"]
    slopes = K * np.cos(np.arcsin(s * cfg["K_w"] / K))  # every link carries the current s J_c ...
    slopes[cfg["weak_link"]] *= -1.0  # ... the weak one from its barrier top
    growth = float(np.max(np.linalg.eigvals(linearised_generator(params, T, slopes)).real))
    return growth / (2.0 * np.pi) * np.exp(-barrier(s, cfg["K_w"], m) / T)


def rod_params(cfg, law, T, dT, seed) -> RodParams:
    """The rod between baths at T +- dT/2 (noise on)."""
    return RodParams(
        N=cfg["N"],
        C=cfg["C"],
        K=weak_link_couplings(cfg["N"], cfg["K"], cfg["K_w"], cfg["weak_link"]),
        m=cfg["m"],
        law=law,
        k_L=cfg["k"],
        k_R=cfg["k"],
        T_L=T + dT / 2,
        T_R=T - dT / 2,
        T_init=T,
        dt=cfg["dt"],
        noise=True,
        seed=seed,
    )


def run_point(cfg, T, bias, ctx) -> list[dict]:
    """The replicas of one grid point, run as one batch (one kernel call for all of them);
    replica r's file is the one its run alone would write."""
    law = make_law(cfg["law"])
    J_c = float(law.omega0(T)) * cfg["K_w"] / cfg["m"]
    dT = bias * J_c * 2.0 / cfg["k"]
    seeds = [cfg["seed"] + 1000 * r + int(round(1e4 * T)) + int(round(100 * bias)) for r in range(cfg["replicas"])]
    params = rod_params(cfg, law, T, dT, seeds[0])
    nsteps = int(cfg["t_run"] / cfg["dt"]) // cfg["record_every"] * cfg["record_every"]
    paths = [ctx.path("timeseries", f"slips_T{T:g}_s{bias:g}_r{r}.h5") for r in range(cfg["replicas"])]
    simulate(params, nsteps, cfg["record_every"], path=paths, progress=False, ctx=ctx, seeds=seeds)
    runs = []
    for replica, path in enumerate(paths):
        d = load(path, ["twist", "link_heat"])
        w = cfg["weak_link"]
        slips = count_slips(d["twist"][:, w], cfg["m"])
        times = d["time"][slips["times"]]
        J = winding_rate(d["time"], d["link_heat"][:, w])
        runs.append(
            {
                "T": T,
                "bias": bias,
                "replica": replica,
                "slips": slips["total"],
                "net": slips["net"],
                "waits": np.diff(times).tolist(),
                "t_run": float(d["time"][-1] - d["time"][0]),
                "J_over_Jc": J / J_c,
                "other_link_slips": count_slips(np.delete(d["twist"], w, axis=1), cfg["m"])["total"],
            }
        )
    return runs


def analyse(runs, cfg) -> dict:
    points = []
    for T in cfg["temperatures"]:
        for bias in cfg["bias"]:
            rs = [r for r in runs if r["T"] == T and r["bias"] == bias]
            rates = np.array([r["slips"] / r["t_run"] for r in rs])
            waits = np.concatenate([r["waits"] for r in rs]) if any(r["waits"] for r in rs) else np.array([])
            s_measured = float(np.mean([r["J_over_Jc"] for r in rs]))
            entry = {
                "T": T,
                "bias": bias,
                "J_over_Jc": s_measured,
                "slips": int(sum(r["slips"] for r in rs)),
                "rate": float(rates.mean()),
                # replica scatter, but never below the counting error sqrt(n)/t (a few replicas can agree by chance)
                "rate_stderr": float(
                    max(
                        rates.std(ddof=1) / np.sqrt(rates.size) if rates.size > 1 else 0.0,
                        np.sqrt(max(sum(r["slips"] for r in rs), 1)) / sum(r["t_run"] for r in rs),
                    )
                ),
                "barrier_over_T": float(barrier(bias, cfg["K_w"], cfg["m"]) / T),
                "mean_wait": float(waits.mean()) if waits.size else float("nan"),
                "cv_wait": float(waits.std(ddof=1) / waits.mean()) if waits.size > 2 else float("nan"),
                "ks_pvalue_exponential": float(stats.kstest(waits / waits.mean(), "expon").pvalue)
                if waits.size > 5
                else float("nan"),
                "waits_n": int(waits.size),
            }
            for name, formula in (("kramers", kramers_rate), ("langer", langer_rate)):
                entry[f"rate_{name}"] = float(formula(law_for(cfg), T, bias, cfg))
                entry[f"rate_over_{name}"] = entry["rate"] / entry[f"rate_{name}"]
                entry[f"rate_over_{name}_stderr"] = entry["rate_stderr"] / entry[f"rate_{name}"]
            points.append(entry)
    usable = [p for p in points if p["slips"] >= 10]
    if len(usable) < 3:  # how many slips a run sees is known only after it: say what to raise
        raise ValueError(
            f"only {len(usable)} of the {len(points)} (T, bias) points saw >= 10 slips, and the Arrhenius fit "
            f"needs 3; raise t_run (= {cfg['t_run']!r}), replicas (= {cfg['replicas']!r}) or the temperatures"
        )
    x = np.array([p["barrier_over_T"] for p in usable])
    y = np.log([p["rate"] for p in usable])
    sy = np.array([p["rate_stderr"] / p["rate"] for p in usable])
    # weighted least squares: rows scaled by 1/sigma of ln(rate) (replica scatter)
    fit = least_squares(np.column_stack([np.ones_like(x), -x]) / sy[:, None], y / sy)
    out = {
        "points": points,
        "arrhenius_slope": float(fit["coef"][1]),
        "arrhenius_slope_stderr": float(fit["stderr"][1]),
        "prefactor": float(np.exp(fit["coef"][0])),
        "fit_points": len(usable),
        "centroid": [float(x.mean()), float(y.mean())],
    }
    for name in ("kramers", "langer"):
        ratio = np.array([p[f"rate_over_{name}"] for p in usable])
        rel_err = np.array([p[f"rate_over_{name}_stderr"] for p in usable]) / ratio
        # d ln(measured/formula) / d(dU/T): 0 if the formula's dependence on s and T were exact
        trend = least_squares(np.column_stack([np.ones_like(x), x]) / rel_err[:, None], np.log(ratio) / rel_err)
        out.update(
            {
                f"{name}_ratio_mean": float(np.exp(np.mean(np.log(ratio)))),
                f"{name}_ratio_range": [float(ratio.min()), float(ratio.max())],
                f"{name}_ratio_trend": float(trend["coef"][1]),
                f"{name}_ratio_trend_stderr": float(trend["stderr"][1]),
            }
        )
    return out


def plot(result, cfg, ctx) -> None:
    fig, ax = new_figure(2, 1, width=5.0)
    for T in cfg["temperatures"]:
        ps = [p for p in result["points"] if p["T"] == T and p["slips"] > 0]
        ax[0, 0].errorbar(
            [p["barrier_over_T"] for p in ps],
            [p["rate"] for p in ps],
            yerr=[p["rate_stderr"] for p in ps],
            fmt="o",
            label=f"T = {T:g}",
        )
    xs = np.linspace(0, max(p["barrier_over_T"] for p in result["points"]) * 1.05, 50)
    ax[0, 0].plot(
        xs,
        result["prefactor"] * np.exp(-result["arrhenius_slope"] * xs),
        "k-",
        lw=1,
        label=f"fit: slope {result['arrhenius_slope']:.2f} +- {result['arrhenius_slope_stderr']:.2f}",
    )
    x0, y0 = result["centroid"]
    ax[0, 0].plot(xs, np.exp(y0 - (xs - x0)), "k:", lw=1, label="exp(-dU/T), through the data")
    for T, color in zip(cfg["temperatures"], ("C0", "C1", "C2")):
        ps = sorted((p for p in result["points"] if p["T"] == T), key=lambda p: p["barrier_over_T"])
        for name, style in (("kramers", "--"), ("langer", "-.")):
            ax[0, 0].plot(
                [p["barrier_over_T"] for p in ps], [p[f"rate_{name}"] for p in ps], style, color=color, lw=0.8
            )
    ax[0, 0].plot([], [], "k--", lw=0.8, label="Kramers, lumped halves (dashed, per T)")
    ax[0, 0].plot([], [], "k-.", lw=0.8, label="Langer, whole linearised rod (dash-dot)")
    ax[0, 0].set(
        yscale="log",
        xlabel="barrier dU(bias) / T",
        ylabel="slips per unit time",
        title="thermally activated phase slips",
    )
    ax[0, 0].legend(fontsize=7)
    best = max(
        (p for p in result["points"] if p["barrier_over_T"] >= KRAMERS_BARRIER),
        key=lambda p: p["waits_n"],
        default=max(result["points"], key=lambda p: p["waits_n"]),
    )
    waits = np.concatenate([r["waits"] for r in result["_runs"] if r["T"] == best["T"] and r["bias"] == best["bias"]])
    ax[0, 1].hist(
        waits / waits.mean(),
        bins=30,
        density=True,
        alpha=0.6,
        label=f"T = {best['T']:g}, J/J_c = {best['J_over_Jc']:.2f}",
    )
    u = np.linspace(0, 6, 200)
    ax[0, 1].plot(u, np.exp(-u), "k-", label="exponential")
    ax[0, 1].set(yscale="log", xlabel="waiting time / mean", ylabel="density", title="waiting-time distribution")
    ax[0, 1].legend(fontsize=7)
    save(fig, ctx.path("figures", "rod_slip_statistics.png"))


def precheck(cfg) -> None:
    """Every (temperature, bias) rod of the run builds before any runs."""
    law = make_law(cfg["law"])
    for T in cfg["temperatures"]:
        for bias in cfg["bias"]:
            rod_params(cfg, law, T, bias * float(law.omega0(T)) * cfg["K_w"] / cfg["m"] * 2.0 / cfg["k"], seed=0)


@scenario(
    "rod-slip-statistics",
    "waiting times of thermally activated phase slips vs J/J_c and T: Poisson and Arrhenius",
    defaults,
    KEYS,
    precheck,
)
def run(cfg, ctx) -> dict:
    grid = [(T, b) for T in cfg["temperatures"] for b in cfg["bias"]]
    runs = [
        run
        for T, b in progress(grid, desc="slip batches", quiet=ctx.quiet, leave=False)
        for run in run_point(cfg, T, b, ctx)
    ]
    result = analyse(runs, cfg)
    result["_runs"] = runs
    plot(result, cfg, ctx)
    result.pop("_runs")
    # Kramers' Poisson picture needs a high barrier; below ~4 k_B T the drive's deterministic
    # transit makes the waiting times more regular (coefficient of variation < 1)
    kramers = [p for p in result["points"] if p["waits_n"] >= 20 and p["barrier_over_T"] >= KRAMERS_BARRIER]
    result["kramers_points"] = len(kramers)

    def rising(key, across):
        # rate grows with T at fixed bias and with bias at fixed T (beyond 3 combined errors)
        groups = {}
        for p in result["points"]:
            groups.setdefault(p[key], []).append(p)
        return all(
            b["rate"] - a["rate"] > -3 * np.hypot(a["rate_stderr"], b["rate_stderr"])
            for g in groups.values()
            for a, b in zip(sorted(g, key=lambda p: p[across]), sorted(g, key=lambda p: p[across])[1:])
        )

    checks = {
        "slips_only_at_the_weak_link": all(r["other_link_slips"] == 0 for r in runs),
        "waiting_times_exponential_above_4_kT": bool(kramers)
        and all(p["ks_pvalue_exponential"] > 1e-3 / len(kramers) for p in kramers),
        "rate_rises_with_temperature_and_bias": rising("bias", "T") and rising("T", "bias"),
        # Langer's rate neglects the slow energy exchange with the weakly damped halves: an upper
        # bound (within 3 errors) that the measured rate approaches as the barrier grows
        "rate_below_langer_bound": all(
            p["rate_over_langer"] - 3 * p["rate_over_langer_stderr"] < 1 for p in result["points"] if p["slips"] >= 10
        ),
        "langer_ratio_rises_with_barrier": result["langer_ratio_trend"] > 3 * result["langer_ratio_trend_stderr"],
    }
    return {"scenario": "rod-slip-statistics", **result, "checks": checks}
