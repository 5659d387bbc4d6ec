"""hall: the photon thermal Hall effect in a C4 square of InSb spheres (Ben-Abdallah, PRL 116, 084301 (2016)).

Four InSb spheres (R = 100 nm) at the corners of a square in the plane normal to B (neighbours
3R apart), corners counter-clockwise 0..3. Corners 0 and 2 are thermostated at T + dT/2 and
T - dT/2 (the longitudinal drive); 1 and 3 are free. The network dynamics runs to its steady
state and the transverse temperature difference T_1 - T_3 is measured for each B: odd in B,
zero at B = 0.

The link to the persistent current (Guo, Guo & Fan): the antisymmetric part of the
conductance matrix is the temperature derivative of the persistent current,
G_ij - G_ji = -dJ[i, j]/dT, so in linear response (``sim.radiative.persistent.hall_ratio``)

    (T_1 - T_3)/dT = (dJ_01/dT) / (2 (G_nn + G_diag) + G_env),

with J_01 the neighbour persistent current at uniform T (spectral, by central differences),
G_nn and G_diag the symmetric neighbour and diagonal conductances and G_env the conductance
to the environment (zero without it). The scenario checks the measured steady states
against this relation, and the identity itself on the spectra.

Radiative model: electric dipoles at every B (``sim.radiative.keys.RING_MODEL``: InSb in a
field has no multipoles here, and B = 0 stays on the same footing as the fields).
"""

from __future__ import annotations

import numpy as np

from sim.config_keys import Key
from sim.radiative import Network
from sim.radiative.dynamics import NetworkParams, steady_state
from sim.radiative.geometry import ring, ring_radius_for_spacing
from sim.radiative.keys import RING_KEYS, RING_MODEL, check_rings
from sim.radiative.persistent import hall_ratio
from sim.scenario import scenario
from sim.viz.plots import new_figure, save

ROLES = ["thermostat", "free", "thermostat", "free"]
HALL_TOL = 1e-3  # measured Hall ratio vs the linear-response relation (corrections O((dT/T)^2))
IDENTITY_TOL = 1e-4  # G - G^T against -dJ/dT (central differences, rtol 1e-8 spectra)

KEYS = {
    **RING_KEYS,
    "spacing": Key(
        "side of the square: centre distance of neighbouring corners (>= 2R)", unit="m", low=0, low_open=True
    ),
    "T": Key("mean temperature of the drive, and the environment's temperature", unit="K", low=0, low_open=True),
    "dT": Key("longitudinal drive: corner 0 at T + dT/2, corner 2 at T - dT/2", unit="K", low=0, low_open=True),
    "B": Key("fields run, normal to the square (the oddness check needs pairs +-B)", "numbers", unit="T"),
    "environment": Key("runs without (Ben-Abdallah's choice) and with the vacuum field at T", "bools"),
    "dT_fd": Key("central-difference step in T for dJ_01/dT", unit="K", low=0, low_open=True),
    "rtol_steady": Key(
        "steady-state criterion of the dynamics (relative distance along the slowest mode)", low=0, low_open=True
    ),
}


def defaults(quick: bool) -> dict:
    R = 100e-9
    return {
        "R": R,
        "spacing": 3 * R,
        "material": "InSb",
        "T": 300.0,
        "dT": 2.0,  # K: mean temperature and longitudinal drive
        "B": [-5.0, -2.0, 0.0, 2.0, 5.0] if quick else [-6, -5, -4, -3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 4, 5, 6],
        "environment": [False, True],  # without (Ben-Abdallah's choice) and with the vacuum at T
        "dT_fd": 0.5,  # K, central-difference step for dJ/dT
        "rtol_steady": 1e-9,
    }


def spectral(cfg, net) -> dict:
    """dJ_01/dT (W/K), symmetric conductances (W/K) and the identity G - G^T = -dJ/dT at T."""
    T, h = cfg["T"], cfg["dT_fd"]
    G = net.conductance(T, rtol=1e-8).view(np.ndarray)
    dJ = (net.persistent_currents(T + h, rtol=1e-8) - net.persistent_currents(T - h, rtol=1e-8)).view(np.ndarray) / (
        2 * h
    )
    scale = np.abs(G).max()
    return {
        "dJ_dT": float(dJ[0, 1]),
        "G_nn": 0.5 * float(G[0, 1] + G[1, 0]),
        "G_diag": 0.5 * float(G[0, 2] + G[2, 0]),
        "G_env": float(net.environment_conductance(T, rtol=1e-8)[1][0]),
        "identity_error": float(np.abs(G - G.T + dJ).max() / scale),
        "J_01": float(net.persistent_currents(T, rtol=1e-8)[0, 1]),
    }


def measure(cfg, net, environment: bool, ctx=None) -> dict:
    """The steady state with the corners held at T +- dT/2; with a run context, checkpointed (and
    kept) per (B, environment), so an interrupted run resumes it."""
    T, dT = cfg["T"], cfg["dT"]
    params = NetworkParams(
        net, roles=ROLES, thermostats=[T + dT / 2, T - dT / 2], T_init=T, environment=environment, T_env=T
    )
    ckpt = None if ctx is None else ctx.path("steady", f"B{net.B:+g}_{'env' if environment else 'noenv'}.ckpt.npz")
    ss = steady_state(params, rtol=cfg["rtol_steady"], checkpoint_path=ckpt, ctx=ctx)
    return {"T": ss.T.tolist(), "dT_hall": float(ss.T[1] - ss.T[3]), "time": ss.time, "steps": ss.steps}


def checks(cases, cfg) -> dict:
    out = {}
    for env in cfg["environment"]:
        cs = {c["B"]: c for c in cases if c["environment"] == env}
        tag = "env" if env else "noenv"
        scale = max(abs(c["dT_hall"]) for c in cs.values())
        out[f"zero_at_B0_{tag}"] = abs(cs[0.0]["dT_hall"]) < 1e-6 * scale if 0.0 in cs else None
        # a check the fields B give no case for (no pair +-B, no B != 0) is not run: None
        odd = [abs(c["dT_hall"] + cs[-B]["dT_hall"]) / abs(c["dT_hall"]) for B, c in cs.items() if B > 0 and -B in cs]
        out[f"odd_in_B_max_rel_{tag}"] = max(odd) if odd else None
        out[f"odd_in_B_{tag}"] = max(odd) < 1e-4 if odd else None
        dev = [abs(c["ratio"] / c["ratio_linear"] - 1) for B, c in cs.items() if B != 0]
        out[f"hall_vs_dJdT_max_rel_{tag}"] = max(dev) if dev else None
        out[f"hall_matches_dJdT_relation_{tag}"] = max(dev) < HALL_TOL if dev else None
    errors = [c["identity_error"] for c in cases if c["B"] != 0]
    out["identity_max_error"] = max(errors) if errors else None
    out["antisymmetric_conductance_is_dJdT"] = max(errors) < IDENTITY_TOL if errors else None
    return out


def precheck(cfg: dict) -> None:
    """Geometry and temperatures, before anything runs."""
    check_rings(cfg, {})
    T, dT, dT_fd = cfg["T"], cfg["dT"], cfg["dT_fd"]
    if not dT < 2 * T:
        raise ValueError(
            f"dT = {dT!r} K with T = {T!r} K puts the cold corner at T - dT / 2 = {T - dT / 2:.4g} K; "
            f"allowed: dT < 2 T = {2 * T:g} K"
        )
    if not dT_fd < T:
        raise ValueError(
            f"dT_fd = {dT_fd!r} K with T = {T!r} K evaluates the currents at T - dT_fd = {T - dT_fd:.4g} K; "
            f"allowed: dT_fd < T = {T:g} K"
        )


def plot(cases, cfg, ctx) -> None:
    fig, ax = new_figure(2, 1, width=5.0)
    # the two environments give nearly the same curves: distinct markers and line styles keep both visible
    for env, color, marker, ls, size in ((False, "C0", "o", "-", 8), (True, "C3", "x", "--", 9)):
        cs = sorted((c for c in cases if c["environment"] == env), key=lambda c: c["B"])
        if not cs:
            continue
        B = np.array([c["B"] for c in cs])
        label = "with environment" if env else "without environment"
        ax[0, 0].plot(
            B, [c["dT_hall"] * 1e3 for c in cs], marker, color=color, ms=size, mfc="none", label=f"dynamics, {label}"
        )
        ax[0, 0].plot(
            B,
            [c["ratio_linear"] * cfg["dT"] * 1e3 for c in cs],
            ls,
            color=color,
            lw=1,
            label=f"dJ/dT relation, {label}",
        )
    ax[0, 0].axhline(0, color="0.5", lw=0.6)
    ax[0, 0].set(
        xlabel="B (T)",
        ylabel="T_1 - T_3 (mK)",
        title=f"transverse temperature difference (dT = {cfg['dT']:g} K, T = {cfg['T']:g} K)",
    )
    ax[0, 0].legend(fontsize=7)
    cs = sorted((c for c in cases if c["environment"] == cfg["environment"][0]), key=lambda c: c["B"])
    B = np.array([c["B"] for c in cs])
    a = ax[0, 1]
    a.plot(B, [c["dJ_dT"] * 1e15 for c in cs], "o-", color="C2", label="dJ_01/dT")
    a.set(xlabel="B (T)", ylabel="dJ_01/dT (fW/K)", title="T-derivative of the persistent current")
    b = a.twinx()
    b.plot(B, [c["J_01"] * 1e12 for c in cs], "s:", color="C4", mfc="none", ms=9, label="J_01 (right axis)")
    b.set_ylabel("persistent current J_01 (pW)", color="C4")
    a.axhline(0, color="0.5", lw=0.6)
    lines = a.get_legend_handles_labels(), b.get_legend_handles_labels()
    a.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], fontsize=7, loc="upper right")
    save(fig, ctx.path("figures", "hall.png"))


@scenario(
    "hall",
    "photon thermal Hall effect in a C4 square of InSb spheres, tied to dJ_persistent/dT",
    defaults,
    KEYS,
    precheck,
)
def run(cfg, ctx) -> dict:
    pos = ring(4, ring_radius_for_spacing(4, cfg["spacing"]))
    cases = []
    for B in sorted(float(b) for b in cfg["B"]):
        net = Network(pos, cfg["R"], cfg["material"], B=B, model=RING_MODEL)
        sp = spectral(cfg, net)
        for env in cfg["environment"]:
            m = measure(cfg, net, env, ctx)
            lin = hall_ratio(sp["G_nn"], sp["G_diag"], sp["dJ_dT"], sp["G_env"] if env else 0.0)
            case = {"B": B, "environment": env, **sp, **m, "ratio": m["dT_hall"] / cfg["dT"], "ratio_linear": lin}
            ctx.log(
                f"  B = {B:+5.2f} T, env {'on ' if env else 'off'}: T1 - T3 = {m['dT_hall'] * 1e3:+.5f} mK, "
                f"linear response (dJ/dT) {lin * cfg['dT'] * 1e3:+.5f} mK"
            )
            cases.append(case)
    plot(cases, cfg, ctx)
    top = max((c for c in cases if c["environment"] == cfg["environment"][0]), key=lambda c: c["B"])
    return {
        "scenario": "hall",
        "cases": cases,
        "hall_ratio_at_max_B": top["ratio"],
        "dT_hall_at_max_B": top["dT_hall"],
        "B_max": top["B"],
        "environment_at_max_B": top["environment"],
        "checks": checks(cases, cfg),
    }
