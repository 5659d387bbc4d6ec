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
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.rng import cir_update, normal_pair
from sim.schedule import schedule_T

# Random streams (word 3 of the Philox counter): one per use within a step. The two
# conduction half-steps share one block per link: the two Box-Muller outputs.
STREAM_BATH_FIRST, STREAM_BATH_SECOND, STREAM_COND = 0, 1, 2

# accumulator slots (cumulative since the start of the run)
ACC_Q_L, ACC_Q_R, ACC_IMPULSE_L, ACC_IMPULSE_R, ACC_S_FLOW = 0, 1, 2, 3, 4
N_ACC = 5

_SMALL_ANGLE = 0.1  # below, sin/cos/sinc of the half increment come from their series
RESYNC_EVERY = 1024  # steps between re-computations of the rotated sin/cos(m phi) from phi


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
    return ((1 + 2 * s) * (1 - s) ** 2 * tab_w[j] + s * (1 - s) ** 2 * h * tab_d[j]
            + s * s * (3 - 2 * s) * tab_w[j + 1] + s * s * (s - 1) * h * tab_d[j + 1])


@njit(cache=True, error_model="numpy", inline="always")
def _linear(p, T):
    return p[0] * (1.0 + p[1] * (T - p[2]))


@njit(cache=True, error_model="numpy", inline="always")
def _power(p, T):
    return p[0] * (T / p[2]) ** p[1]


@njit(cache=True, error_model="numpy")
def omega0(law_id, p, tab_T, tab_w, tab_d, T):
    """Clock rate omega0(T) of law ``law_id`` (ids LAW_* in ``sim.rod.model``), one temperature."""
    if law_id == 0:
        return _linear(p, T)
    if law_id == 1:
        return _power(p, T)
    if law_id == 2:
        return _rotor(p, T)
    return _table(tab_T, tab_w, tab_d, T)


@njit(cache=True, error_model="numpy")
def _clock_rates(law_id, p, tab_T, tab_w, tab_d, E, C, out):
    """out[i] = omega0(E[i] / C[i]). The law is dispatched once per sweep, not per ring, so
    the loops stay free of calls and vectorise (a per-ring dispatch costs a factor ~4)."""
    n = E.shape[0]
    if law_id == 0:
        for i in range(n):
            out[i] = _linear(p, E[i] / C[i])
    elif law_id == 1:
        for i in range(n):
            out[i] = _power(p, E[i] / C[i])
    elif law_id == 2:
        for i in range(n):
            out[i] = _rotor(p, E[i] / C[i])
    else:
        for i in range(n):
            out[i] = _table(tab_T, tab_w, tab_d, E[i] / C[i])


@njit(cache=True, error_model="numpy", inline="always")
def _half_angle_series(y):
    """sin(y), cos(y), sin(y)/y by series: round-off accurate for |y| < _SMALL_ANGLE, branch-free."""
    y2 = y * y
    sinc = 1.0 - y2 / 6.0 * (1.0 - y2 / 20.0 * (1.0 - y2 / 42.0 * (1.0 - y2 / 72.0)))
    cos_y = 1.0 - y2 / 2.0 * (1.0 - y2 / 12.0 * (1.0 - y2 / 30.0 * (1.0 - y2 / 56.0)))
    return y * sinc, cos_y, sinc


@njit(cache=True, error_model="numpy", inline="always")
def _half_angle(y):
    """sin(y), cos(y) and sin(y)/y for any y (series when small: no cancellation in sinc)."""
    if abs(y) < _SMALL_ANGLE:
        return _half_angle_series(y)
    s = math.sin(y)
    return s, math.cos(y), s / y


@njit(cache=True, error_model="numpy", inline="always")
def _sine_link(i, d, sy, cy, sinc, K, inv_m, tau, sin_mphi, cos_mphi):
    """Discrete-gradient torque of sine link i over increment d; rotate its cached sin/cos(m phi)."""
    tau[i] = K[i] * inv_m * (sin_mphi[i] * cy + cos_mphi[i] * sy) * sinc
    c2, s2 = 1.0 - 2.0 * sy * sy, 2.0 * sy * cy  # cos 2y, sin 2y
    sin_mphi[i], cos_mphi[i] = sin_mphi[i] * c2 + cos_mphi[i] * s2, cos_mphi[i] * c2 - sin_mphi[i] * s2


@njit(cache=True, error_model="numpy")
def sync_trig(phi, m, sin_mphi, cos_mphi):
    """sin/cos(m phi) from phi. Called on global step multiples of RESYNC_EVERY only, so the
    rounding of the rotated values never depends on how a run is cut into kernel calls."""
    for i in range(phi.shape[0]):
        sin_mphi[i] = math.sin(m * phi[i])
        cos_mphi[i] = math.cos(m * phi[i])


@njit(cache=True, error_model="numpy")
def all_positive(E):
    """True when every entry is > 0 (and not NaN); no temporary array."""
    for i in range(E.shape[0]):
        if not E[i] > 0.0:
            return False
    return True


@njit(cache=True, error_model="numpy")
def _reservoir(E, C, site, T_b, k, tau, noisy, k0, k1, step, stream, acc, slot, law_id, lp, tT, tw, td):
    """Exact reservoir exchange of end ring ``site``; books heat, angular impulse, entropy flow.
    k == 0 is a closed end: nothing happens."""
    if k == 0.0:
        return
    E_old = E[site]
    E_new = cir_update(E_old, C[site], T_b, k * tau / C[site], noisy, k0, k1, step, site, stream)
    dQ = E_new - E_old
    E[site] = E_new
    acc[slot] += dQ
    # each kick of energy dQ carries the angular impulse dQ / omega0 (docs/model.md §A3)
    acc[slot + 2] += dQ / omega0(law_id, lp, tT, tw, td, 0.5 * (E_old + E_new) / C[site])
    acc[ACC_S_FLOW] += dQ / T_b


@njit(cache=True, error_model="numpy")
def _conduction(E, C, g, tau, noisy, k0, k1, step, first_half, xi_second, flux, drift, link_heat):
    """Pairwise energy-conserving conduction over a sub-step tau.

    Drift by Heun's rule (trapezoid of the fluxes at the start and after an Euler predictor:
    second order, as Strang splitting needs); noise sqrt(2 g T_i T_j tau) xi at the start state
    (Ito). The flux is linear in T, so the corrector adds no noise-induced drift. Every
    transfer is applied to both rings: energy is conserved exactly. The first half-step
    draws a normal pair per link and keeps the second in ``xi_second`` for the second half.
    Energy moved from ring i to i+1 is booked in ``link_heat``.
    """
    L = g.shape[0]
    for i in range(L):
        Ti = E[i] / C[i]
        Tj = E[i + 1] / C[i + 1]
        drift[i] = g[i] * (Tj - Ti) * tau
        q = drift[i]
        if noisy and g[i] > 0.0:
            if first_half:
                xi, xi_second[i] = normal_pair(k0, k1, step, i, STREAM_COND, 0)
            else:
                xi = xi_second[i]
            q += math.sqrt(2.0 * g[i] * Ti * Tj * tau) * xi
        flux[i] = q
    _apply_transfers(E, flux, link_heat)
    # corrector: move by half the change of the drift between start and predicted state
    for i in range(L):
        flux[i] = 0.5 * (g[i] * (E[i + 1] / C[i + 1] - E[i] / C[i]) * tau - drift[i])
    _apply_transfers(E, flux, link_heat)


@njit(cache=True, error_model="numpy", inline="always")
def _apply_transfers(E, flux, link_heat):
    """Ring i gains flux[i] from ring i+1 (and i+1 loses it); booked as link heat i -> i+1."""
    for i in range(flux.shape[0]):
        E[i] += flux[i]
        E[i + 1] -= flux[i]
        link_heat[i] -= flux[i]


@njit(cache=True, error_model="numpy")
def _coherent(theta, phi, E, link_heat, link_impulse, dt, C, K, inv_m, harmonic,
              law_id, lp, tT, tw, td, tau, dtheta, sin_mphi, cos_mphi):
    """Coherent sub-step: clocks advance, links exchange work; sum(E) + sum(U) conserved exactly.

    Predictor: torques at the start give a half-kick, whose clock rates set the increments
    dtheta (Verlet-like). Corrector: link i moves tau_bar_i * dtheta from ring i to ring
    i+1's side, tau_bar_i the discrete gradient of U over the link's increment d.
    """
    N = E.shape[0]
    L = N - 1
    half = 0.5 * dt
    for i in range(L):
        tau[i] = K[i] * phi[i] if harmonic else K[i] * inv_m * sin_mphi[i]
    # predictor half-kick into dtheta (used as the mid-step energy), then its clock rates
    _clock_rates(law_id, lp, tT, tw, td, E, C, dtheta)
    dtheta[0] = E[0] - half * dtheta[0] * tau[0]
    for i in range(1, L):
        dtheta[i] = E[i] + half * dtheta[i] * (tau[i - 1] - tau[i])
    dtheta[L] = E[L] + half * dtheta[L] * tau[L - 1]
    _clock_rates(law_id, lp, tT, tw, td, dtheta, C, dtheta)
    for i in range(N):
        dtheta[i] *= dt
    # half increments y = m d / 2; when all are small the series loop has no branch (SIMD)
    y_max = 0.0
    for i in range(L):
        y_max = max(y_max, abs(0.5 * (dtheta[i] - dtheta[i + 1]) / inv_m))
    if harmonic:
        for i in range(L):
            tau[i] = K[i] * (phi[i] + 0.5 * (dtheta[i] - dtheta[i + 1]))
    elif y_max < _SMALL_ANGLE:
        for i in range(L):
            sy, cy, sinc = _half_angle_series(0.5 * (dtheta[i] - dtheta[i + 1]) / inv_m)
            _sine_link(i, dtheta[i] - dtheta[i + 1], sy, cy, sinc, K, inv_m, tau, sin_mphi, cos_mphi)
    else:
        for i in range(L):
            sy, cy, sinc = _half_angle(0.5 * (dtheta[i] - dtheta[i + 1]) / inv_m)
            _sine_link(i, dtheta[i] - dtheta[i + 1], sy, cy, sinc, K, inv_m, tau, sin_mphi, cos_mphi)
    for i in range(L):
        phi[i] += dtheta[i] - dtheta[i + 1]
        link_heat[i] += tau[i] * 0.5 * (dtheta[i] + dtheta[i + 1])
        link_impulse[i] += tau[i] * dt
    E[0] -= tau[0] * dtheta[0]
    for i in range(1, L):
        E[i] += (tau[i - 1] - tau[i]) * dtheta[i]
    E[L] += tau[L - 1] * dtheta[L]
    for i in range(N):
        theta[i] += dtheta[i]


@njit(cache=True, error_model="numpy")
def advance(theta, phi, E, link_heat, link_impulse, acc, step0, nsteps, dt, C, K, m, harmonic, g, has_g, k_L, k_R,
            sL_kind, sL_p, sR_kind, sR_p, law_id, lp, tT, tw, td, noisy, k0, k1,
            sin_mphi, cos_mphi, tau, dtheta, flux, drift, xi_second):
    """Advance the rod state in place by ``nsteps`` steps of ``dt`` starting at step ``step0``.

    Shapes: theta, E, C, dtheta (N,); phi, link_heat, link_impulse, K, g, sin_mphi, cos_mphi,
    tau, flux, drift, xi_second (N-1,); acc (N_ACC,). link_heat accumulates the energy each link
    carries (coherent: tau_bar (dtheta_i + dtheta_{i+1}) / 2; plus conduction) and
    link_impulse the angular impulse tau_bar dt: their rates are the link current and torque.
    sin_mphi, cos_mphi are state: sin/cos(m phi) advanced by the rotation through each
    increment (series, no libm call for small increments), re-synced from phi every
    RESYNC_EVERY global steps. tau, dtheta, flux, drift, xi_second are scratch. Returns the number of steps completed: fewer
    than ``nsteps`` when an energy became non-positive or non-finite (a runaway).
    """
    N = E.shape[0]
    L = N - 1
    half = 0.5 * dt
    inv_m = 1.0 / m
    for n in range(nsteps):
        step = step0 + n
        if step % RESYNC_EVERY == 0:
            sync_trig(phi, m, sin_mphi, cos_mphi)
        t = step * dt
        T_L1 = schedule_T(sL_kind, sL_p, t + 0.25 * dt)
        T_R1 = schedule_T(sR_kind, sR_p, t + 0.25 * dt)
        _reservoir(E, C, 0, T_L1, k_L, half, noisy, k0, k1, step, STREAM_BATH_FIRST, acc, ACC_Q_L, law_id, lp, tT, tw, td)
        _reservoir(E, C, N - 1, T_R1, k_R, half, noisy, k0, k1, step, STREAM_BATH_FIRST, acc, ACC_Q_R, law_id, lp, tT, tw, td)
        if has_g:
            _conduction(E, C, g, half, noisy, k0, k1, step, True, xi_second, flux, drift, link_heat)

        _coherent(theta, phi, E, link_heat, link_impulse, dt, C, K, inv_m, harmonic,
                  law_id, lp, tT, tw, td, tau, dtheta, sin_mphi, cos_mphi)
        if not all_positive(E):
            return n + 1

        if has_g:
            _conduction(E, C, g, half, noisy, k0, k1, step, False, xi_second, flux, drift, link_heat)
        T_L2 = schedule_T(sL_kind, sL_p, t + 0.75 * dt)
        T_R2 = schedule_T(sR_kind, sR_p, t + 0.75 * dt)
        _reservoir(E, C, 0, T_L2, k_L, half, noisy, k0, k1, step, STREAM_BATH_SECOND, acc, ACC_Q_L, law_id, lp, tT, tw, td)
        _reservoir(E, C, N - 1, T_R2, k_R, half, noisy, k0, k1, step, STREAM_BATH_SECOND, acc, ACC_Q_R, law_id, lp, tT, tw, td)
        if has_g and not all_positive(E):
            return n + 1
    return nsteps


@njit(cache=True)
def sin_floor(phi, nsteps):
    """Cost floor for the benchmark: one sin per link-step, nothing else (loop-carried)."""
    for _ in range(nsteps):
        for i in range(phi.shape[0]):
            phi[i] += 1e-3 * math.sin(phi[i])
