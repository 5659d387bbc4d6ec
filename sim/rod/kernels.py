"""Numba kernels of the rod (docs/model.md §A3). Their NumPy twin is ``sim.rod.reference``.

One step of length h is a Strang splitting

    reservoirs (h/2) -> conduction (h/2) -> coherent (h) -> conduction (h/2) -> reservoirs (h/2)

- reservoirs: the exact Cox-Ingersoll-Ross transition of each end ring (``sim.rng.cir_update``);
- conduction: pairwise energy transfers between neighbours, g (T_j - T_i) tau plus the noise
  sqrt(2 g T_i T_j tau) xi (Ito), computed from one state and applied to both rings, so it
  conserves energy exactly;
- coherent: clocks advance and links exchange work. A predictor half-kick gives the
  mid-step clock rates (Verlet-like: neutrally stable, second order); the energy moved by
  link i is tau_bar_i times the clock increments, with tau_bar_i the discrete gradient
  (U(phi + d) - U(phi)) / d of the bond energy over the link's actual increment d, so
  sum(E) + sum(U) is conserved to round-off whatever the step.

The link twist phi_i = theta_i - theta_{i+1} is integrated directly (not recomputed from
the unwrapped clocks, which lose precision as they grow), so the bookkeeping is exact.
Random numbers come from ``sim.rng`` keyed on (seed, step, site, stream); streams below.

Replicas: one call advances R replicas of the same rod (``sim.rod.system.Rod(params,
seeds)``), element j = i R + r holding ring (link) i of replica r: the replicas are the
innermost, contiguous axis, so the loops over elements vectorise across them, and a
neighbour is R elements away. Each replica has its own Philox key; no value of one replica
depends on another's (the series/libm choice of the half angle is made per element), so a
replica is bit-identical to its run alone whatever R. R = 1 is the single rod.

Hand-written for speed (Numba, not NumPy): a step is a few dozen operations per ring spread
over ~10 sweeps, which NumPy would run as ~40 temporary arrays. No fastmath anywhere: it
would let LLVM reorder the energy bookkeeping, which is exact only in the order written.
Divisions are products with precomputed reciprocals (a division costs as much as a dozen
multiplications in a vector loop). ``python -m sim bench rod`` lists which loops LLVM
vectorised (its loop-vectorize remarks on a fresh compile).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.rng import cir_coefficients, cir_step, gamma_accepts, gamma_attempts, normal_pair, uniform_pair
from sim.schedule import schedule_T

# Random streams (word 3 of the Philox counter): one per use within a step. The two
# conduction half-steps share one block per link: the two Box-Muller outputs.
STREAM_BATH_FIRST, STREAM_BATH_SECOND, STREAM_COND = 0, 1, 2

# accumulator slots (cumulative since the start of the run)
ACC_Q_L, ACC_Q_R, ACC_IMPULSE_L, ACC_IMPULSE_R, ACC_S_FLOW = 0, 1, 2, 3, 4
N_ACC = 5

_SMALL_ANGLE = 0.1  # below, sin/cos/sinc of the half increment come from their series
# the series' coefficients as products: a division costs several multiplications
_INV6, _INV20, _INV42, _INV72 = 1.0 / 6.0, 1.0 / 20.0, 1.0 / 42.0, 1.0 / 72.0
_INV12, _INV30, _INV56 = 1.0 / 12.0, 1.0 / 30.0, 1.0 / 56.0
RESYNC_EVERY = 1024  # steps between re-computations of the rotated sin/cos(m phi) from phi
_VECTOR_WIDTH = 4  # doubles in a vector register (AVX2): fewer replicas than this draw one at a time


# The kernel's arguments, by name: what a step reads and never writes (RodConstants, built
# once per ``Rod``), the state it advances (RodArrays, views of a ``RodState``) and its scratch
# (RodScratch, allocated once per ``Rod``). They cross into ``advance`` as plain tuples (``tuple
# (nt)``), which Numba's dispatcher types in C (a NamedTuple it types field by field in Python:
# 0.15 us per array per call), and become the NamedTuples again inside. Flat layout, element
# j = i R + r: per ring (N R,), per link ((N-1) R,).
class RodConstants(NamedTuple):
    """What a step reads and never writes. C, inv_C (N R,): heat capacities and their
    reciprocals; K, g ((N-1) R,): link stiffnesses and conductances; T_L/T_R_kind, _p: the
    reservoirs' encoded schedules (``sim.schedule``); law_id (LAW_* of ``sim.rod.model``),
    law_p (4,), tab_T, tab_w, tab_d: the clock law omega0(T) (the table law's samples and
    PCHIP slopes); k0, k1 (R,) uint64: the replicas' Philox keys."""

    dt: float
    C: np.ndarray
    inv_C: np.ndarray
    K: np.ndarray
    m: float
    harmonic: bool
    g: np.ndarray
    has_g: bool
    k_L: float
    k_R: float
    T_L_kind: int
    T_L_p: np.ndarray
    T_R_kind: int
    T_R_p: np.ndarray
    law_id: int
    law_p: np.ndarray
    tab_T: np.ndarray
    tab_w: np.ndarray
    tab_d: np.ndarray
    noisy: bool
    k0: np.ndarray
    k1: np.ndarray


class RodArrays(NamedTuple):
    """The arrays of a ``RodState``, flat (``advance`` documents each)."""

    theta: np.ndarray
    phi: np.ndarray
    E: np.ndarray
    link_heat: np.ndarray
    link_impulse: np.ndarray
    sin_mphi: np.ndarray
    cos_mphi: np.ndarray
    acc: np.ndarray


class RodScratch(NamedTuple):
    """Work arrays of one step: torques, clock increments, conduction fluxes and drifts, the
    second normal of each link's Philox block (kept from the first conduction half-step), and
    per replica (R,) a reservoir exchange's draws (``_reservoir_draws``), heat, mid-point
    temperature and clock rate (``_reservoir_batch``), and ones."""

    tau: np.ndarray
    dtheta: np.ndarray
    flux: np.ndarray
    drift: np.ndarray
    xi_second: np.ndarray
    z_bath: np.ndarray
    z_gamma: np.ndarray
    u_gamma: np.ndarray
    bath_dQ: np.ndarray
    bath_T: np.ndarray
    bath_w: np.ndarray
    ones: np.ndarray

    @classmethod
    def allocate(cls, N: int, R: int) -> RodScratch:
        L = (N - 1) * R
        per_replica = (np.empty(R) for _ in range(6))
        return cls(np.empty(L), np.empty(N * R), np.empty(L), np.empty(L), np.zeros(L), *per_replica, np.ones(R))


@njit(cache=True, error_model="numpy")
def _rotor(p, T):
    """Rotor law: thermal average over angular momentum l of (l + alpha)."""
    t = T / p[2]
    lmax = int(math.ceil(math.sqrt(2.0 * 42.0 * max(t, 1e-3)))) + 2
    x_min = min(abs(p[1]), 1.0 - abs(p[1]))  # smallest |l + alpha|: shift exponents (no underflow)
    num = 0.0
    den = 0.0
    for l in range(-lmax, lmax + 1):
        x = l + p[1]
        w = math.exp(-(x * x - x_min * x_min) / (2.0 * t))
        num += w * x
        den += w
    return p[0] * num / den


@njit(cache=True, error_model="numpy")
def _table(tab_T, tab_w, tab_d, T):
    """Table law: cubic Hermite on PCHIP slopes, linear extrapolation outside the samples."""
    n = tab_T.shape[0]
    if T <= tab_T[0]:
        return tab_w[0] + tab_d[0] * (T - tab_T[0])
    if T >= tab_T[n - 1]:
        return tab_w[n - 1] + tab_d[n - 1] * (T - tab_T[n - 1])
    j = np.searchsorted(tab_T, T) - 1
    h = tab_T[j + 1] - tab_T[j]
    s = (T - tab_T[j]) / h
    return (
        (1 + 2 * s) * (1 - s) ** 2 * tab_w[j]
        + s * (1 - s) ** 2 * h * tab_d[j]
        + s * s * (3 - 2 * s) * tab_w[j + 1]
        + s * s * (s - 1) * h * tab_d[j + 1]
    )


@njit(cache=True, error_model="numpy", inline="always")
def _linear(p, T):
    return p[0] * (1.0 + p[1] * (T - p[2]))


@njit(cache=True, error_model="numpy", inline="always")
def _power(p, T):
    return p[0] * (T / p[2]) ** p[1]


@njit(cache=True, error_model="numpy")
def omega0(law_id: int, p: np.ndarray, tab_T: np.ndarray, tab_w: np.ndarray, tab_d: np.ndarray, T: float) -> float:
    """Clock rate omega0(T) of law ``law_id`` (ids LAW_* in ``sim.rod.model``), one temperature."""
    if law_id == 0:
        return _linear(p, T)
    if law_id == 1:
        return _power(p, T)
    if law_id == 2:
        return _rotor(p, T)
    return _table(tab_T, tab_w, tab_d, T)


@njit(cache=True, error_model="numpy")
def _clock_rates(law_id, p, tab_T, tab_w, tab_d, E, inv_C, scale, out):
    """out[j] = scale omega0(E[j] / C[j]), with 1/C precomputed (a division costs as much as the
    rest of the loop). The law is dispatched once per sweep, not per ring, so the loops stay
    free of calls and vectorise (a per-ring dispatch costs a factor ~4)."""
    n = E.shape[0]
    if law_id == 0:
        for j in range(n):
            out[j] = _linear(p, E[j] * inv_C[j]) * scale
    elif law_id == 1:
        for j in range(n):
            out[j] = _power(p, E[j] * inv_C[j]) * scale
    elif law_id == 2:
        for j in range(n):
            out[j] = _rotor(p, E[j] * inv_C[j]) * scale
    else:
        for j in range(n):
            out[j] = _table(tab_T, tab_w, tab_d, E[j] * inv_C[j]) * scale


@njit(cache=True, error_model="numpy", inline="always")
def _half_angle_series(y):
    """sin(y), cos(y), sin(y)/y by series: round-off accurate for |y| < _SMALL_ANGLE, branch-free."""
    y2 = y * y
    sinc = 1.0 - y2 * _INV6 * (1.0 - y2 * _INV20 * (1.0 - y2 * _INV42 * (1.0 - y2 * _INV72)))
    cos_y = 1.0 - y2 * 0.5 * (1.0 - y2 * _INV12 * (1.0 - y2 * _INV30 * (1.0 - y2 * _INV56)))
    return y * sinc, cos_y, sinc


@njit(cache=True, error_model="numpy", inline="always")
def _half_angle(y):
    """sin(y), cos(y) and sin(y)/y for any y (series when small: no cancellation in sinc). The
    choice is per element, so a value never depends on the other links or replicas."""
    if abs(y) < _SMALL_ANGLE:
        return _half_angle_series(y)
    s = math.sin(y)
    return s, math.cos(y), s / y


@njit(cache=True, error_model="numpy", inline="always")
def _sine_link(j, sy, cy, sinc, K, inv_m, tau, sin_mphi, cos_mphi):
    """Discrete-gradient torque of sine link element j over increment d; rotate its cached sin/cos(m phi)."""
    tau[j] = K[j] * inv_m * (sin_mphi[j] * cy + cos_mphi[j] * sy) * sinc
    c2, s2 = 1.0 - 2.0 * sy * sy, 2.0 * sy * cy  # cos 2y, sin 2y
    sin_mphi[j], cos_mphi[j] = sin_mphi[j] * c2 + cos_mphi[j] * s2, cos_mphi[j] * c2 - sin_mphi[j] * s2


@njit(cache=True, error_model="numpy", inline="always")
def _link_moves(j, R, dt, tau, dtheta, phi, link_heat, link_impulse):
    """Link element j after its torque: the twist advances, energy and impulse are booked."""
    phi[j] += dtheta[j] - dtheta[j + R]
    link_heat[j] += tau[j] * 0.5 * (dtheta[j] + dtheta[j + R])
    link_impulse[j] += tau[j] * dt


@njit(cache=True, error_model="numpy")
def sync_trig(phi: np.ndarray, m: float, sin_mphi: np.ndarray, cos_mphi: np.ndarray) -> None:
    """sin/cos(m phi) from phi. Called on global step multiples of RESYNC_EVERY only, so the
    rounding of the rotated values never depends on how a run is cut into kernel calls."""
    for j in range(phi.shape[0]):
        sin_mphi[j] = math.sin(m * phi[j])
        cos_mphi[j] = math.cos(m * phi[j])


@njit(cache=True, error_model="numpy")
def all_positive(E: np.ndarray) -> bool:
    """True when every entry is > 0 (and not NaN); no temporary array."""
    for j in range(E.shape[0]):
        if not E[j] > 0.0:
            return False
    return True


@njit(cache=True, error_model="numpy", inline="always")
def _reservoir(E, acc, c, site, T_b, k, tau, step, stream, slot):
    """Exact reservoir exchange (rate k over a sub-step tau, at T_b) of end ring ``site`` of
    every replica; books heat into ``acc[slot]``, angular impulse, entropy flow. k == 0 is a
    closed end: nothing happens. Inlined: four calls a step, each carrying every array of the
    constants c, cost 8 % of a 64-ring step (measured)."""
    if k == 0.0:
        return
    C, k0, k1, noisy = c.C, c.k0, c.k1, c.noisy
    law_id, lp, tT, tw, td = c.law_id, c.law_p, c.tab_T, c.tab_w, c.tab_d
    R = k0.shape[0]
    decay, scale = cir_coefficients(T_b, k * tau / C[site * R])  # the replicas share C and T_b
    for r in range(R):
        j = site * R + r
        E_old = E[j]
        E_new = cir_step(E_old, C[j], T_b, decay, scale, noisy, k0[r], k1[r], step, site, stream)
        dQ = E_new - E_old
        E[j] = E_new
        acc[slot * R + r] += dQ
        # each kick of energy dQ carries the angular impulse dQ / omega0 (docs/model.md §A3)
        acc[(slot + 2) * R + r] += dQ / omega0(law_id, lp, tT, tw, td, 0.5 * (E_old + E_new) / C[j])
        acc[ACC_S_FLOW * R + r] += dQ / T_b


@njit(cache=True, error_model="numpy")
def _reservoir_draws(k0, k1, step, site, stream, z_bath, z_gamma, u_gamma):
    """Every replica's Philox draws of one exact reservoir exchange (``sim.rng.cir_step``): the
    normal of block 0 and the first gamma attempt's normal (block 1) and uniform (block 2).
    Branch-free, so the loop over the replicas vectorises: 3 of a draw's ~4 Philox blocks."""
    for r in range(k0.shape[0]):
        z_bath[r] = normal_pair(k0[r], k1[r], step, site, stream, 0)[0]
        z_gamma[r] = normal_pair(k0[r], k1[r], step, site, stream, 1)[0]
        u_gamma[r] = uniform_pair(k0[r], k1[r], step, site, stream, 2)[0]


@njit(cache=True, error_model="numpy")
def _reservoir_batch(E, acc, c, s, site, T_b, k, tau, step, stream, slot):
    """``_reservoir`` for R >= _VECTOR_WIDTH noisy replicas with a gamma shape C - 1/2 >= 1 (no
    boost): every replica's draws first (``_reservoir_draws``, a loop that vectorises), then
    the rejection test, which fails for ~2 % of the draws and continues those alone
    (``gamma_attempts`` from block 3): the same numbers, in the same order, as ``cir_step``
    draws one replica at a time; booked as ``_reservoir`` books them, the clock rates at the
    mid-point temperatures in one sweep of the law (``_clock_rates``: T * 1.0, the same bits
    as ``omega0(T)``) and the booking in a loop that vectorises."""
    C, k0, k1 = c.C, c.k0, c.k1
    z_bath, z_gamma, u_gamma = s.z_bath, s.z_gamma, s.u_gamma
    dQ, T_mid, w = s.bath_dQ, s.bath_T, s.bath_w
    R = k0.shape[0]
    decay, scale = cir_coefficients(T_b, k * tau / C[site * R])
    _reservoir_draws(k0, k1, step, site, stream, z_bath, z_gamma, u_gamma)
    d = C[site * R] - 0.5 - 1.0 / 3.0
    cg = 1.0 / math.sqrt(9.0 * d)
    for r in range(R):
        j = site * R + r
        E_old = E[j]
        accepted, g = gamma_accepts(d, cg, z_gamma[r], u_gamma[r])
        if not accepted:
            g = gamma_attempts(d, cg, 1.0, k0[r], k1[r], step, site, stream, 3)
        E_new = scale * (z_bath[r] + math.sqrt(E_old * decay / scale)) ** 2 + 2.0 * scale * g
        dQ[r] = E_new - E_old
        E[j] = E_new
        T_mid[r] = 0.5 * (E_old + E_new) / C[j]
    _clock_rates(c.law_id, c.law_p, c.tab_T, c.tab_w, c.tab_d, T_mid, s.ones, 1.0, w)
    for r in range(R):
        acc[slot * R + r] += dQ[r]
        # each kick of energy dQ carries the angular impulse dQ / omega0 (docs/model.md §A3)
        acc[(slot + 2) * R + r] += dQ[r] / w[r]
        acc[ACC_S_FLOW * R + r] += dQ[r] / T_b


@njit(cache=True, error_model="numpy", inline="always")
def _bath(E, acc, c, s, batch_draws, site, T_b, k, tau, step, stream, slot):
    """One reservoir exchange: ``_reservoir_batch`` when ``batch_draws`` is (True,), else
    ``_reservoir`` (its length is known when the loop compiles: the test costs nothing)."""
    if len(batch_draws) > 0 and k != 0.0:
        _reservoir_batch(E, acc, c, s, site, T_b, k, tau, step, stream, slot)
    else:
        _reservoir(E, acc, c, site, T_b, k, tau, step, stream, slot)


@njit(cache=True, error_model="numpy")
def _conduction(E, link_heat, c, s, tau, step, first_half):
    """Pairwise energy-conserving conduction over a sub-step tau.

    Drift by Heun's rule (trapezoid of the fluxes at the start and after an Euler predictor:
    second order, as Strang splitting needs); noise sqrt(2 g T_i T_j tau) xi at the start state
    (Ito). The flux is linear in T, so the corrector adds no noise-induced drift. Every
    transfer is applied to both rings: energy is conserved exactly. The first half-step
    draws a normal pair per link and keeps the second in ``xi_second`` for the second half.
    Energy moved from ring i to i+1 is booked in ``link_heat``.
    """
    inv_C, g, k0, k1 = c.inv_C, c.g, c.k0, c.k1
    flux, drift, xi_second = s.flux, s.drift, s.xi_second
    R = k0.shape[0]
    LR = g.shape[0]
    if c.noisy:
        if first_half:  # flux holds the first normals until the fluxes replace them
            _draw_normals(k0, k1, step, STREAM_COND, flux, xi_second)
        xi = flux if first_half else xi_second
        for j in range(LR):
            Ti = E[j] * inv_C[j]
            Tj = E[j + R] * inv_C[j + R]
            drift[j] = g[j] * (Tj - Ti) * tau
            q = drift[j]
            if g[j] > 0.0:
                q += math.sqrt(2.0 * g[j] * Ti * Tj * tau) * xi[j]
            flux[j] = q
    else:
        for j in range(LR):
            drift[j] = g[j] * (E[j + R] * inv_C[j + R] - E[j] * inv_C[j]) * tau
            flux[j] = drift[j]
    _apply_transfers(E, flux, link_heat, R)
    # corrector: move by half the change of the drift between start and predicted state
    for j in range(LR):
        flux[j] = 0.5 * (g[j] * (E[j + R] * inv_C[j + R] - E[j] * inv_C[j]) * tau - drift[j])
    _apply_transfers(E, flux, link_heat, R)


@njit(cache=True, error_model="numpy")
def _draw_normals(k0, k1, step, stream, first, second):
    """Both normals of the Philox block of every link element: link i of replica r with replica
    r's key, as alone. The innermost loop runs over the replicas (or, for one rod, the links),
    so the draws vectorise (``sim.rng`` is branch-free for that)."""
    R = k0.shape[0]
    if R == 1:
        for i in range(first.shape[0]):
            first[i], second[i] = normal_pair(k0[0], k1[0], step, i, stream, 0)
        return
    for i in range(first.shape[0] // R):
        for r in range(R):
            first[i * R + r], second[i * R + r] = normal_pair(k0[r], k1[r], step, i, stream, 0)


@njit(cache=True, error_model="numpy", inline="always")
def _apply_transfers(E, flux, link_heat, R):
    """Ring i gains flux from ring i+1 (and i+1 loses it); booked as link heat i -> i+1.
    Written per ring (what it gains from both sides), so no element is written twice and the
    loops vectorise."""
    LR = flux.shape[0]
    for j in range(R):
        E[j] += flux[j]
    for j in range(R, LR):
        E[j] += flux[j] - flux[j - R]
    for j in range(LR, LR + R):
        E[j] -= flux[j - R]
    for j in range(LR):
        link_heat[j] -= flux[j]


@njit(cache=True, error_model="numpy")
def _coherent(a, c, s):
    """Coherent sub-step: clocks advance, links exchange work; sum(E) + sum(U) conserved exactly.

    Predictor: torques at the start give a half-kick, whose clock rates set the increments
    dtheta (Verlet-like). Corrector: link i moves tau_bar_i * dtheta from ring i to ring
    i+1's side, tau_bar_i the discrete gradient of U over the link's increment d.
    Element j = i R + r is ring (or link) i of replica r: a neighbour is R elements away.
    """
    theta, phi, E, link_heat, link_impulse, sin_mphi, cos_mphi = (
        a.theta,
        a.phi,
        a.E,
        a.link_heat,
        a.link_impulse,
        a.sin_mphi,
        a.cos_mphi,
    )
    dt, inv_C, K, m, harmonic = c.dt, c.inv_C, c.K, c.m, c.harmonic
    law_id, lp, tT, tw, td = c.law_id, c.law_p, c.tab_T, c.tab_w, c.tab_d
    tau, dtheta = s.tau, s.dtheta
    R = c.k0.shape[0]
    NR = E.shape[0]
    LR = NR - R
    half = 0.5 * dt
    inv_m = 1.0 / m
    half_m = 0.5 * m
    # predictor half-kick into dtheta (used as the mid-step energy), the torques computed on
    # the way; then the mid-step clock rates times dt: the increments
    _clock_rates(law_id, lp, tT, tw, td, E, inv_C, 1.0, dtheta)
    for j in range(R):
        tau[j] = K[j] * phi[j] if harmonic else K[j] * inv_m * sin_mphi[j]
        dtheta[j] = E[j] - half * dtheta[j] * tau[j]
    for j in range(R, LR):
        tau[j] = K[j] * phi[j] if harmonic else K[j] * inv_m * sin_mphi[j]
        dtheta[j] = E[j] + half * dtheta[j] * (tau[j - R] - tau[j])
    for j in range(LR, NR):
        dtheta[j] = E[j] + half * dtheta[j] * tau[j - R]
    _clock_rates(law_id, lp, tT, tw, td, dtheta, inv_C, dt, dtheta)
    # half increments y = m d / 2; when all are small the series loop has no branch (SIMD).
    # Counted, not maximised: an integer sum vectorises, a floating-point max does not
    n_large = 0
    for j in range(LR):
        n_large += abs(half_m * (dtheta[j] - dtheta[j + R])) >= _SMALL_ANGLE
    # the discrete-gradient torque, then what the link moves: one loop per branch, each free
    # of branches (the series loop vectorises)
    if harmonic:
        for j in range(LR):
            tau[j] = K[j] * (phi[j] + 0.5 * (dtheta[j] - dtheta[j + R]))
            _link_moves(j, R, dt, tau, dtheta, phi, link_heat, link_impulse)
    elif n_large == 0:
        for j in range(LR):
            sy, cy, sinc = _half_angle_series(half_m * (dtheta[j] - dtheta[j + R]))
            _sine_link(j, sy, cy, sinc, K, inv_m, tau, sin_mphi, cos_mphi)
            _link_moves(j, R, dt, tau, dtheta, phi, link_heat, link_impulse)
    else:
        for j in range(LR):
            sy, cy, sinc = _half_angle(half_m * (dtheta[j] - dtheta[j + R]))
            _sine_link(j, sy, cy, sinc, K, inv_m, tau, sin_mphi, cos_mphi)
            _link_moves(j, R, dt, tau, dtheta, phi, link_heat, link_impulse)
    for j in range(R):
        E[j] -= tau[j] * dtheta[j]
        theta[j] += dtheta[j]
    for j in range(R, LR):
        E[j] += (tau[j - R] - tau[j]) * dtheta[j]
        theta[j] += dtheta[j]
    for j in range(LR, NR):
        E[j] += tau[j - R] * dtheta[j]
        theta[j] += dtheta[j]


@njit(cache=True, error_model="numpy")
def advance(
    arrays: tuple[np.ndarray, ...], step0: int, nsteps: int, constants: tuple, scratch: tuple[np.ndarray, ...]
) -> int:
    """Advance R replicas of one rod in place by ``nsteps`` steps of ``c.dt`` from step ``step0``.

    arrays, constants, scratch: ``tuple()`` of the ``RodArrays`` a (the state, written), the
    ``RodConstants`` c and the ``RodScratch`` s.
    R = len(c.k0): the replicas' Philox keys; they share every parameter and the step
    counter, and replica r's arithmetic is exactly that of the rod run alone with its key (no
    value depends on another replica), so it is bit-identical to it. Layout: element
    j = i R + r holds ring (or link) i of replica r, replicas innermost (the vector axis); for
    R = 1 these are the rod's own arrays. Shapes (flat): theta, E (N R,); phi, link_heat,
    link_impulse, sin_mphi, cos_mphi ((N-1) R,); acc (N_ACC R,). link_heat accumulates the
    energy each link carries (coherent: tau_bar (dtheta_i + dtheta_{i+1}) / 2; plus
    conduction) and link_impulse the angular impulse tau_bar dt: their rates are the link
    current and torque. sin_mphi, cos_mphi are state: sin/cos(m phi) advanced by the rotation
    through each increment (series, no libm call for small increments), re-synced from phi
    every RESYNC_EVERY global steps. Returns the number of steps completed: fewer than
    ``nsteps`` when an energy of any replica became non-positive or non-finite (a runaway).
    """
    return _steps(RodArrays(*arrays), RodConstants(*constants), RodScratch(*scratch), step0, nsteps, ())


@njit(cache=True, error_model="numpy")
def advance_batched(
    arrays: tuple[np.ndarray, ...], step0: int, nsteps: int, constants: tuple, scratch: tuple[np.ndarray, ...]
) -> int:
    """``advance`` for a batch whose reservoir exchanges are batched (``batches_exchanges``): the
    same numbers (``_reservoir_batch``)."""
    return _steps(RodArrays(*arrays), RodConstants(*constants), RodScratch(*scratch), step0, nsteps, (True,))


def batches_exchanges(c: RodConstants) -> bool:
    """Whether a rod's reservoir exchanges run batched (``_reservoir_batch``): noisy, at least
    _VECTOR_WIDTH replicas, and end rings with C >= 1.5 (a gamma shape C - 1/2 >= 1)."""
    R = len(c.k0)
    return bool(c.noisy) and R >= _VECTOR_WIDTH and min(c.C[0], c.C[-1]) >= 1.5


@njit(cache=True, error_model="numpy")
def _steps(a, c, s, step0, nsteps, batch_draws):
    """The loop of ``advance`` (``batch_draws`` = ()) and of ``advance_batched`` ((True,)): a flag
    in the type, so that each compiles its own loop (a single rod's loop ran 15 % slower with a
    run-time test and the never-taken call to ``_reservoir_batch`` in it), and separate entry
    points, so that a process compiles only the loop it runs."""
    E, acc = a.E, a.acc
    dt = c.dt
    half = 0.5 * dt
    last = E.shape[0] // c.k0.shape[0] - 1  # the right end ring
    # the ends, streams and slots as variables, not literals: Numba compiles a called function
    # once per distinct literal argument, so four exchanges compiled four times
    left = last - last
    first, second = left + STREAM_BATH_FIRST, left + STREAM_BATH_SECOND
    q_L, q_R = left + ACC_Q_L, left + ACC_Q_R
    for n in range(nsteps):
        step = step0 + n
        if step % RESYNC_EVERY == 0:
            sync_trig(a.phi, c.m, a.sin_mphi, a.cos_mphi)
        t = step * dt
        T_L1 = schedule_T(c.T_L_kind, c.T_L_p, t + 0.25 * dt)
        T_R1 = schedule_T(c.T_R_kind, c.T_R_p, t + 0.25 * dt)
        _bath(E, acc, c, s, batch_draws, left, T_L1, c.k_L, half, step, first, q_L)
        _bath(E, acc, c, s, batch_draws, last, T_R1, c.k_R, half, step, first, q_R)
        if c.has_g:
            _conduction(E, a.link_heat, c, s, half, step, True)

        _coherent(a, c, s)
        if not all_positive(E):
            return n + 1

        if c.has_g:
            _conduction(E, a.link_heat, c, s, half, step, False)
        T_L2 = schedule_T(c.T_L_kind, c.T_L_p, t + 0.75 * dt)
        T_R2 = schedule_T(c.T_R_kind, c.T_R_p, t + 0.75 * dt)
        _bath(E, acc, c, s, batch_draws, left, T_L2, c.k_L, half, step, second, q_L)
        _bath(E, acc, c, s, batch_draws, last, T_R2, c.k_R, half, step, second, q_R)
        if c.has_g and not all_positive(E):
            return n + 1
    return nsteps


@njit(cache=True)
def sin_floor(phi: np.ndarray, nsteps: int) -> None:
    """Cost floor for the benchmark: one sin per link-step, nothing else (loop-carried)."""
    for _ in range(nsteps):
        for i in range(phi.shape[0]):
            phi[i] += 1e-3 * math.sin(phi[i])


#: multiply-adds per ring-step of a sine rod on the series path with a linear clock law: the
#: coherent sub-step's 76 additions and multiplications, counted by hand from ``_coherent``
#: (the reservoirs touch two rings only). The work of the benchmark's second floor.
MULADDS_PER_RING_STEP = 38


@njit(cache=True)
def muladd_floor(x: np.ndarray, nsteps: int) -> None:
    """Second cost floor: MULADDS_PER_RING_STEP multiply-adds per element and step, each a sweep
    over the elements (rings or replicas) with no dependence between them, as the kernel's
    loops are: the sweeps vectorise, and load and store x as the kernel does its arrays."""
    for _ in range(nsteps):
        for _k in range(MULADDS_PER_RING_STEP):
            for j in range(x.shape[0]):
                x[j] = x[j] * 0.999999 + 1e-7
