"""drag-sic, drag-sic-au: thermal photon drag between two parallel dimers (seed Fig. 2).

The drive dimer (1, 2; centre distance d) is thermostated at T1 = T2 + dT, T2; the
passive dimer (3 facing 1, 4 facing 2, at centre distance h) is free. The environment is
OFF, as in the seed (stated in the config). R_D = (T3 - T4)/J is measured from the steady
state of the dynamics (``sim.radiative.dynamics.steady_state``, criterion rtol, K-relative
distance along the slowest mode), and checked against two separate routes
(``sim.radiative.drag``): R_D_balance (root of the nonlinear balance, fresh quadratures)
and R_D_linear (seed Eq. 12 with G at (T1 + T2)/2).

d = 2R (the seed's value read as a centre distance: touching spheres, allowed by the
Network at exactly R_i + R_j) is run with its DipoleApproximationWarning recorded, beside
d = 3R. h starts at 2R (touching again for the passive dimer, same treatment).
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from sim.radiative.drag import drag_point, sign_change_boundaries
from sim.scenario import scenario
from sim.viz.plots import new_figure, save

BALANCE_TOL = 1e-3    # |R_D / R_D_balance - 1| at every h (issue)
LINEAR_TOL_1K = 5e-3  # |R_D / R_D_linear - 1| with a drive dT <= 1 K (issue)
SYSTEMS = {"drag-sic": ["SiC", "SiC", "SiC", "SiC"], "drag-sic-au": ["SiC", "Au", "Au", "SiC"]}


def defaults(quick: bool) -> dict:
    return {
        "R": 100e-9, "T2": 300.0, "dT": 50.0,
        "d_over_R": [2.0, 3.0],
        "h_min_over_R": 2.0, "h_max": 5e-6, "n_h": 8 if quick else 24,
        "rtol_steady": 1e-13,  # steady-state criterion; T3 - T4 is down to 1e-10 T at 5 um
        "environment": False,  # as in the seed's studies (near field dominates)
    }


def run_system(name, cfg, ctx) -> dict:
    if cfg["environment"]:
        raise ValueError("environment = True; allowed for the drag scenarios: false (the seed neglects it)")
    mats = SYSTEMS[name]
    R, T2 = cfg["R"], cfg["T2"]
    T1 = T2 + cfg["dT"]
    h = np.geomspace(cfg["h_min_over_R"] * R, cfg["h_max"], int(cfg["n_h"]))
    out = {"h": h.tolist(), "materials": mats, "T1": T1, "T2": T2, "by_d": {}}
    for dR in cfg["d_over_R"]:
        rows = [drag_point(R, dR * R, hh, mats, T1, T2, cfg["rtol_steady"]) for hh in h]
        key = f"{dR:g}R"
        res = {
            "d": dR * R,
            "J": [r["dyn"]["J"] for r in rows],
            "J_thermostat2": [r["dyn"]["J2"] for r in rows],
            "dT_passive": [r["dyn"]["dT_passive"] for r in rows],
            "R_D": [r["dyn"]["R_D"] for r in rows],
            "R_D_balance": [r["balance"]["R_D"] for r in rows],
            "R_D_linear": [r["linear"]["R_D"] for r in rows],
            "T3": [float(r["dyn"]["T"][2]) for r in rows], "T4": [float(r["dyn"]["T"][3]) for r in rows],
            "steps_to_steady": [r["dyn"]["steps"] for r in rows],
            "time_to_steady_s": [r["dyn"]["time"] for r in rows],
            "tau_relax_s": [r["dyn"]["tau_relax"] for r in rows],
            "stiffness_ratio": [r["dyn"]["stiffness"] for r in rows],
            "steady_criterion": [r["dyn"]["criterion"] for r in rows],
            "steady_round_off_limited": [r["dyn"]["round_off_limited"] for r in rows],
            "balance_residual": [r["balance"]["residual"] for r in rows],
            "dipole_warnings": sorted({w for r in rows for w in r["warnings"]}),
        }
        RD, RB, RL = (np.array(res[k]) for k in ("R_D", "R_D_balance", "R_D_linear"))
        res["dev_balance_max"] = float(np.max(np.abs(RD / RB - 1)))
        res["dev_linear_max"] = float(np.max(np.abs(RD / RL - 1)))
        res["negative_h"] = h[RD < 0].tolist()
        res["sign_change_h"] = sign_change_boundaries(h, RD)
        res["positive_and_decreasing"] = bool(np.all(RD > 0) and np.all(np.diff(RD) < 0))
        out["by_d"][key] = res
        ctx.log(f"  {name} d={key}: R_D from {RD[0]:.4g} to {RD[-1]:.4g} K/W; dev balance {res['dev_balance_max']:.2e}, "
                f"dev linear {res['dev_linear_max']:.2e}; sign changes at h = {res['sign_change_h']}")
    return out


def checks(name, out, cfg) -> tuple[dict, dict]:
    """(checks, deviations_from_seed): deviations are must-hold statements of the issue that
    this model does not reproduce, each with the reason (kept visible, not dropped)."""
    ch, dev = {}, {}
    by = out["by_d"]
    ch["R_D_matches_balance_0.1pct"] = all(r["dev_balance_max"] < BALANCE_TOL for r in by.values())
    ch["dynamics_reached_steady_state"] = all(max(r["steps_to_steady"]) > 0 for r in by.values())
    ch["J_conserved_no_environment"] = all(np.allclose(r["J"], -np.array(r["J_thermostat2"]), rtol=1e-9) for r in by.values())
    ch["linear_deviation_max"] = max(r["dev_linear_max"] for r in by.values())  # reported: nonlinearity of the drive
    if cfg["dT"] <= 1.0:
        ch["linear_deviation_below_0.5pct"] = ch["linear_deviation_max"] < LINEAR_TOL_1K
    if name == "drag-sic":
        for k, r in by.items():
            ch[f"R_D_positive_decreasing_d{k}"] = r["positive_and_decreasing"]
            if not r["positive_and_decreasing"]:
                dev[f"R_D_positive_decreasing_d{k}"] = (
                    "the dressed (many-body) conductances of this model give G14 > G13 at intermediate h when the "
                    "drive dimer's particles are strongly hybridised (d <= 3R), so R_D < 0 there (seed Fig. 2a: "
                    f"positive); negative at h = {np.round(np.array(r['negative_h']) / cfg['R'], 2).tolist()} R")
    else:
        neg = {k: r["sign_change_h"] for k, r in by.items() if r["negative_h"]}
        ch["negative_drag_range_exists"] = bool(neg)
        ch["negative_drag_boundaries_h"] = neg
    return ch, dev


def plot(name, out, cfg, ctx) -> None:
    fig, ax = new_figure(2, 1, width=4.8)
    h_nm = np.array(out["h"]) * 1e9
    for k, r in out["by_d"].items():
        RD = np.array(r["R_D"])
        ln, = ax[0, 0].plot(h_nm, np.abs(RD), "o-", ms=3, label=f"|R_D| dynamics, d = {k}")
        ax[0, 0].plot(h_nm[RD < 0], np.abs(RD[RD < 0]), "x", color="k", ms=6)
        ax[0, 0].plot(h_nm, np.abs(r["R_D_linear"]), "--", color=ln.get_color(), lw=1, label=f"Eq. 12 linear, d = {k}")
        ax[0, 1].plot(h_nm, np.abs(r["dT_passive"]), "o-", ms=3, color=ln.get_color(), label=f"|T3 - T4|, d = {k}")
    ax[0, 0].set(xscale="log", yscale="log", xlabel="h (nm)", ylabel="|R_D| (K/W)",
                 title=f"{name}: drag resistance (x: R_D < 0), dT = {cfg['dT']:g} K")
    ax[0, 1].set(xscale="log", yscale="log", xlabel="h (nm)", ylabel="|T3 - T4| (K)", title="induced temperature difference")
    ax[0, 0].legend(fontsize=7)
    for a in ax[0]:
        a.xaxis.set_minor_formatter(NullFormatter())
    ax[0, 1].legend(fontsize=7)
    save(fig, ctx.path("figures", f"{name.replace('-', '_')}.png"))


def _run(name, cfg, ctx):
    out = run_system(name, cfg, ctx)
    plot(name, out, cfg, ctx)
    ch, dev = checks(name, out, cfg)
    return {"scenario": name, **out, "environment": cfg["environment"], "checks": ch, "deviations_from_seed": dev}


@scenario("drag-sic", "thermal photon drag between two SiC dimers vs separation h (seed Fig. 2a)", defaults)
def run_sic(cfg, ctx) -> dict:
    return _run("drag-sic", cfg, ctx)


@scenario("drag-sic-au", "drag in the crossed SiC/Au dimers: negative drag range (seed Fig. 2b)", defaults)
def run_sic_au(cfg, ctx) -> dict:
    return _run("drag-sic-au", cfg, ctx)
