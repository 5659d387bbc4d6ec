"""Thermal photon drag between two parallel dimers (Ben-Abdallah's Fig. 2-3, docs/model.md §B5).

Geometry: drive dimer particles 1, 2 at (0, 0, 0), (d, 0, 0), thermostated at T1 = T2 + dT
and T2; passive dimer 3 at (0, h, 0) facing 1, 4 at (d, h, 0) facing 2, free. d and h are
centre distances (d = 2R: touching spheres). Code indices are 0-based (particle 1 -> 0).

Three separate routes to the drag resistance R_D = (T3 - T4) / J:
  * ``drag_dynamics``: the temperature dynamics run to its steady state (the measurement);
  * ``drag_balance``: a root solve of the nonlinear steady energy balance of particles 3, 4
    with powers from fresh spectral quadratures at the iterates (never the dynamics' tables);
  * ``drag_linear``: Ben-Abdallah's Eq. 12 with the conductances at the mean drive temperature,
    J from Eq. 13 (linear response).

Either radiative model of ``Network`` can be used (``model``, ``lmax``, ``order_rtol``;
``MODEL_KEYS`` declares them for a scenario's configuration, ``check_model_config`` validates
a scenario's choice). Touching spheres (a centre distance of
R_i + R_j, the paper's d = 2R) have no converged multipole answer: ``model_at`` runs them in the
dipole model.

``sign_change_roots`` finds where a quantity sampled on an h grid changes sign by root
bracketing (brentq in log h) between the grid points around each change.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq, root

from sim.config_keys import Key
from sim.radiative.dynamics import NetworkParams, steady_state
from sim.radiative.network import MODELS, DipoleApproximationWarning, Network
from sim.validation import check_choice, check_int, check_range

if TYPE_CHECKING:
    import os

    from sim.radiative.materials import Material

#: how the paper's touching geometry (Ben-Abdallah's d = 2R) is labelled wherever it is reported (summaries, figures)
PAPER_GEOMETRY = "the paper's geometry, outside the dipole model's validity (no converged multipole answer at contact)"

#: the model keys of a drag scenario's configuration (``sim.config_keys``), as ``check_model_config`` checks them
MODEL_KEYS = {
    "model": Key(
        "radiative model of every drive-dimer distance d but contact (d = 2R runs in the dipole model)",
        "choice",
        choices=MODELS,
    ),
    "lmax": Key(
        "multipole order, multipole model only; null: automatic, converged to order_rtol",
        "integer",
        low=1,
        nullable=True,
    ),
    "order_rtol": Key(
        "convergence target of the automatic multipole order: relative change of the conductances at the next order",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    ),
}


def check_model_config(cfg: dict) -> dict:
    """The validated model keys of a drag scenario's config: {"model", "lmax", "order_rtol"}.

    model: "dipole" or "multipole"; lmax: null (automatic order) or an integer >= 1, multipole
    only; order_rtol: the automatic order's convergence target (Network's rtol), 0 < order_rtol < 1.
    Raises ValueError naming the key, its value and what is allowed.
    """
    model = check_choice("model", cfg["model"], MODELS)
    lmax = cfg["lmax"]
    if lmax is not None:
        if isinstance(lmax, bool) or not isinstance(lmax, (int, float, np.integer)):
            raise ValueError(f"lmax = {lmax!r} is not an integer; allowed: null (automatic order) or an integer >= 1")
        lmax = check_int("lmax", lmax, low=1)
        if model == "dipole":
            raise ValueError(
                f"lmax = {lmax} is given with model = 'dipole'; allowed: lmax = null there, or model = 'multipole'"
            )
    rtol = cfg["order_rtol"]
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating, np.integer)):
        raise ValueError(f"order_rtol = {rtol!r} is not a number; allowed: 0 < order_rtol < 1")
    rtol = float(check_range("order_rtol", rtol, low=0.0, high=1.0, high_inclusive=False))
    return {"model": model, "lmax": lmax, "order_rtol": rtol}


def touching(d_over_R: float) -> bool:
    """Whether a centre distance d (in units of the common radius R) is contact (d = 2R)."""
    return float(d_over_R) <= 2.0 * (1 + 1e-9)


def model_at(d_over_R: float, model: str) -> str:
    """The model a drive-dimer distance runs in: the configured one, or the dipole model at contact."""
    return "dipole" if touching(d_over_R) else model


def drag_network(
    R: float,
    d: float,
    h: float,
    materials: str | Material | Sequence[str | Material],
    cache_dir: str | os.PathLike | None = None,
    model: str = "multipole",
    lmax: int | None = None,
    order_rtol: float = 1e-4,
) -> tuple[Network, list[str]]:
    """The two-dimer network (``model``/``lmax`` as for ``Network``, ``order_rtol`` its rtol)
    and the DipoleApproximationWarning messages it raised (caught).

    The multipole model's automatic order is kept by the Network beside the spectra, so a
    geometry seen before skips its order search.
    """
    pos = [[0.0, 0.0, 0.0], [d, 0.0, 0.0], [0.0, h, 0.0], [d, h, 0.0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DipoleApproximationWarning)
        net = Network(pos, R, materials, cache_dir=cache_dir, model=model, rtol=order_rtol, lmax=lmax)
    msgs = [str(w.message) for w in caught if issubclass(w.category, DipoleApproximationWarning)]
    return net, msgs


def drag_dynamics(net: Network, T1: float, T2: float, rtol: float, rtol_spectra: float = 1e-10) -> dict:
    """Steady state of the dynamics (environment off, as Ben-Abdallah did): T (4,) K, J (W, power
    thermostat 1 supplies), J2 (W, power thermostat 2 supplies: -J without environment),
    dT_passive = T3 - T4 (K), R_D (K/W), steps, time (s), tau_relax (s), dt (s)."""
    p = NetworkParams(
        net, ["thermostat", "thermostat", "free", "free"], [T1, T2], environment=False, rtol_spectra=rtol_spectra
    )
    ss = steady_state(p, rtol=rtol, max_steps=200_000)
    P = ss.rates["P"]
    J = float(-P[0])
    dT = float(ss.T[2] - ss.T[3])
    return {
        "T": ss.T,
        "J": J,
        "J2": float(-P[1]),
        "dT_passive": dT,
        "R_D": dT / J,
        "steps": ss.steps,
        "time": ss.time,
        "tau_relax": ss.tau_relax,
        "dt": ss.dt,
        "criterion": ss.criterion,
        "round_off_limited": ss.round_off_limited,
        "stiffness": float(ss.tau_relax / ss.system.relaxation_times(ss.T)[-1]),
    }


def drag_linear(net: Network, T1: float, T2: float, rtol: float = 1e-10) -> dict:
    """Ben-Abdallah's Eqs. 12-13 with G_ij at (T1 + T2)/2: dT_passive, J, R_D, and G (4, 4) W/K."""
    return drag_from_conductances(np.asarray(net.conductance(0.5 * (T1 + T2), rtol=rtol)), T1, T2)


def drag_from_conductances(G: np.ndarray, T1: float, T2: float) -> dict:
    """Ben-Abdallah's Eqs. 12-13 for given pair conductances G (4, 4) W/K ([i, j], B = 0: symmetric):
    dT_passive = T3 - T4 (K), J (W), R_D (K/W), the temperatures T (4,) K, and G."""
    g = lambda i, j: G[i - 1, j - 1]  # noqa: E731  the paper's 1-based G_ij
    A = (g(1, 3) + g(2, 3) + g(4, 3)) * (g(1, 4) + g(2, 4) + g(3, 4)) - g(3, 4) * g(4, 3)
    dT = (g(1, 3) * g(2, 4) - g(1, 4) * g(2, 3)) / A * (T1 - T2)
    # T3, T4 from the linear balance, then J = power thermostat 1 supplies (Eq. 13)
    L = np.array([[g(1, 3) + g(2, 3) + g(4, 3), -g(3, 4)], [-g(4, 3), g(1, 4) + g(2, 4) + g(3, 4)]])
    T34 = np.linalg.solve(L, [g(3, 1) * T1 + g(3, 2) * T2, g(4, 1) * T1 + g(4, 2) * T2])
    Ts = np.array([T1, T2, *T34])
    J = float(sum(G[j, 0] * (T1 - Ts[j]) for j in range(1, 4)))
    return {"dT_passive": float(dT), "J": J, "R_D": float(dT) / J, "G": G, "T": Ts}


def drag_balance(net: Network, T1: float, T2: float, guess: Sequence[float] | np.ndarray, rtol: float = 1e-10) -> dict:
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
    return {
        "T": T,
        "J": J,
        "dT_passive": dT,
        "R_D": dT / J,
        "success": bool(sol.success),
        "residual": float(np.max(np.abs(P[2:])) / scale),
        "nfev": int(sol.nfev),
    }


def drag_point(
    R: float,
    d: float,
    h: float,
    materials: str | Material | Sequence[str | Material],
    T1: float,
    T2: float,
    rtol: float,
    cache_dir: str | os.PathLike | None = None,
    model: str = "multipole",
    lmax: int | None = None,
    order_rtol: float = 1e-4,
    dynamics_only: bool = False,
) -> dict:
    """All three routes at one geometry (``dynamics_only``: the dynamics alone, "linear" and
    "balance" None); warnings recorded under "warnings", the multipole order (None: dipole
    model) under "lmax" and its last change under "order_change". Module level, so that a
    process pool can run it."""
    net, msgs = drag_network(R, d, h, materials, cache_dir, model=model, lmax=lmax, order_rtol=order_rtol)
    dyn = drag_dynamics(net, T1, T2, rtol)
    lin = None if dynamics_only else drag_linear(net, T1, T2)
    bal = None if dynamics_only else drag_balance(net, T1, T2, dyn["T"][2:])
    return {
        "h": h,
        "d": d,
        "dyn": dyn,
        "linear": lin,
        "balance": bal,
        "warnings": msgs,
        "model": model,
        "lmax": net.lmax,
        "order_change": net.order_change,
    }


def sign_change_roots(
    f: Callable[[float], float], h: ArrayLike, y: ArrayLike, rtol: float = 1e-3, map_fn: Callable = map
) -> list[dict]:
    """Where f(h) changes sign, by root bracketing: for each pair of neighbouring grid points
    h[k], h[k+1] with y[k] y[k+1] < 0 (y = f(h) on the grid, reused as the bracket's ends),
    ``scipy.optimize.brentq`` on x = log h to an absolute xtol = rtol in log h (so the root is
    within a relative rtol in h), of f divided by the geometric interpolation of |y| between the
    ends (a positive factor: same root, fewer calls for quantities spanning decades). A grid
    value exactly 0 is itself a root; NaN intervals are skipped. The brackets are independent:
    ``map_fn`` (``map``, or a process pool's, with a picklable f) runs them.

    Returns one dict per root, in increasing h: "h" (the root), "bracket" [h[k], h[k+1]],
    "evaluations" (calls of f), "converged".
    """
    check_range("rtol", rtol, low=0.0)
    h, y = np.asarray(h, float), np.asarray(y, float)
    if h.shape != y.shape or h.ndim != 1:
        raise ValueError(f"h and y have shapes {h.shape}, {y.shape}; allowed: equal 1-d shapes")
    zeros = [
        {"h": float(h[k]), "bracket": [float(h[k]), float(h[k])], "evaluations": 0, "converged": True}
        for k in range(len(h))
        if y[k] == 0
    ]
    brackets = [
        (float(h[k]), float(h[k + 1]), float(y[k]), float(y[k + 1])) for k in range(len(h) - 1) if y[k] * y[k + 1] < 0
    ]
    found = list(map_fn(partial(_bracketed_root, f, rtol), brackets))
    return sorted(zeros + found, key=lambda r: r["h"])


def _bracketed_root(f: Callable[[float], float], rtol: float, bracket: tuple[float, float, float, float]) -> dict:
    """The root of f between h_a and h_b (bracket = (h_a, h_b, f(h_a), f(h_b)), opposite signs):
    ``sign_change_roots``' brentq on one bracket."""
    ha, hb, ya, yb = bracket
    xa, xb = float(np.log(ha)), float(np.log(hb))
    la, lb = np.log(abs(ya)), np.log(abs(yb))
    calls = 0

    def g(x):
        # f over the geometric interpolation of |f| between the ends (positive: same sign, same
        # root): a quantity falling as a power of h becomes nearly linear in log h, +-1 at the ends
        nonlocal calls
        if x == xa or x == xb:
            return float(np.sign(ya if x == xa else yb))
        calls += 1
        t = (x - xa) / (xb - xa)
        return float(f(float(np.exp(x)))) / np.exp((1 - t) * la + t * lb)

    x0, info = brentq(g, xa, xb, xtol=rtol, full_output=True, disp=False)
    return {"h": float(np.exp(x0)), "bracket": [ha, hb], "evaluations": calls, "converged": bool(info.converged)}
