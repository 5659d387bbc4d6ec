"""Thermal photon drag between two parallel dimers (seed Figs. 2-3, MODEL.md B5).

Geometry: drive dimer particles 1, 2 at (0, 0, 0), (d, 0, 0), thermostated at T1 = T2 + dT
and T2; passive dimer 3 at (0, h, 0) facing 1, 4 at (d, h, 0) facing 2, free. d and h are
centre distances (d = 2R: touching spheres). Code indices are 0-based (particle 1 -> 0).

Three separate routes to the drag resistance R_D = (T3 - T4) / J:
  * ``drag_dynamics``: the temperature dynamics run to its steady state (the measurement);
  * ``drag_balance``: a root solve of the nonlinear steady energy balance of particles 3, 4
    with powers from fresh spectral quadratures at the iterates (never the dynamics' tables);
  * ``drag_linear``: the seed's Eq. 12 with the conductances at the mean drive temperature,
    J from Eq. 13 (linear response).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import root

from sim.radiative.dynamics import NetworkParams, steady_state
from sim.radiative.network import DipoleApproximationWarning, Network


def drag_network(R: float, d: float, h: float, materials, cache_dir=None, model: str = "dipole",
                 lmax: int | None = None) -> tuple[Network, list[str]]:
    """The two-dimer network (``model``/``lmax`` as for ``Network``) and the
    DipoleApproximationWarning messages it raised (caught)."""
    pos = [[0.0, 0.0, 0.0], [d, 0.0, 0.0], [0.0, h, 0.0], [d, h, 0.0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DipoleApproximationWarning)
        net = Network(pos, R, materials, cache_dir=cache_dir, model=model, lmax=lmax)
    msgs = [str(w.message) for w in caught if issubclass(w.category, DipoleApproximationWarning)]
    return net, msgs


def drag_dynamics(net: Network, T1: float, T2: float, rtol: float, rtol_spectra: float = 1e-10) -> dict:
    """Steady state of the dynamics (environment off, as in the seed): T (4,) K, J (W, power
    thermostat 1 supplies), J2 (W, power thermostat 2 supplies: -J without environment),
    dT_passive = T3 - T4 (K), R_D (K/W), steps, time (s), tau_relax (s), dt (s)."""
    p = NetworkParams(net, ["thermostat", "thermostat", "free", "free"], [T1, T2], environment=False,
                      rtol_spectra=rtol_spectra)
    ss = steady_state(p, rtol=rtol, max_steps=200_000)
    P = ss["rates"]["P"]
    J = float(-P[0])
    dT = float(ss["T"][2] - ss["T"][3])
    return {"T": ss["T"], "J": J, "J2": float(-P[1]), "dT_passive": dT, "R_D": dT / J, "steps": ss["steps"],
            "time": ss["time"], "tau_relax": ss["tau_relax"], "dt": ss["dt"], "criterion": ss["criterion"], "round_off_limited": ss["round_off_limited"],
            "stiffness": float(ss["tau_relax"] / ss["system"].relaxation_times(ss["T"])[-1])}


def drag_linear(net: Network, T1: float, T2: float, rtol: float = 1e-10) -> dict:
    """Seed Eq. 12-13 with G_ij at (T1 + T2)/2: dT_passive, J, R_D, and G (4, 4) W/K."""
    return drag_from_conductances(np.asarray(net.conductance(0.5 * (T1 + T2), rtol=rtol)), T1, T2)


def drag_from_conductances(G: np.ndarray, T1: float, T2: float) -> dict:
    """Seed Eq. 12-13 for given pair conductances G (4, 4) W/K ([i, j], B = 0: symmetric):
    dT_passive = T3 - T4 (K), J (W), R_D (K/W), the temperatures T (4,) K, and G."""
    g = lambda i, j: G[i - 1, j - 1]  # noqa: E731  seed's 1-based G_ij
    A = (g(1, 3) + g(2, 3) + g(4, 3)) * (g(1, 4) + g(2, 4) + g(3, 4)) - g(3, 4) * g(4, 3)
    dT = (g(1, 3) * g(2, 4) - g(1, 4) * g(2, 3)) / A * (T1 - T2)
    # T3, T4 from the linear balance, then J = power thermostat 1 supplies (Eq. 13)
    L = np.array([[g(1, 3) + g(2, 3) + g(4, 3), -g(3, 4)], [-g(4, 3), g(1, 4) + g(2, 4) + g(3, 4)]])
    T34 = np.linalg.solve(L, [g(3, 1) * T1 + g(3, 2) * T2, g(4, 1) * T1 + g(4, 2) * T2])
    Ts = np.array([T1, T2, *T34])
    J = float(sum(G[j, 0] * (T1 - Ts[j]) for j in range(1, 4)))
    return {"dT_passive": float(dT), "J": J, "R_D": float(dT) / J, "G": G, "T": Ts}


def drag_balance(net: Network, T1: float, T2: float, guess, rtol: float = 1e-10) -> dict:
    """Root of P_3 = P_4 = 0 (full nonlinear powers, fresh quadrature at each iterate).

    Unknowns scaled for precision: u = ((T3 + T4)/2 - Tg) / 1 K and v = (T3 - T4) / s with
    s = |guess dT| (so the small difference is resolved to the solver's relative xtol).
    """
    T3g, T4g = float(guess[0]), float(guess[1])
    Tm = 0.5 * (T3g + T4g)
    s = max(abs(T3g - T4g), 1e-12)

    def temps(x):
        m, dT = Tm + x[0], x[1] * s
        return np.array([T1, T2, m + 0.5 * dT, m - 0.5 * dT])

    P0 = np.asarray(net.powers(np.array([T1, T2, T3g, T4g]), rtol=rtol))
    scale = max(abs(P0[0]), 1e-300)

    def F(x):
        P = np.asarray(net.powers(temps(x), rtol=rtol))
        return [(P[2] + P[3]) / scale, (P[2] - P[3]) / scale]

    sol = root(F, [0.0, (T3g - T4g) / s], method="hybr", options={"xtol": 1e-13})
    T = temps(sol.x)
    P = np.asarray(net.powers(T, rtol=rtol))
    J = float(-P[0])
    dT = float(T[2] - T[3])
    return {"T": T, "J": J, "dT_passive": dT, "R_D": dT / J, "success": bool(sol.success),
            "residual": float(np.max(np.abs(P[2:])) / scale), "nfev": int(sol.nfev)}


def drag_point(R, d, h, materials, T1, T2, rtol, cache_dir=None) -> dict:
    """All three routes at one geometry; warnings recorded under "warnings"."""
    net, msgs = drag_network(R, d, h, materials, cache_dir)
    dyn = drag_dynamics(net, T1, T2, rtol)
    lin = drag_linear(net, T1, T2)
    bal = drag_balance(net, T1, T2, dyn["T"][2:])
    return {"h": h, "d": d, "dyn": dyn, "linear": lin, "balance": bal, "warnings": msgs}


def sign_change_boundaries(h, y) -> list[float]:
    """h where y changes sign, interpolated linearly in (log h, y)."""
    h, y = np.asarray(h, float), np.asarray(y, float)
    out = []
    for k in np.nonzero(np.sign(y[:-1]) != np.sign(y[1:]))[0]:
        f = y[k] / (y[k] - y[k + 1])
        out.append(float(np.exp(np.log(h[k]) + f * (np.log(h[k + 1]) - np.log(h[k])))))
    return out
