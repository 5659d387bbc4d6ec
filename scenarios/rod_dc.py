"""rod-dc: the DC heat supercurrent emerges and does not depend on the rod's length.

Rods of N rings between two reservoirs at T_L > T_R, as superconducting rods (link
coupling K, no normal conduction) and as normal rods (K = 0, conduction g). Every current
is measured from the trajectory: reservoir heats and link energy transfers are bookkept
by the kernel, and their rates after a burn-in are the currents. The closed forms of
docs/model.md §A4.1-A4.3 are computed beside them as yardsticks.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from sim.config_keys import REDUCED, Key
from sim.rod import keys as rod_keys
from sim.rod.linear import steady_current
from sim.rod.model import RodParams, make_law
from sim.rod.runner import load, simulate
from sim.scenario import scenario
from sim.stats import block_average, rate_from_cumulative
from sim.viz.plots import new_figure, save

REL_TOL = 0.05  # tolerance on every current: max(3 stderr, 5 %)

KEYS = {
    "N": Key("rod lengths run (rings), each as a super and as a normal rod", "integers", low=2, high=100_000),
    "C": rod_keys.RING["C"],
    "K": Key("link torque amplitude of the super rods", unit=REDUCED, low=0),
    "m": rod_keys.RING["m"],
    **rod_keys.LAW,
    "k_L": Key("left reservoir contact conductance", unit=REDUCED, low=0, low_open=True),
    "k_R": Key("right reservoir contact conductance", unit=REDUCED, low=0, low_open=True),
    "T_L": Key("left reservoir temperature", unit=REDUCED, low=0, low_open=True),
    "T_R": Key("right reservoir temperature", unit=REDUCED, low=0, low_open=True),
    "g_normal": Key("neighbour conductance of the normal rods", unit=REDUCED, low=0, low_open=True),
    "dt": Key("time step", unit=REDUCED, low=0, low_open=True),
    "noise": Key("reservoir and conduction noise on the measuring runs", "bool"),
    "t_measure": Key("measuring window after the burn-in", unit=REDUCED, low=0, low_open=True),
    "t_deterministic": Key("noise-off companion run that checks the energy ledger", unit=REDUCED, low=0, low_open=True),
    "record_every": Key("steps between recorded frames", "integer", low=1),
}


def defaults(quick: bool) -> dict:
    return {
        "N": [16, 64] if quick else [16, 64, 256],
        "C": 50.0,
        # K = 5: the phase-slip barrier 2K/m^2 = 10 k_B T at T = 1 keeps thermally activated
        # slips out of the run (with K = 1 they cut the supercurrent by a quarter).
        "K": 5.0,
        "m": 1,
        "law": {"name": "linear", "w_ref": 1.0, "beta": 0.5, "T_ref": 1.0},
        "k_L": 0.5,
        "k_R": 0.5,
        "T_L": 1.1,
        "T_R": 0.9,
        "g_normal": 0.5,
        "dt": 0.5,
        "noise": True,
        "t_measure": 1.0e6 if quick else 2.0e6,  # measuring window after burn-in (reduced time)
        "t_deterministic": 2.0e4,  # noise-off companion run for the energy ledger
        "record_every": 2000,
        "seed": 0,
    }


def _expected_current(cfg, N, kind):
    g = cfg["g_normal"] if kind == "normal" else None
    return steady_current(cfg["T_L"] - cfg["T_R"], cfg["k_L"], cfg["k_R"], N, g)


def _burn_in(cfg, N, kind) -> float:
    """Relaxation allowance before measuring (reduced time).

    Normal rod: 4 diffusion times C (N + 2g/k)^2 / (pi^2 g) of the lowest mode. Super rod:
    10 % of the window, which is > 10 decay times of the slowest twist wave for N <= 256.
    """
    if kind == "normal":
        length = N + 2.0 * cfg["g_normal"] / min(cfg["k_L"], cfg["k_R"])
        return 4.0 * cfg["C"] * length**2 / (np.pi**2 * cfg["g_normal"])
    return 0.1 * cfg["t_measure"]


def _params(cfg, N, kind, noise, seed):
    return RodParams(
        N=N,
        C=cfg["C"],
        K=cfg["K"] if kind == "super" else 0.0,
        m=cfg["m"],
        law=make_law(cfg["law"]),
        g=0.0 if kind == "super" else cfg["g_normal"],
        k_L=cfg["k_L"],
        k_R=cfg["k_R"],
        T_L=cfg["T_L"],
        T_R=cfg["T_R"],
        dt=cfg["dt"],
        noise=noise,
        seed=seed,
    )


def _ledger_rel_error(data) -> float:
    scale = np.abs(data["energy_stored"]).max() + np.abs(data["Q_L"]).max() + np.abs(data["Q_R"]).max()
    return float(np.abs(data["ledger_error"]).max() / scale)


def run_case(cfg, N, kind, ctx, seed) -> dict:
    """One rod: the noisy measuring run and a short noise-off ledger run."""
    params = _params(cfg, N, kind, cfg["noise"], seed)
    t_burn = _burn_in(cfg, N, kind)
    nsteps = int(round((t_burn + cfg["t_measure"]) / cfg["dt"]))
    nsteps -= nsteps % cfg["record_every"]
    path = ctx.path("timeseries", f"rod_N{N}_{kind}.h5")
    simulate(params, nsteps, cfg["record_every"], path=path, progress=not ctx.quiet, desc=f"N={N} {kind}", ctx=ctx)
    d = load(
        path,
        [
            "Q_L",
            "Q_R",
            "link_heat",
            "link_impulse",
            "impulse_L",
            "impulse_R",
            "T",
            "twist",
            "ledger_error",
            "energy_stored",
            "entropy_production",
        ],
        t_start=t_burn,
    )
    t = d["time"]
    J_left = rate_from_cumulative(t, d["Q_L"])
    J_right = rate_from_cumulative(t, d["Q_R"])
    J_link = rate_from_cumulative(t, d["link_heat"].mean(axis=1))
    torque = rate_from_cumulative(t, d["link_impulse"].mean(axis=1))
    kick_L = rate_from_cumulative(t, d["impulse_L"])
    T_int = d["T"][:, 1:-1] if N > 2 else d["T"]
    T_interior = block_average(T_int.mean(axis=1))
    J_expected = _expected_current(cfg, N, kind)
    omega_int = float(params.law.omega0(T_interior["mean"]))

    det = simulate(
        _params(cfg, N, kind, False, seed),
        int(cfg["t_deterministic"] / cfg["dt"]),
        record_every=max(1, int(cfg["t_deterministic"] / cfg["dt"]) // 50),
        progress=False,
        ctx=ctx,
    )
    ledger_det = _ledger_rel_error(load(det.recorder, ["ledger_error", "energy_stored", "Q_L", "Q_R"]))

    return {
        "N": N,
        "kind": kind,
        "J_left": J_left["mean"],
        "J_right": J_right["mean"],
        "J_link_mean": J_link["mean"],
        "J_stderr": max(J_left["stderr"], J_right["stderr"], J_link["stderr"]),
        "J_expected": J_expected,
        "torque_mean": torque["mean"],
        "torque_stderr": torque["stderr"],
        "torque_expected": J_expected / omega_int if kind == "super" else 0.0,
        "kick_torque_left": kick_L["mean"],
        "T_interior_mean": T_interior["mean"],
        "T_interior_stderr": T_interior["stderr"],
        "ledger_rel_error": ledger_det,
        "ledger_rel_error_noisy": _ledger_rel_error(d),
        "entropy_production_final": float(d["entropy_production"][-1]),
        "t_burn": t_burn,
        "t_measure": float(t[-1] - t[0]),
        "torque_profile": [rate_from_cumulative(t, d["link_impulse"][:, i])["mean"] for i in range(N - 1)],
        "twist_profile": d["twist"].mean(axis=0).tolist(),
        "T_profile": d["T"].mean(axis=0).tolist(),
    }


def _within(measured, expected, stderr):
    return abs(measured - expected) <= max(3.0 * stderr, REL_TOL * abs(expected))


def checks(cases) -> dict:
    """The must-hold statements of the scenario, evaluated on its cases."""
    out = {}
    for kind in ("super", "normal"):
        cs = [c for c in cases if c["kind"] == kind]
        out[f"{kind}_currents_match_expected"] = all(
            _within(c[key], c["J_expected"], c["J_stderr"]) for c in cs for key in ("J_left", "J_link_mean")
        ) and all(_within(-c["J_right"], c["J_expected"], c["J_stderr"]) for c in cs)
    sup = sorted((c for c in cases if c["kind"] == "super"), key=lambda c: c["N"])
    if len(sup) >= 2:
        ratio = sup[-1]["J_left"] / sup[0]["J_left"]
        out["super_length_ratio"] = ratio
        out["super_length_independent"] = abs(ratio - 1.0) <= REL_TOL
    out["torque_matches_expected"] = all(
        abs(c["torque_mean"] - c["torque_expected"]) <= REL_TOL * c["torque_expected"] for c in sup
    )
    out["ledger_closes"] = all(c["ledger_rel_error"] < 1e-9 for c in cases)
    out["entropy_production_nonnegative"] = all(c["entropy_production_final"] >= 0 for c in cases)
    return out


def plot(cases, cfg, ctx) -> None:
    fig, ax = new_figure(4, 1, width=4.2)
    for kind, color in (("super", "C0"), ("normal", "C3")):
        cs = sorted((c for c in cases if c["kind"] == kind), key=lambda c: c["N"])
        N = np.array([c["N"] for c in cs])
        ax[0, 0].errorbar(
            N,
            [c["J_left"] for c in cs],
            yerr=[c["J_stderr"] for c in cs],
            fmt="o",
            color=color,
            label=f"{kind}: measured (left reservoir)",
        )
        ax[0, 0].plot(
            N, [c["J_link_mean"] for c in cs], "x", color=color, ms=9, label=f"{kind}: measured (mean over links)"
        )
        Nf = np.geomspace(N.min(), N.max(), 50)
        ax[0, 0].plot(
            Nf,
            [_expected_current(cfg, n, kind) for n in Nf],
            "-",
            color=color,
            lw=1,
            label=f"{kind}: closed form (model §A4.{1 if kind == 'super' else 3})",
        )
    ax[0, 0].set(
        xscale="log",
        yscale="log",
        xlabel="rings N",
        ylabel="heat current J (reduced)",
        title="DC heat current vs rod length",
    )
    ax[0, 0].set_xticks(sorted({c["N"] for c in cases}), [str(n) for n in sorted({c["N"] for c in cases})])
    ax[0, 0].xaxis.set_minor_formatter(NullFormatter())
    ax[0, 0].legend(fontsize=6)
    sup = sorted((c for c in cases if c["kind"] == "super"), key=lambda c: c["N"])
    for c in sup:
        x = (np.arange(c["N"] - 1) + 0.5) / (c["N"] - 1)
        ax[0, 1].plot(x, c["torque_profile"], label=f"N={c['N']}")
        ax[0, 2].plot(x, c["twist_profile"], label=f"N={c['N']}")
    if sup:
        K, m = cfg["K"], cfg["m"]
        tau = sup[0]["torque_expected"]
        ax[0, 1].axhline(tau, color="k", lw=1, ls=":", label="J/omega0 (Shi & Cheng Eq. 9)")
        ax[0, 2].axhline(np.arcsin(m * tau / K) / m, color="k", lw=1, ls=":", label="asin(m J/(omega0 K))/m")
    ax[0, 1].set(
        xlabel="position along the rod (link / N)", ylabel="time-averaged link torque", title="link torque (super rods)"
    )
    ax[0, 2].set(
        xlabel="position along the rod (link / N)", ylabel="time-averaged twist (rad)", title="link twist (super rods)"
    )
    for c in sup:
        ax[0, 3].plot(np.arange(c["N"]) / (c["N"] - 1), c["T_profile"], label=f"super N={c['N']}")
    for c in sorted((c for c in cases if c["kind"] == "normal"), key=lambda c: c["N"]):
        ax[0, 3].plot(np.arange(c["N"]) / (c["N"] - 1), c["T_profile"], "--", label=f"normal N={c['N']}")
    ax[0, 3].set(
        xlabel="position along the rod (ring / N)", ylabel="mean temperature (reduced)", title="temperature profile"
    )
    for a in ax[0, 1:]:
        a.legend(fontsize=6)
    save(fig, ctx.path("figures", "rod_dc.png"))


def precheck(cfg) -> None:
    """Every rod of the run builds (time step within its stability limit, memory) before any runs."""
    for N in cfg["N"]:
        for kind in ("super", "normal"):
            _params(cfg, N, kind, cfg["noise"], cfg["seed"])


@scenario(
    "rod-dc",
    "DC heat supercurrent vs rod length: super rods (length-independent) and normal rods (~1/N)",
    defaults,
    KEYS,
    precheck,
)
def run(cfg, ctx) -> dict:
    cases = []
    for kind in ("super", "normal"):
        for N in cfg["N"]:
            case = run_case(cfg, N, kind, ctx, cfg["seed"])
            ctx.log(
                f"  N={N:4d} {kind:6s}: J_left={case['J_left']:.5g} -J_right={-case['J_right']:.5g} "
                f"J_link={case['J_link_mean']:.5g} (+-{case['J_stderr']:.2g}), expected {case['J_expected']:.5g}"
            )
            cases.append(case)
    plot(cases, cfg, ctx)
    return {"scenario": "rod-dc", "cases": cases, "checks": checks(cases)}
