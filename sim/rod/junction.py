"""The weak link as a Josephson junction: the reference the rod's AC scenarios are held to.

Two halves of heat capacity C_half on reservoirs of conductance k, joined by a weak link
K_w, linearise (docs/model.md §A4.6) to a current-biased, resistively and capacitively
shunted junction for psi = m phi (the phase across the link times the periodicity):

    beta_c psi'' + psi' + sin(psi) = i,     tau = d_omega_c t,   i = m d_omega / d_omega_c,
    beta_c = C_half d_omega_c / k.

beta_c -> 0 is the Adler equation (running rate sqrt(i^2 - 1)); a finite beta_c lowers
the running rate at a given bias and makes the locked/running switch hysteretic: running
states persist down to the retrapping current i_r(beta_c) < 1.

Integrated with scipy's solve_ivp (LSODA: stiff as beta_c -> 0; tight tolerances): an independent method, not
the rod's kernel. Rates are in units of d_omega_c (multiply to get rad per reduced time).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

from sim.rod.analysis import adler_parameters
from sim.rod.model import RodParams, domega0_dT, make_law, weak_link_couplings
from sim.validation import check_range

if TYPE_CHECKING:
    from sim.schedule import Schedule

RTOL, ATOL = 1e-10, 1e-12


def _rhs(beta_c: float, i: float):
    def f(_, y):
        return [y[1], (i - y[1] - math.sin(y[0])) / beta_c]

    return f


def winding_rate(i: float, beta_c: float, windings: int = 20, transient: int = 5) -> float:
    """Mean d psi / d tau on the running state (started faster than it, at psi = 0, psi' = i + 2), 0 if it locks.

    The rate is measured over ``windings`` full turns after 10 beta_c and ``transient`` turns. For
    beta_c = 0 this is the Adler rate sqrt(i^2 - 1) (0 for |i| <= 1).
    """
    i = float(i)
    beta_c = float(check_range("beta_c", beta_c, low=0.0, low_inclusive=True))
    if beta_c == 0.0:
        return math.copysign(math.sqrt(i * i - 1.0), i) if abs(i) > 1 else 0.0
    if i < 0:
        return -winding_rate(-i, beta_c, windings, transient)
    # the start relaxes onto the running orbit over ~beta_c: count turns only after 10 beta_c
    settle = 10.0 * beta_c
    slowest = 2 * math.pi / max(math.sqrt(abs(i * i - 1.0)), 1e-3 * i, 1e-9)
    t_max = settle + (windings + transient) * slowest * 4

    def turn(_, y):
        return math.sin(y[0] / 2.0)  # zero at psi = 2 pi n

    sol = solve_ivp(
        _rhs(beta_c, i), (0.0, t_max), [0.0, i + 2.0], method="LSODA", rtol=RTOL, atol=ATOL, events=turn, t_eval=[t_max]
    )  # keep only the end: long runs near threshold stay small
    crossings = sol.t_events[0]
    crossings = crossings[crossings > settle]
    if crossings.size < transient + windings or sol.y[1, -1] <= 0:
        return 0.0
    t = crossings[transient : transient + windings + 1]
    return 2 * math.pi * (t.size - 1) / (t[-1] - t[0])


def keeps_running(i: float, beta_c: float, windings: int = 30) -> bool:
    """Does the running state at bias i survive (no stall over ``windings`` slowest turns and 20 beta_c)?

    It starts faster than the running orbit anywhere (|psi'| < i + 1 there), so it relaxes onto
    that orbit if the orbit exists, over a few beta_c, and stalls in a well if it does not.
    """

    def stalls(_, y):
        return y[1]  # psi' reaches 0: the phase is trapped in a well

    stalls.terminal = True
    # a turn near i = 1 creeps past the ghost of the saddle-node: allow for its slowness
    t_max = 20.0 * beta_c + windings * 2 * math.pi / max(min(i, math.sqrt(abs(1.0 - i * i))), 1e-3)
    sol = solve_ivp(_rhs(beta_c, i), (0.0, t_max), [0.0, i + 2.0], method="LSODA", rtol=RTOL, atol=ATOL, events=stalls)
    return sol.status == 0


def retrapping_current(beta_c: float, tol: float = 1e-6) -> float:
    """The lowest bias at which the running state survives, by bisection on ``keeps_running``.

    The running orbit disappears where it becomes the homoclinic orbit of the saddle: above
    i_r it winds forever, below it stalls. The large-beta_c limit is 4 / (pi sqrt(beta_c)).
    """
    beta_c = float(check_range("beta_c", beta_c, low=0.0))
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if keeps_running(mid, beta_c) else (mid, hi)
    return 0.5 * (lo + hi)


def switching_current(beta_c: float, rate: float, top: float) -> float:
    """The bias at which a junction at rest, biased by i(tau) = rate tau up to ``top`` (then held),
    switches: its phase first reaches pi (it left the well it was locked in). Slow ramps switch
    just above i = 1, faster ones later: the phase lags the moving well (i - 1 ~ rate^(2/3) as
    rate -> 0, the delay of a saddle-node). nan if it never switches."""
    beta_c = float(check_range("beta_c", beta_c, low=0.0))
    rate = float(check_range("rate", rate, low=0.0))

    def f(tau, y):
        return [y[1], (min(rate * tau, top) - y[1] - math.sin(y[0])) / beta_c]

    def leaves(_, y):
        return y[0] - math.pi

    leaves.terminal = True
    sol = solve_ivp(f, (0.0, 3.0 * top / rate), [0.0, 0.0], method="LSODA", rtol=RTOL, atol=ATOL, events=leaves)
    return min(rate * float(sol.t_events[0][0]), top) if sol.t_events[0].size else float("nan")


def junction_beta_c(C_half: float, d_omega_c: float, k: float) -> float:
    """beta_c = C_half d_omega_c / k of a weak link between halves of heat capacity C_half."""
    return float(C_half * d_omega_c / k)


def running_rates(biases: ArrayLike, beta_c: float) -> np.ndarray:
    """``winding_rate`` at each bias (units of d_omega_c)."""
    return np.array([winding_rate(b, beta_c) for b in np.atleast_1d(biases)])


def _ac_rhs(beta_c: float, i0: float, i1: float, omega: float):
    def f(t, y):
        return [y[1], (i0 + i1 * math.sin(omega * t) - y[1] - math.sin(y[0])) / beta_c]

    return f


def ac_rate(i0: float, i1: float, omega: float, beta_c: float, periods: int = 300, settle: int = 60) -> float:
    """Mean d psi / d tau of beta_c psi'' + psi' + sin psi = i0 + i1 sin(omega tau) (a Shapiro drive),
    over ``periods`` whole drive periods after ``settle`` periods, from psi = 0, psi' = i0.

    On step n the rate is n omega exactly; just off a step the phase slips once every many
    periods, so ``periods`` sets how close to an edge on- and off-step can be told apart
    (a slip in the window moves the rate by at least omega / periods).
    """
    period = 2 * math.pi / omega
    if beta_c == 0.0:
        f = lambda t, y: [i0 + i1 * math.sin(omega * t) - math.sin(y[0])]
        y0 = [0.0]
    else:
        f = _ac_rhs(float(beta_c), float(i0), float(i1), float(omega))
        y0 = [0.0, float(i0)]
    start = solve_ivp(f, (0.0, settle * period), y0, method="LSODA", rtol=RTOL, atol=ATOL).y[:, -1]
    end = solve_ivp(f, (settle * period, (settle + periods) * period), start, method="LSODA", rtol=RTOL, atol=ATOL).y[
        0, -1
    ]
    return float((end - start[0]) / (periods * period))


def on_step(n: int, rate: float, omega: float, periods: int) -> bool:
    """Is a mean rate measured over ``periods`` drive periods the locked rate n omega?"""
    return abs(rate / omega - n) < 0.5 / periods


def bisect_edge(on_step: Callable[[float], bool], inside: float, outside: float, tol: float) -> float:
    """The drive where ``on_step(drive)`` turns from True (at ``inside``) to False (at ``outside``)."""
    while abs(outside - inside) > tol:
        mid = 0.5 * (inside + outside)
        inside, outside = (mid, outside) if on_step(mid) else (inside, mid)
    return 0.5 * (inside + outside)


def weak_link_params(
    cfg: dict, C: float, m: int, T_L: float | Schedule | dict, T_R: float | Schedule | dict
) -> tuple[RodParams, int]:
    """A deterministic rod of two stiff halves joined by a weak link, from a configuration with
    the ``sim.rod.keys.WEAK_LINK`` keys (and ``law``, ``dt``, ``seed``): (RodParams, index of the
    weak link). C: heat capacity per ring; m: torque periodicity; T_L, T_R: the baths."""
    N = 2 * cfg["n_half"]
    w = cfg["n_half"] - 1  # the weak link joins the halves
    K = weak_link_couplings(N, cfg["K"], cfg["K_w"], w)
    params = RodParams(
        N=N,
        C=C,
        K=K,
        m=m,
        law=make_law(cfg["law"]),
        k_L=cfg["k"],
        k_R=cfg["k"],
        T_L=T_L,
        T_R=T_R,
        dt=cfg["dt"],
        noise=False,
        seed=cfg["seed"],
    )
    return params, w


def locking_threshold(cfg: dict) -> tuple[float, float]:
    """(d_omega_c, domega0/dT) at T_mean: the locking threshold and the clock's slope."""
    law = make_law(cfg["law"])
    _, d_omega_c = adler_parameters(law, cfg["T_mean"], cfg["T_mean"], cfg["K_w"], cfg["k"], cfg["k"])
    return d_omega_c, float(domega0_dT(law, cfg["T_mean"]))
