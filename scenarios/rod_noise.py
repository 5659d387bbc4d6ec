"""rod-noise: heat-current fluctuations and the fluctuation-dissipation theorem (Green-Kubo vs drive).

A rod between two reservoirs, noise on. At equilibrium (T_L = T_R = T) the heat the rod
carries from one reservoir to the other fluctuates; over a window tau much longer than the
rod's relaxation time, var(Q(tau)) = S0 tau with S0 = int <J(t) J(0)> dt over all t. The
fluctuation-dissipation theorem (Green-Kubo) says S0 = 2 k_B T^2 G, with G the conductance
that a direct drive measures: G = J / dT for a small bath difference dT. Both sides are
measured here from trajectories; the transported heat is Q = (Q_L - Q_R)/2, in which the
energy stored in the rod cancels. The spectrum of the current is shown at equilibrium and
under drive; the same comparison is made for a normal (conducting, K = 0) rod.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from sim.config_keys import REDUCED, Key
from sim.rod.model import LAWS, RodParams, make_law
from sim.rod.runner import load, simulate
from sim.scenario import scenario
from sim.stats import least_squares, rate_from_cumulative
from sim.viz.plots import new_figure, save

KEYS = {
    "kinds": Key("rods compared: a table of named rods, each with N, K and g", "mapping"),
    "kinds.super.N": Key("rings of the super rod", "integer", low=2),
    "kinds.super.K": Key("link torque amplitude of the super rod", unit=REDUCED, low=0, low_open=True),
    "kinds.super.g": Key("neighbour conductance of the super rod (0: none)", unit=REDUCED, low=0),
    "kinds.normal.N": Key("rings of the normal rod", "integer", low=2),
    "kinds.normal.K": Key("link torque amplitude of the normal rod (0: none)", unit=REDUCED, low=0),
    "kinds.normal.g": Key("neighbour conductance of the normal rod", unit=REDUCED, low=0, low_open=True),
    "C": Key("heat capacity per ring", unit=REDUCED, low=0.5),
    "k": Key("contact conductance of each reservoir", unit=REDUCED, low=0, low_open=True),
    "T": Key(
        "equilibrium temperature; the driven runs have reservoirs at T +- dT/2", unit=REDUCED, low=0, low_open=True
    ),
    "law": Key("clock law omega0(T): a table with `name` and its parameters (docs/model.md §A2)", "mapping"),
    "law.name": Key("clock law", "choice", choices=tuple(LAWS)),
    "dT_small": Key(
        "small bath difference of the direct-drive run that measures G = J / dT", unit=REDUCED, low=0, low_open=True
    ),
    "dT_large": Key(
        "bath difference of the run under drive (noise and spectrum away from equilibrium)",
        unit=REDUCED,
        low=0,
        low_open=True,
    ),
    "t_run": Key("duration of each run, burn-in of 5 relaxation times included", unit=REDUCED, low=0, low_open=True),
    "block_relaxations": Key(
        "shortest block of the var(Q(tau)) fit, in relaxation times of rod and contacts", low=0, low_open=True
    ),
    "dt": Key("time step", unit=REDUCED, low=0, low_open=True),
    "record_every": Key("steps between recorded frames", "integer", low=1),
}


def defaults(quick: bool) -> dict:
    return {
        "kinds": {"super": {"N": 16, "K": 5.0, "g": 0.0}, "normal": {"N": 8, "K": 0.0, "g": 0.5}},
        "C": 50.0,
        "k": 0.5,
        "T": 1.0,
        "law": {"name": "linear", "w_ref": 1.0, "beta": 0.5, "T_ref": 1.0},
        "dT_small": 0.05,  # direct-drive bath difference for G
        "dT_large": 0.4,  # the "under drive" case
        "t_run": 2.0e6 if quick else 1.0e7,
        "block_relaxations": 5.0,  # shortest noise block, in relaxation times of the rod and contacts
        "dt": 0.5,
        "record_every": 100,
        "seed": 0,
    }


def relaxation_time(cfg, kind) -> float:
    """Slowest relaxation of rod + contacts (reduced time): total heat capacity over the
    contact conductances, and for a normal rod also its diffusion time."""
    k = cfg["kinds"][kind]
    C_total = cfg["C"] * k["N"]
    tau = C_total / (2 * cfg["k"])
    if k["g"] > 0:
        tau = max(tau, cfg["C"] * (k["N"] + 2 * k["g"] / cfg["k"]) ** 2 / (np.pi**2 * k["g"]))
    return tau


def zero_frequency_noise(t, Q, tau_relax: float, shortest: float) -> tuple[float, float, int]:
    """S0 = lim var(Q(t + tau) - Q(t)) / tau from a cumulative record Q(t), with its error.

    var(dQ) over non-overlapping blocks of length tau = shortest, 2x, 4x, 8x the relaxation
    time; a weighted fit var = S0 tau + c. The intercept c absorbs the bounded part (energy
    moving inside the rod), which would otherwise bias a single-length estimate by ~c / tau.
    Each variance has the error var sqrt(2 / (n_blocks - 1)). The variances share the same
    data, so the fit's error (which treats them as independent) is too small; the error
    returned is the larger of it and the longest blocks' own error. Returns (S0, stderr,
    blocks at the shortest length).
    """
    step = t[1] - t[0]
    taus, variances, errors, counts = [], [], [], []
    for mult in (1, 2, 4, 8):
        per_block = max(1, int(round(mult * shortest * tau_relax / step)))
        dQ = np.diff(Q[::per_block])
        if dQ.size < 8:
            break
        dQ = dQ - dQ.mean()  # about the mean transport (zero at equilibrium)
        taus.append(per_block * step)
        variances.append(float(np.mean(dQ**2)))
        errors.append(variances[-1] * np.sqrt(2.0 / (dQ.size - 1)))
        counts.append(dQ.size)
    taus, variances, errors = map(np.asarray, (taus, variances, errors))
    fit = least_squares(np.column_stack([taus, np.ones_like(taus)]) / errors[:, None], variances / errors)
    longest_error = errors[-1] / taus[-1]
    return float(fit["coef"][0]), float(max(fit["stderr"][0], longest_error)), int(counts[0])


def _params(cfg, kind, dT, seed) -> RodParams:
    k = cfg["kinds"][kind]
    return RodParams(
        N=k["N"],
        C=cfg["C"],
        K=k["K"],
        g=k["g"],
        law=make_law(cfg["law"]),
        k_L=cfg["k"],
        k_R=cfg["k"],
        T_L=cfg["T"] + dT / 2,
        T_R=cfg["T"] - dT / 2,
        T_init=cfg["T"],
        dt=cfg["dt"],
        noise=True,
        seed=seed,
    )


def precheck(cfg) -> None:
    """Every rod of the run (each kind at the largest drive) builds before any runs, and each run
    is long enough for the zero-frequency fit: after the 5-relaxation burn-in, 8 blocks of its
    third length (4 x block_relaxations relaxation times; three lengths for two parameters)."""
    for kind in cfg["kinds"]:
        _params(cfg, kind, cfg["dT_large"], cfg["seed"])
        tau = relaxation_time(cfg, kind)
        need = (5.0 + 32.0 * cfg["block_relaxations"]) * tau
        if cfg["t_run"] < need:
            raise ValueError(
                f"t_run = {cfg['t_run']!r} is too short for the {kind} rod (relaxation time {tau:.4g}): the "
                f"zero-frequency fit needs 5 relaxation times of burn-in and 8 blocks of 4 x block_relaxations = "
                f"{4 * cfg['block_relaxations']:g} relaxation times; allowed: t_run >= {need:.4g} "
                "(or a smaller block_relaxations)"
            )


def _run(cfg, kind, dT, ctx, seed) -> dict:
    params = _params(cfg, kind, dT, seed)
    nsteps = int(cfg["t_run"] / cfg["dt"]) // cfg["record_every"] * cfg["record_every"]
    path = ctx.path("timeseries", f"noise_{kind}_dT{dT:g}.h5")
    simulate(params, nsteps, cfg["record_every"], path=path, progress=not ctx.quiet, desc=f"{kind} dT={dT:g}", ctx=ctx)
    t_burn = 5 * relaxation_time(cfg, kind)
    d = load(path, ["Q_L", "Q_R"], t_start=t_burn)
    t, Q = d["time"], 0.5 * (d["Q_L"] - d["Q_R"])
    S0, S0_err, n_blocks = zero_frequency_noise(t, Q, relaxation_time(cfg, kind), cfg["block_relaxations"])
    J = rate_from_cumulative(t, Q)
    f, psd = signal.welch(np.diff(Q) / (t[1] - t[0]), fs=1.0 / (t[1] - t[0]), nperseg=min(2**14, t.size // 8))
    omega, spectrum = _log_binned(2 * np.pi * f[1:], 0.5 * psd[1:])  # two-sided: half the one-sided density
    return {
        "kind": kind,
        "dT": dT,
        "J": J["mean"],
        "J_stderr": J["stderr"],
        "S0": S0,
        "S0_stderr": S0_err,
        "blocks": n_blocks,
        "spectrum_omega": omega.tolist(),
        "spectrum": spectrum.tolist(),
    }


def _log_binned(x, y, bins: int = 40):
    """Averages of y in log-spaced bins of x (a readable spectrum; empty bins dropped)."""
    edges = np.geomspace(x[0], x[-1] * (1 + 1e-12), bins + 1)
    idx = np.digitize(x, edges) - 1
    keep = [i for i in range(bins) if np.any(idx == i)]
    return (np.array([np.exp(np.log(x[idx == i]).mean()) for i in keep]), np.array([y[idx == i].mean() for i in keep]))


@scenario(
    "rod-noise",
    "heat-current noise: zero-frequency limit vs 2 T^2 G (Green-Kubo vs direct drive)",
    defaults,
    KEYS,
    precheck,
)
def run(cfg, ctx) -> dict:
    results = {}
    for i, kind in enumerate(cfg["kinds"]):
        eq = _run(cfg, kind, 0.0, ctx, cfg["seed"] + 3 * i)
        small = _run(cfg, kind, cfg["dT_small"], ctx, cfg["seed"] + 3 * i + 1)
        large = _run(cfg, kind, cfg["dT_large"], ctx, cfg["seed"] + 3 * i + 2)
        G = small["J"] / cfg["dT_small"]
        G_err = small["J_stderr"] / cfg["dT_small"]
        fdt = 2 * cfg["T"] ** 2 * G
        fdt_err = 2 * cfg["T"] ** 2 * G_err
        k = cfg["kinds"][kind]
        G_closed = 1.0 / (2.0 / cfg["k"] + ((k["N"] - 1) / k["g"] if k["g"] > 0 else 0.0))
        results[kind] = {
            "G_drive": G,
            "G_drive_stderr": G_err,
            "G_closed_form": G_closed,
            "S0_equilibrium": eq["S0"],
            "S0_equilibrium_stderr": eq["S0_stderr"],
            "fdt_2T2G": fdt,
            "fdt_2T2G_stderr": fdt_err,
            "S0_over_2T2G": eq["S0"] / fdt,
            "S0_driven": large["S0"],
            "S0_driven_stderr": large["S0_stderr"],
            "dT_driven": cfg["dT_large"],
            "J_driven": large["J"],
            "J_equilibrium": eq["J"],
            "J_equilibrium_stderr": eq["J_stderr"],
            "blocks": eq["blocks"],
        }
        ctx.log(
            f"  {kind}: S0 = {eq['S0']:.4g} +- {eq['S0_stderr']:.2g}, 2T^2G = {fdt:.4g} +- {fdt_err:.2g} "
            f"(G = {G:.4g}, closed form {G_closed:.4g})"
        )
        results[kind]["_spectra"] = (eq, large)
    fig, ax = new_figure(len(results), 1, width=5.0)
    for a, (kind, r) in zip(ax.ravel(), results.items()):
        eq, large = r.pop("_spectra")
        a.loglog(eq["spectrum_omega"], eq["spectrum"], "o-", ms=3, lw=0.8, label="equilibrium")
        a.loglog(
            large["spectrum_omega"], large["spectrum"], "s-", ms=3, lw=0.8, label=f"driven, dT = {cfg['dT_large']:g}"
        )
        a.axhline(r["fdt_2T2G"], color="k", ls=":", label="2 T^2 G (G from direct drive)")
        a.errorbar(
            [eq["spectrum_omega"][0] / 2],
            [r["S0_equilibrium"]],
            yerr=[r["S0_equilibrium_stderr"]],
            fmt="k*",
            ms=9,
            label="S0: slope of var(Q(tau)) vs tau",
        )
        a.set(
            xlabel="angular frequency (rad/time)",
            ylabel="current noise S(omega) (two-sided)",
            title=f"{kind} rod: heat-current noise",
        )
        a.legend(fontsize=7)
    save(fig, ctx.path("figures", "rod_noise.png"))
    checks = {}
    for kind, r in results.items():
        err = np.hypot(r["S0_equilibrium_stderr"], r["fdt_2T2G_stderr"])
        checks[f"{kind}_fdt_holds"] = bool(abs(r["S0_equilibrium"] - r["fdt_2T2G"]) <= 3 * err)
        checks[f"{kind}_G_drive_matches_closed_form"] = bool(
            abs(r["G_drive"] - r["G_closed_form"]) <= 3 * r["G_drive_stderr"]
        )
        checks[f"{kind}_zero_mean_current_at_equilibrium"] = bool(
            abs(r["J_equilibrium"]) <= 4 * r["J_equilibrium_stderr"]
        )
    return {"scenario": "rod-noise", **{f"{kind}": r for kind, r in results.items()}, "checks": checks}
