"""insb-persistent: persistent heat currents in two rings of InSb spheres in a magnetic field (Ben-Abdallah's Fig. 4).

Eight InSb spheres (R = 100 nm, Ben-Abdallah's carriers), four on each of two aligned,
parallel rings around the z axis, B along z (perpendicular to the rings). The ring radius
is chosen so that neighbours on a ring are 3R apart (centre to centre), the closest the
dipole model is quantitative at: radius 3R/(2 sin(pi/4)) = 212 nm. The rings are h apart
(centre distance of facing spheres; h = 2R is Ben-Abdallah's touching spheres, run with the
dipole-approximation warning, as Ben-Abdallah did).

Spectral part: the persistent-current spectrum normalised by the Planck oscillator,
T_10(w) - T_01(w) (counter-clockwise neighbour pair of the lower ring) vs wavelength, for
(a) B = 5 T, h = 2R vs rings far apart, (b) h = 2R, B = 1 T vs 5 T, (c) the single-sphere
resonances in the (wavelength, B) plane; the circulating current I (W, through a half-plane
bounded by the axis) vs h, B and T.

Dynamics part: all eight particles free, started at uniform T, evolve under the network
dynamics (``sim.radiative.dynamics``), with the environment (T_env = T) and without it;
the same with particle 0 pushed outwards, which breaks the symmetry. The measured net
powers and temperature drifts say whether every particle stays at T: with the
environment always (sum rule, docs/model.md §B3); without it only where symmetry balances
each particle, since the pair currents alone are not divergence-free.

Radiative model: electric dipoles at every B, B = 0 included (``sim.radiative.keys.RING_MODEL``:
InSb in a field has no multipoles here, and the multipole model would switch the spheres to Mie
spheres at B = 0 only).
"""

from __future__ import annotations

import math
import warnings

import h5py
import numpy as np
from matplotlib.colors import LogNorm
from scipy import constants as sc
from scipy.signal import find_peaks

from sim.config_keys import Key
from sim.radiative import Network
from sim.radiative.dynamics import NetworkParams, NetworkSystem, simulate_network
from sim.radiative.geometry import ring, ring_radius_for_spacing, stacked_rings
from sim.radiative.keys import RING_KEYS, RING_MODEL, check_rings
from sim.radiative.materials import get_material
from sim.radiative.persistent import (
    circulation,
    currents_from_pair_powers,
    principal_resonances,
    single_particle_absorption,
    spectral_extent,
)
from sim.scenario import scenario
from sim.viz.plots import new_figure, save

N_RING = 4
PHI0 = np.pi / N_RING  # the half-plane between particles 0 and 1, where circulations are read
PEAK_TOL = 0.06e-6  # m: a persistent-spectrum peak "sits at" a single-sphere resonance within this


KEYS = {
    **RING_KEYS,
    "T": Key(
        "temperature of the uniform network: spectra, sweeps, the dynamics' start and environment (> 20 K: the "
        "dynamics' tables span T - 20 K .. T + 20 K)",
        unit="K",
        low=20,
        low_open=True,
    ),
    "B_spectra": Key("fields of panel (b), rings at h_near (first and last compared)", "numbers", unit="T"),
    "B_far": Key("field of panel (a), of the sweeps vs h and T and of the dynamics", unit="T"),
    "h_near": Key(
        "ring separation (centre distance of facing spheres) of the near case (2R: touching)",
        unit="m",
        low=0,
        low_open=True,
    ),
    "h_far": Key("ring separation of the far case (beyond the near field)", unit="m", low=0, low_open=True),
    "wavelength": Key(
        "[shortest, longest wavelength, number of points] of the persistent spectra",
        "numbers",
        unit="m",
        low=0,
        low_open=True,
        length=3,
    ),
    "h_sweep_R": Key("ring separations of the sweep of the circulation I vs h, over R (2: touching)", "numbers", low=2),
    "B_sweep": Key(
        "fields of the sweep of I vs B, rings at h_near (the oddness check needs pairs +-B)", "numbers", unit="T"
    ),
    "T_sweep": Key("temperatures of the sweep of I vs T", "numbers", unit="K", low=0, low_open=True),
    "inset_B": Key(
        "[lowest, highest field, number of points] of the single-sphere resonance inset", "numbers", unit="T", length=3
    ),
    "rtol": Key("relative tolerance of the spectral integrals behind the circulations", low=0, low_open=True),
    "displacement": Key(
        "outward radial push of particle 0 in the symmetry-breaking dynamics runs", unit="m", low=0, low_open=True
    ),
    "n_relax": Key("length of each dynamics run, in slowest relaxation times", low=0, low_open=True),
    "record_every": Key("steps between recorded frames of the dynamics runs", "integer", low=1),
}


def defaults(quick: bool) -> dict:
    R = 100e-9
    return {
        "R": R,  # m
        "spacing": 3 * R,  # m, neighbour centre distance on a ring
        "material": "InSb",
        "T": 300.0,  # K
        "B_spectra": [1.0, 5.0],  # T, panel (b)
        "B_far": 5.0,  # T, panel (a)
        "h_near": 2 * R,  # m
        "h_far": 10e-6,  # m ("far apart": 100 R, beyond the near field)
        "wavelength": [9.8e-6, 11.8e-6, 1500 if quick else 5000],  # m, m, points
        "h_sweep_R": [2, 3, 4, 6, 10] if quick else [2, 2.5, 3, 4, 5, 6, 8, 10, 20, 100],  # units of R
        "B_sweep": [-5, -1, 0, 1, 3, 5] if quick else [-5, -3, -1, 0, 0.5, 1, 2, 3, 4, 5, 6],  # T
        "T_sweep": [50, 100, 300, 1000] if quick else [30, 50, 100, 200, 300, 500, 1000, 2000],  # K
        "inset_B": [0.0, 6.0, 25 if quick else 61],  # T, T, points
        "rtol": 1e-4,
        # dynamics at uniform T: all particles free from T; also with particle 0 pushed
        # outwards by `displacement` (m), which breaks the symmetry that balances every particle
        "displacement": 0.5 * R,
        "n_relax": 5 if quick else 20,  # run length in slowest relaxation times
        "record_every": 10,
    }


def check_grid(key: str, value: list, unit: str) -> None:
    """A [lowest, highest, number of points] key: lowest < highest, an integer number >= 2."""
    lo, hi, n = value
    if not lo < hi:
        raise ValueError(
            f"{key} = {value!r}: the lowest ({lo!r} {unit}) is not below the highest ({hi!r} {unit}); "
            "allowed: [lowest, highest, number of points] with lowest < highest"
        )
    if not (float(n).is_integer() and n >= 2):
        raise ValueError(
            f"{key} = {value!r}: the number of points {n!r} is not an integer >= 2; allowed: "
            "[lowest, highest, number of points >= 2]"
        )


def precheck(cfg: dict) -> None:
    """Geometry and grids, before anything runs."""
    check_rings(cfg, {"h_near": cfg["h_near"], "h_far": cfg["h_far"]})
    check_grid("wavelength", cfg["wavelength"], "m")
    check_grid("inset_B", cfg["inset_B"], "T")
    if len(set(cfg["B_spectra"])) < 2:
        raise ValueError(
            f"B_spectra = {cfg['B_spectra']!r} holds one field; allowed: at least two different fields "
            "(the first and the last are compared)"
        )


def _net(cfg, h, B, positions=None):
    pos = stacked_rings(N_RING, ring_radius_for_spacing(N_RING, cfg["spacing"]), h) if positions is None else positions
    return Network(pos, cfg["R"], cfg["material"], B=B, model=RING_MODEL)


def _ring_current(net, T, rtol) -> tuple[float, np.ndarray]:
    """(circulation I in W, pair currents J (N, N) W) at uniform T."""
    J = net.persistent_currents(T, rtol)
    return circulation(J, net.positions, PHI0), J


def spectra(cfg) -> dict:
    """Persistent spectra T_10 - T_01 on the wavelength grid for the (h, B) cases of Fig. 4."""
    lo, hi, n = cfg["wavelength"]
    lam = np.linspace(lo, hi, int(n))
    omega = 2 * np.pi * sc.c / lam
    cases = {"near_B5": (cfg["h_near"], cfg["B_far"]), "far_B5": (cfg["h_far"], cfg["B_far"])}
    cases |= {f"near_B{B:g}": (cfg["h_near"], B) for B in cfg["B_spectra"]}
    out = {"wavelength": lam}
    for name, (h, B) in cases.items():
        T = _net(cfg, h, B).transmission(omega)
        out[name] = T[:, 1, 0] - T[:, 0, 1]
    return out


def resonances(cfg, lam) -> dict:
    """Single-sphere resonance wavelengths vs B (inset) and their splitting against the cyclotron frequency."""
    mat = get_material(cfg["material"])
    B_lo, B_hi, nB = cfg["inset_B"]
    Bs = np.linspace(B_lo, B_hi, int(nB))
    fine = np.linspace(lam[0], lam[-1], 20001)
    res = np.array([principal_resonances(mat, cfg["R"], B, fine) for B in Bs])  # (nB, 3) m
    B5 = principal_resonances(mat, cfg["R"], cfg["B_far"], fine)
    w5 = 2 * np.pi * sc.c / B5
    wc = abs(mat.cyclotron_frequency(cfg["B_far"]))
    absorption = np.array([single_particle_absorption(mat, cfg["R"], B, lam).sum(axis=1) for B in Bs])
    return {
        "B": Bs,
        "resonances": res,
        "resonances_B5": B5,
        "splitting_over_wc": abs(w5[0] - w5[1]) / wc,
        "absorption": absorption,
    }


def sweeps(cfg) -> dict:
    """Circulating current I (W) vs h (B_far, T), vs B (h_near, T), vs T (near and far), plus the isolated ring."""
    T, rtol, R = cfg["T"], cfg["rtol"], cfg["R"]
    out = {"h": [], "I_h": [], "B": [], "I_B": [], "T": cfg["T_sweep"], "I_T_near": [], "I_T_far": [], "I_T_ring": []}
    for hR in cfg["h_sweep_R"]:
        out["h"].append(hR * R)
        out["I_h"].append(_ring_current(_net(cfg, hR * R, cfg["B_far"]), T, rtol)[0])
    for B in cfg["B_sweep"]:
        out["B"].append(B)
        out["I_B"].append(_ring_current(_net(cfg, cfg["h_near"], B), T, rtol)[0])
    near, far = _net(cfg, cfg["h_near"], cfg["B_far"]), _net(cfg, cfg["h_far"], cfg["B_far"])
    single = Network(
        ring(N_RING, ring_radius_for_spacing(N_RING, cfg["spacing"])),
        R,
        cfg["material"],
        B=cfg["B_far"],
        model=RING_MODEL,
    )
    for Tk in cfg["T_sweep"]:
        out["I_T_near"].append(_ring_current(near, Tk, rtol)[0])
        out["I_T_far"].append(_ring_current(far, Tk, rtol)[0])
        out["I_T_ring"].append(_ring_current(single, Tk, rtol)[0])
    I_near, J_near = _ring_current(near, T, rtol)
    out |= {
        "I_near": I_near,
        "J_near": J_near,
        "I_far": _ring_current(far, T, rtol)[0],
        "I_ring": _ring_current(single, T, rtol)[0],
    }
    # the net power each particle receives from the pair currents alone (no environment)
    out["net_power_pairs_near"] = -J_near.sum(axis=1)
    pair = Network([[0, 0, 0], [cfg["spacing"], 0, 0]], R, cfg["material"], B=cfg["B_far"], model=RING_MODEL)
    out["pair_J"] = float(pair.persistent_currents(T, rtol)[0, 1])
    out["pair_Phi"] = float(pair.power_table([T], rtol)[0, 0, 1])
    return out


def _positions(cfg, displaced: bool) -> np.ndarray:
    pos = stacked_rings(N_RING, ring_radius_for_spacing(N_RING, cfg["spacing"]), cfg["h_near"])
    if displaced:
        pos[0, :2] *= 1 + cfg["displacement"] / np.linalg.norm(pos[0, :2])
    return pos


def uniform_T_run(cfg, ctx, displaced: bool, environment: bool) -> dict:
    """All particles free from uniform T (B_far, h_near): measured net powers, drifts and circulation."""
    net = _net(cfg, cfg["h_near"], cfg["B_far"], _positions(cfg, displaced))
    T = cfg["T"]
    params = NetworkParams(net, roles="free", T_init=T, environment=environment, T_env=T, T_grid=(T - 20, T + 20))
    system = NetworkSystem(params)
    tau = system.relaxation_times(params.T_init)
    tau_max = float(tau[np.isfinite(tau)].max())
    every = cfg["record_every"]
    nsteps = every * math.ceil(cfg["n_relax"] * tau_max / system.params.dt / every)
    name = f"uniform_{'displaced' if displaced else 'symmetric'}_{'env' if environment else 'noenv'}"
    path = ctx.path("timeseries", f"{name}.h5")
    simulate_network(params, nsteps, every, path=path, progress=not ctx.quiet, desc=name, ctx=ctx, system=system)
    with h5py.File(path, "r") as f:
        Ts, P, flow, pairs = f["T"][()], f["P_net"][()], f["pair_power"][-1], f.attrs["pairs"]
    J = currents_from_pair_powers(pairs, flow, net.N)
    spectral = net.powers(np.full(net.N, T), T_env=T if environment else None)
    return {
        "name": name,
        "displaced": displaced,
        "environment": environment,
        "t_run": nsteps * system.params.dt,
        "tau_slowest": tau_max,
        "net_power_max": float(np.abs(P).max()),
        "net_power_initial_max": float(np.abs(P[0]).max()),
        "net_power_spectral_max": float(np.abs(spectral).max()),
        "drift_max": float(np.abs(Ts - T).max()),
        "T_final": Ts[-1].tolist(),
        "J_persistent": circulation(J, net.positions, PHI0),
    }


def checks(spec, res, sw, dyn, cfg) -> dict:
    lam = spec["wavelength"]
    ext = {k: spectral_extent(lam, spec[k]) for k in spec if k != "wavelength"}
    out = {"extents_um": {k: [v[0] * 1e6, v[1] * 1e6] for k, v in ext.items()}}
    B = np.array(sw["B"])
    I_B = np.array(sw["I_B"])
    scale = np.abs(I_B).max()
    # a check B_sweep gives no case for (no B = 0, no pair +-B) is not run: None
    out["zero_at_B0"] = bool(np.all(np.abs(I_B[B == 0]) < 1e-9 * scale)) if np.any(B == 0) else None
    odd = [abs(I_B[i] + I_B[list(B).index(-b)]) / abs(I_B[i]) for i, b in enumerate(B) if b > 0 and -b in B]
    out["odd_in_B_max_rel"] = max(odd) if odd else None
    out["odd_in_B"] = max(odd) < 1e-3 if odd else None
    out["two_identical_particles_zero"] = abs(sw["pair_J"]) < 1e-9 * sw["pair_Phi"]
    out["net_power_pairs_max_rel"] = float(np.abs(sw["net_power_pairs_near"]).max() / abs(sw["I_near"]))
    out["every_particle_balanced_at_uniform_T"] = out["net_power_pairs_max_rel"] < 1e-6
    # two rings 100 R apart carry twice the isolated ring's circulation
    out["far_over_two_isolated_rings"] = sw["I_far"] / (2 * sw["I_ring"])
    out["far_limit_is_isolated_rings"] = abs(out["far_over_two_isolated_rings"] - 1) < 0.01
    near, far = ext["near_B5"], ext["far_B5"]
    out["near_broadens_to_longer_wavelengths"] = near[1] > far[1] + 0.05e-6
    b1, b5 = ext[f"near_B{cfg['B_spectra'][0]:g}"], ext[f"near_B{cfg['B_spectra'][-1]:g}"]
    out["stronger_field_widens_mainly_at_short_wavelengths"] = (b5[1] - b5[0] > b1[1] - b1[0]) and (
        b1[0] - b5[0] > b5[1] - b1[1]
    )
    s = np.abs(spec["far_B5"])
    peaks, _ = find_peaks(s, prominence=0.05 * s.max())
    circular = res["resonances_B5"][:2]
    dist = [float(np.abs(circular - lam[p]).min()) for p in peaks]
    out["far_peaks_um"] = (lam[peaks] * 1e6).tolist()
    out["far_peaks_at_circular_resonances"] = len(peaks) >= 2 and max(dist) < PEAK_TOL
    out["resonance_splitting_over_wc"] = res["splitting_over_wc"]
    out["resonance_splitting_is_cyclotron"] = abs(res["splitting_over_wc"] - 1) < 0.1
    # dynamics: I is the scale every net power is compared with
    scale = abs(sw["I_near"])
    by = {(d["displaced"], d["environment"]): d for d in dyn}
    for (displaced, env), d in by.items():
        tag = f"{'displaced' if displaced else 'symmetric'}_{'env' if env else 'noenv'}"
        out[f"net_power_max_over_J_{tag}"] = d["net_power_max"] / scale
    out["stays_at_T_symmetric"] = all(
        by[(False, env)]["net_power_max"] < 1e-6 * scale and by[(False, env)]["drift_max"] < 1e-6
        for env in (True, False)
    )
    out["stays_at_T_with_environment_displaced"] = (
        by[(True, True)]["net_power_max"] < 1e-6 * scale and by[(True, True)]["drift_max"] < 1e-6
    )
    # without the environment the displaced network is not balanced at uniform T and drifts
    off = by[(True, False)]
    out["drifts_without_environment_displaced"] = (
        off["net_power_initial_max"] > 1e-4 * scale and off["drift_max"] > 1e-4
    )
    out["initial_net_power_matches_spectral"] = (
        abs(off["net_power_initial_max"] - off["net_power_spectral_max"]) <= 1e-4 * off["net_power_spectral_max"]
    )
    out["J_persistent_dynamics_over_spectral"] = by[(False, True)]["J_persistent"] / sw["I_near"]
    out["J_persistent_dynamics_matches_spectral"] = abs(out["J_persistent_dynamics_over_spectral"] - 1) < 1e-3
    return out


def plot(spec, res, sw, cfg, ctx) -> None:
    lam = spec["wavelength"] * 1e6
    R = cfg["R"]
    fig, ax = new_figure(3, 2, width=4.8, height=3.6)
    a = ax[0, 0]
    a.plot(lam, spec["near_B5"], color="C3", label=f"h = {cfg['h_near'] / R:g}R")
    a.plot(lam, spec["far_B5"], color="C0", label=f"h = {cfg['h_far'] * 1e6:g} um (far apart)")
    a.set(
        xlabel="wavelength (um)",
        ylabel=r"$(\mathcal{T}_{10}-\mathcal{T}_{01})$  [current / $\Theta$]",
        title=f"(a) B = {cfg['B_far']:g} T",
    )
    a = ax[0, 1]
    for B, c in zip(cfg["B_spectra"], ("C2", "C3")):
        a.plot(lam, spec[f"near_B{B:g}"], color=c, label=f"B = {B:g} T")
    a.set(xlabel="wavelength (um)", ylabel=r"current / $\Theta$", title=f"(b) h = {cfg['h_near'] / R:g}R")
    for a in ax[0, :2]:
        a.axhline(0, color="0.5", lw=0.6)
        a.legend(fontsize=8)
    a = ax[0, 2]
    absorption = res["absorption"] / (4 * np.pi * R**3)
    mesh = a.pcolormesh(
        lam,
        res["B"],
        absorption,
        shading="auto",
        cmap="magma",
        norm=LogNorm(vmin=absorption.max() * 1e-3, vmax=absorption.max()),
    )
    a.figure.colorbar(mesh, ax=a, label="sum Im a0 / 4 pi R^3 (log scale)")
    for k, (lab, c) in enumerate(zip(("circular +", "circular -", "along B"), ("c", "w", "y"))):
        a.plot(res["resonances"][:, k] * 1e6, res["B"], ls="--", lw=1, color=c, label=lab)
    a.set(xlabel="wavelength (um)", ylabel="B (T)", title="(c) single InSb sphere: absorption vs B")
    a.legend(fontsize=7, loc="upper right")
    a = ax[1, 0]
    a.plot(np.array(sw["h"]) / R, np.array(sw["I_h"]) * 1e12, "o-", label="two rings")
    a.axhline(2 * sw["I_ring"] * 1e12, color="k", ls=":", label="2 x isolated ring")
    a.set(
        xscale="log",
        xticks=cfg["h_sweep_R"],
        xticklabels=[f"{h:g}" for h in cfg["h_sweep_R"]],
        xlabel="ring separation h / R",
        ylabel="circulation I (pW)",
        title=f"I vs h (B = {cfg['B_far']:g} T, T = {cfg['T']:g} K)",
    )
    a = ax[1, 1]
    a.plot(sw["B"], np.array(sw["I_B"]) * 1e12, "o-")
    a.set(xlabel="B (T)", ylabel="circulation I (pW)", title=f"I vs B (h = {cfg['h_near'] / R:g}R, T = {cfg['T']:g} K)")
    a = ax[1, 2]
    ring2 = 2 * np.array(sw["I_T_ring"])
    a.plot(sw["T"], np.array(sw["I_T_near"]) / ring2, "o-", color="C3", label=f"h = {cfg['h_near'] / R:g}R")
    a.plot(sw["T"], np.array(sw["I_T_far"]) / ring2, "s-", color="C0", label="far apart")
    a.set(
        xscale="log",
        xticks=cfg["T_sweep"],
        xticklabels=[f"{T:g}" for T in cfg["T_sweep"]],
        xlabel="T (K)",
        ylabel="I / (2 x isolated ring)",
        title="drag on the circulation vs T",
    )
    for a in ax[1]:
        a.minorticks_off()
        a.axhline(0, color="0.5", lw=0.6)
        a.legend(fontsize=8) if a.get_legend_handles_labels()[0] else None
    save(fig, ctx.path("figures", "insb_persistent.png"))


@scenario(
    "insb-persistent",
    "persistent heat currents in two rings of InSb spheres in a field B (Ben-Abdallah's Fig. 4)",
    defaults,
    KEYS,
    precheck,
)
def run(cfg, ctx) -> dict:
    ctx.log(
        f"ring radius {ring_radius_for_spacing(N_RING, cfg['spacing']) * 1e9:.1f} nm "
        f"(neighbours {cfg['spacing'] / cfg['R']:g}R apart)"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = spectra(cfg)
        sw = sweeps(cfg)
        dyn = [uniform_T_run(cfg, ctx, displaced, env) for displaced in (False, True) for env in (True, False)]
    setup_warnings = sorted({str(w.message) for w in caught})
    for msg in setup_warnings:
        ctx.log(f"warning: {msg}")
    for d in dyn:
        ctx.log(
            f"  {d['name']}: max |P_net| = {d['net_power_max']:.3g} W, max |T - T0| = {d['drift_max']:.3g} K, "
            f"I = {d['J_persistent']:.4g} W over {d['t_run']:.3g} s"
        )
    res = resonances(cfg, spec["wavelength"])
    ctx.log(
        f"  I(h={cfg['h_near'] / cfg['R']:g}R) = {sw['I_near']:.4g} W, I(far) = {sw['I_far']:.4g} W, "
        f"isolated ring {sw['I_ring']:.4g} W at T = {cfg['T']:g} K, B = {cfg['B_far']:g} T"
    )
    plot(spec, res, sw, cfg, ctx)
    summary = {
        "scenario": "insb-persistent",
        "ring_radius": ring_radius_for_spacing(N_RING, cfg["spacing"]),
        "J_persistent": sw["I_near"],
        "J_persistent_far": sw["I_far"],
        "J_persistent_isolated_ring": sw["I_ring"],
        "J_neighbour_near": float(sw["J_near"][0, 1]),
        "net_power_max": max(d["net_power_max"] for d in dyn if not d["displaced"]),
        "dynamics": dyn,
        "J_vs_h": {"h": sw["h"], "I": sw["I_h"]},
        "J_vs_B": {"B": sw["B"], "I": sw["I_B"]},
        "J_vs_T": {"T": sw["T"], "near": sw["I_T_near"], "far": sw["I_T_far"], "isolated_ring": sw["I_T_ring"]},
        "single_particle_resonances_um": {"B": res["B"].tolist(), "wavelength": (res["resonances"] * 1e6).tolist()},
        "setup_warnings": setup_warnings,
        "checks": checks(spec, res, sw, dyn, cfg),
    }
    return summary
