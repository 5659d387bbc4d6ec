"""Numba kernels of the network dynamics: Hermite interpolation of the tables, the small
unpivoted LU, and ``advance_kernel`` (ROS2 steps with pair flows, thermostats, environment and
pair noise), whose constants are the named tuple ``NetworkConstants`` (built once per system,
passed as a plain ``tuple()``: Numba's dispatcher types that in C, a NamedTuple field by field
in Python, 0.15 us per array per call). Hand-written for speed: the step is a few dense N x N operations, so the
call overhead of NumPy per operation would dominate at small N (the NumPy twin,
``reference.advance_numpy``, is 130x slower at 8 free particles). The NumPy twin is
``sim.radiative.dynamics.reference``."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.rng import normal_pair
from sim.schedule import schedule_T

GAMMA = 1.0 + 1.0 / math.sqrt(2.0)
#: free particles above which the kernel's two LAPACK solves beat its unpivoted LU (measured:
#: equal near 64, 2x faster at 128, 3x at 256; below, LAPACK's call overhead dominates)
DENSE_MIN = 64


class NetworkConstants(NamedTuple):
    """What a step reads and never writes. C (N,) J/K; free_idx (nf,) the free particles;
    sched_kind (N,) the encoded thermostat schedules (-1: free) and sched_p (N, 4) their
    parameters (``sim.schedule``); the Phi tables on the uniform grid T0 + k dT (docs/model.md
    §B4): P[j, k, i] = Phi_ij (W) at T_j = T0 + k dT and G its T-derivative (W/K); with the
    environment (``env``), Pout[k, i], Gout what particle i emits to it and the derivative,
    Pin, Gin (N,) the power it receives from it at T_env (K) and the conductance; noise, k0, k1:
    pair noise and its Philox key; kB in J/K."""

    dt: float
    C: np.ndarray
    free_idx: np.ndarray
    sched_kind: np.ndarray
    sched_p: np.ndarray
    P: np.ndarray
    G: np.ndarray
    T0: float
    dT: float
    env: bool
    Pout: np.ndarray
    Gout: np.ndarray
    Pin: np.ndarray
    Gin: np.ndarray
    T_env: float
    noise: bool
    k0: np.uint64
    k1: np.uint64
    kB: float


@njit(cache=True, error_model="numpy", inline="always")
def _hermite_cell(T, T0, dTg, nT):
    """Grid cell k and position s in [0, 1] of temperature T; k = -1 outside the grid (or not finite)."""
    x = (T - T0) / dTg
    if not (x >= 0.0 and x <= nT - 1.0):
        return -1, 0.0
    k = min(int(x), nT - 2)
    return k, x - k


@njit(cache=True, error_model="numpy", inline="always")
def _hermite_basis(s, dTg):
    """Cubic Hermite weights (value: h00, h10, h01, h11; derivative: d00, d10, d01, d11) at s."""
    s2 = s * s
    s3 = s2 * s
    d00 = (6.0 * s2 - 6.0 * s) / dTg
    return (
        2.0 * s3 - 3.0 * s2 + 1.0,
        (s3 - 2.0 * s2 + s) * dTg,
        -2.0 * s3 + 3.0 * s2,
        (s3 - s2) * dTg,
        d00,
        3.0 * s2 - 4.0 * s + 1.0,
        -d00,
        3.0 * s2 - 2.0 * s,
    )


@njit(cache=True, error_model="numpy")
def emission(
    T: np.ndarray, tabP: np.ndarray, tabG: np.ndarray, T0: float, dTg: float, E: np.ndarray, Gm: np.ndarray
) -> int:
    """E[i, j] = Phi_ij(T_j) (W), Gm[i, j] = dPhi_ij/dT(T_j) (W/K) by cubic Hermite
    interpolation of tabP/tabG ([j, k, i]). Returns -1, or the first particle whose
    temperature lies outside the grid (or is not finite)."""
    N = T.shape[0]
    for j in range(N):
        k, s = _hermite_cell(T[j], T0, dTg, tabP.shape[1])
        if k < 0:
            return j
        h00, h10, h01, h11, d00, d10, d01, d11 = _hermite_basis(s, dTg)
        for i in range(N):
            p0, p1, g0, g1 = tabP[j, k, i], tabP[j, k + 1, i], tabG[j, k, i], tabG[j, k + 1, i]
            E[i, j] = h00 * p0 + h10 * g0 + h01 * p1 + h11 * g1
            Gm[i, j] = d00 * p0 + d10 * g0 + d01 * p1 + d11 * g1
    return -1


@njit(cache=True, error_model="numpy")
def env_emission(
    T: np.ndarray, tabO: np.ndarray, tabGO: np.ndarray, T0: float, dTg: float, eo: np.ndarray, go: np.ndarray
) -> int:
    """eo[i] = Phi_out_i(T_i) (W), go[i] = its T-derivative (W/K), Hermite as ``emission``."""
    for i in range(T.shape[0]):
        k, s = _hermite_cell(T[i], T0, dTg, tabO.shape[0])
        if k < 0:
            return i
        h00, h10, h01, h11, d00, d10, d01, d11 = _hermite_basis(s, dTg)
        p0, p1, g0, g1 = tabO[k, i], tabO[k + 1, i], tabGO[k, i], tabGO[k + 1, i]
        eo[i] = h00 * p0 + h10 * g0 + h01 * p1 + h11 * g1
        go[i] = d00 * p0 + d10 * g0 + d01 * p1 + d11 * g1
    return -1


@njit(cache=True, error_model="numpy", inline="always")
def _all_emission(T, P, G, T0, dT, env, Pout, Gout, E, Gm, eo, go):
    """``emission`` and, with the environment, ``env_emission`` at T (tables as in
    ``NetworkConstants``); the first particle outside the grid, or -1. The tables are arguments,
    not read from the constants here: a read from a tuple inside the step loop costs a
    reference count in and out per array (~10 % of a step at 8 particles)."""
    bad = emission(T, P, G, T0, dT, E, Gm)
    if bad < 0 and env:
        bad = env_emission(T, Pout, Gout, T0, dT, eo, go)
    return bad


@njit(cache=True, error_model="numpy")
def _lu(M, n):
    """In-place LU (Doolittle, no pivoting) of the leading n x n block. M = diag(C) + gamma dt L
    with L a weighted Laplacian is column diagonally dominant, so no pivoting is needed."""
    for k in range(n):
        piv = M[k, k]
        for i in range(k + 1, n):
            M[i, k] /= piv
        for i in range(k + 1, n):
            f = M[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    M[i, j] -= f * M[k, j]


@njit(cache=True, error_model="numpy")
def _lu_solve(M, n, b):
    """Solve (LU) x = b in place with the factors ``_lu`` left in M."""
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= M[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= M[i, j] * b[j]
        b[i] = s / M[i, i]


@njit(cache=True, error_model="numpy")
def _solve(M, n, b, dense):
    """b <- M^-1 b: LAPACK on the unfactored M (dense), else with the ``_lu`` factors in M."""
    if dense:
        b[:] = np.linalg.solve(M, b)
    else:
        _lu_solve(M, n, b)


@njit(cache=True, error_model="numpy")
def advance_kernel(
    T: np.ndarray,
    Qp: np.ndarray,
    Qth: np.ndarray,
    Qenv: np.ndarray,
    acc: np.ndarray,
    step0: int,
    nsteps: int,
    constants: tuple,
) -> tuple[int, int, int]:
    """Advance ``nsteps`` ROS2 steps from step ``step0`` in place (module doc): temperatures T
    (N,) K, cumulative pair heats Qp (N(N-1)/2,) J, thermostat and environment heats Qth, Qenv
    (N,) J and entropy production acc (1,) J/K; constants: ``tuple()`` of the
    ``NetworkConstants``. Returns (steps done, status, particle): status 0 ok, 1 a temperature
    left the tabulated grid (particle given)."""
    c = NetworkConstants(*constants)
    dt, C, free_idx, sched_kind, sched_p = c.dt, c.C, c.free_idx, c.sched_kind, c.sched_p
    env, Pin, Gin, T_env, noise, k0, k1, kB = c.env, c.Pin, c.Gin, c.T_env, c.noise, c.k0, c.k1, c.kB
    P, G, T0, dT, Pout, Gout = c.P, c.G, c.T0, c.dT, c.Pout, c.Gout
    N = T.shape[0]
    nf = free_idx.shape[0]
    gam = 1.0 + 1.0 / math.sqrt(2.0)
    npairs = N * (N - 1) // 2
    # scratch, allocated here on purpose: fresh arrays let LLVM prove that they alias nothing
    # else, worth 11 % per step at 8 particles (passed in preallocated: 6.4e5 against 7.15e5
    # steps/s), for ~1 us per call
    E = np.zeros((N, N))
    Gm = np.zeros((N, N))
    E2 = np.zeros((N, N))
    G2 = np.zeros((N, N))
    q1 = np.zeros((N, N))
    Q = np.zeros((N, N))
    eo = np.zeros(N)
    go = np.zeros(N)
    eo2 = np.zeros(N)
    go2 = np.zeros(N)
    e1 = np.zeros(N)
    eQ = np.zeros(N)
    D = np.zeros(N)
    kk = np.zeros(N)
    Ts = np.zeros(N)
    b = np.zeros(nf)
    M = np.zeros((nf, nf))
    dense = nf > DENSE_MIN
    for n in range(nsteps):
        step = step0 + n
        t = step * dt
        # thermostat increments over the step
        for i in range(N):
            D[i] = 0.0
            if sched_kind[i] >= 0:
                D[i] = schedule_T(sched_kind[i], sched_p[i], t + dt) - T[i]
        bad = _all_emission(T, P, G, T0, dT, env, Pout, Gout, E, Gm, eo, go)
        if bad >= 0:
            return n, 1, bad
        # M = diag(C) - gamma dt A on the free block
        for a in range(nf):
            i = free_idx[a]
            diag = go[i] if env else 0.0
            for j in range(N):
                if j != i:
                    diag += Gm[j, i]
            for col in range(nf):
                M[a, col] = -gam * dt * Gm[i, free_idx[col]]
            M[a, a] = C[i] + gam * dt * diag
        if not dense:
            _lu(M, nf)
        # stage 1
        for i in range(N):
            kk[i] = D[i]
        for a in range(nf):
            i = free_idx[a]
            r = 0.0
            for j in range(N):
                if j != i:
                    r += dt * (E[i, j] - E[j, i])
                    if sched_kind[j] >= 0:
                        r += gam * dt * Gm[i, j] * D[j]
            if env:
                r += dt * (Pin[i] - eo[i])
            b[a] = r
        _solve(M, nf, b, dense)
        for a in range(nf):
            kk[free_idx[a]] = b[a]
        for i in range(N):
            for j in range(i + 1, N):
                v = dt * (E[i, j] - E[j, i]) + gam * dt * (Gm[i, j] * kk[j] - Gm[j, i] * kk[i])
                q1[i, j] = v
                q1[j, i] = -v
            e1[i] = (dt * (Pin[i] - eo[i]) - gam * dt * go[i] * kk[i]) if env else 0.0
            Ts[i] = T[i] + kk[i]
        # stage 2 at T + k1 (thermostats at T_sched(t + dt))
        bad = _all_emission(Ts, P, G, T0, dT, env, Pout, Gout, E2, G2, eo2, go2)
        if bad >= 0:
            return n, 1, bad
        for i in range(N):
            kk[i] = -D[i]
        for a in range(nf):
            i = free_idx[a]
            r = 0.0
            for j in range(N):
                if j != i:
                    r += dt * (E2[i, j] - E2[j, i]) - 2.0 * q1[i, j]
                    if sched_kind[j] >= 0:
                        r -= gam * dt * Gm[i, j] * D[j]
            if env:
                r += dt * (Pin[i] - eo2[i]) - 2.0 * e1[i]
            b[a] = r
        _solve(M, nf, b, dense)
        for a in range(nf):
            kk[free_idx[a]] = b[a]
        for i in range(N):
            for j in range(i + 1, N):
                q2 = dt * (E2[i, j] - E2[j, i]) - 2.0 * q1[i, j] + gam * dt * (Gm[i, j] * kk[j] - Gm[j, i] * kk[i])
                v = 1.5 * q1[i, j] + 0.5 * q2
                Q[i, j] = v
                Q[j, i] = -v
            if env:
                e2 = dt * (Pin[i] - eo2[i]) - 2.0 * e1[i] - gam * dt * go[i] * kk[i]
                eQ[i] = 1.5 * e1[i] + 0.5 * e2
            else:
                eQ[i] = 0.0
        if noise:
            p = 0
            for i in range(N):
                for j in range(i + 1, N):
                    if sched_kind[i] < 0 or sched_kind[j] < 0:
                        gs = 0.5 * (Gm[i, j] + Gm[j, i])
                        if gs > 0.0:
                            z = normal_pair(k0, k1, step, p, 0, 0)[0]
                            xi = math.sqrt(2.0 * kB * T[i] * T[j] * gs * dt) * z
                            Q[i, j] += xi
                            Q[j, i] -= xi
                    p += 1
            if env:
                for i in range(N):
                    if sched_kind[i] < 0:
                        gs = 0.5 * (Gin[i] + go[i])
                        if gs > 0.0:
                            z = normal_pair(k0, k1, step, npairs + i, 0, 0)[0]
                            eQ[i] += math.sqrt(2.0 * kB * T[i] * T_env * gs * dt) * z
        # apply: free particles take their pair flows; thermostats are reset to the schedule
        ds = 0.0
        for i in range(N):
            net = eQ[i]
            for j in range(N):
                if j != i:
                    net += Q[i, j]
            Tn = T[i] + net / C[i] if sched_kind[i] < 0 else T[i] + D[i]
            if sched_kind[i] >= 0:
                Qth[i] += C[i] * D[i] - net
            Ts[i] = 0.5 * (T[i] + Tn)  # midpoint, for the entropy production
            T[i] = Tn
            Qenv[i] += eQ[i]
            if env:
                ds += eQ[i] * (1.0 / Ts[i] - 1.0 / T_env)
        p = 0
        for i in range(N):
            for j in range(i + 1, N):
                Qp[p] += Q[i, j]
                ds += Q[i, j] * (1.0 / Ts[i] - 1.0 / Ts[j])
                p += 1
        acc[0] += ds
        for i in range(N):
            if not np.isfinite(T[i]):
                return n + 1, 1, i
    return nsteps, 0, -1
