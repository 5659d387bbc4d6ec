"""Plain-NumPy twin of ``sim.radiative.dynamics.advance_kernel`` (same ROS2 step, same flows,
same Philox noise bits), for tests and the benchmark's baseline. Vectorised over pairs;
np.linalg.solve (LAPACK, pivoting) instead of the kernel's unpivoted LU."""

from __future__ import annotations

import numpy as np

from sim.radiative.dynamics.kernels import GAMMA
from sim.radiative.dynamics.model import KB, NetworkState
from sim.radiative.dynamics.system import NetworkSystem
from sim.rng import normal_pair_array


def _hermite(tab, T, T0, dTg):
    """Grid cell k (N,) and position s (N, 1) in it of each temperature; tab (N, nT, N)."""
    nT = tab.shape[-2]
    x = (T - T0) / dTg
    if not np.all((x >= 0) & (x <= nT - 1)):
        raise ValueError("temperature outside the tabulated grid")
    k = np.minimum(x.astype(int), nT - 2)
    s = (x - k)[:, None]
    return k, s


def emission_numpy(system: NetworkSystem, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """E[i, j] = Phi_ij(T_j), Gm[i, j] = dPhi_ij/dT(T_j); eo, go (environment) as the kernel."""
    t = system.tables
    Tg = system.T_grid
    T0, dTg = Tg[0], Tg[1] - Tg[0]
    N = len(T)
    k, s = _hermite(t["P"], T, T0, dTg)
    j = np.arange(N)
    p0, p1, g0, g1 = t["P"][j, k], t["P"][j, k + 1], t["G"][j, k], t["G"][j, k + 1]  # (N_j, N_i)
    s2, s3 = s * s, s * s * s
    Ev = (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * dTg * g0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * dTg * g1
    Gv = (6 * s2 - 6 * s) / dTg * (p0 - p1) + (3 * s2 - 4 * s + 1) * g0 + (3 * s2 - 2 * s) * g1
    E, Gm = Ev.T.copy(), Gv.T.copy()
    eo, go = np.zeros(N), np.zeros(N)
    if system.params.environment:
        o0, o1, h0, h1 = t["Pout"][k, j], t["Pout"][k + 1, j], t["Gout"][k, j], t["Gout"][k + 1, j]
        s, s2, s3 = s[:, 0], s2[:, 0], s3[:, 0]
        eo = (2 * s3 - 3 * s2 + 1) * o0 + (s3 - 2 * s2 + s) * dTg * h0 + (-2 * s3 + 3 * s2) * o1 + (s3 - s2) * dTg * h1
        go = (6 * s2 - 6 * s) / dTg * (o0 - o1) + (3 * s2 - 4 * s + 1) * h0 + (3 * s2 - 2 * s) * h1
    return E, Gm, eo, go


def step_numpy(system: NetworkSystem, state: NetworkState) -> None:
    """One ROS2 step of ``state`` in place (module doc of ``sim.radiative.dynamics``)."""
    p = system.params
    N, dt, g = p.N, p.dt, GAMMA
    C, fi, env = p.C, system.free_idx, p.environment
    th = system.sched_kind >= 0
    t = state.step * dt
    T = state.T
    D = np.zeros(N)
    for i in np.nonzero(th)[0]:
        D[i] = p.thermostats[int(np.sum(th[:i]))].at(t + dt).item() - T[i]
    Pin = system.tables["Pin"] if env else np.zeros(N)
    E, Gm, eo, go = emission_numpy(system, T)
    offdiag = ~np.eye(N, dtype=bool)
    diag = (Gm * offdiag).sum(axis=0) + (go if env else 0.0)
    M = -g * dt * Gm[np.ix_(fi, fi)]
    M[np.diag_indices(len(fi))] = C[fi] + g * dt * diag[fi]
    f = (E - E.T) * offdiag
    envp = (Pin - eo) if env else np.zeros(N)

    def flows(base, k):
        q = base + g * dt * (Gm * k[None, :] - Gm.T * k[:, None])
        return q * offdiag

    def solve(rhs_pairs, rhs_env, kth):
        rhs = rhs_pairs.sum(axis=1) + rhs_env + g * dt * (Gm * (th * kth)[None, :]).sum(axis=1)
        k = kth.copy()
        k[fi] = np.linalg.solve(M, rhs[fi])
        return k

    k1 = solve(dt * f, dt * envp, D)
    q1 = flows(dt * f, k1)
    e1 = (dt * envp - g * dt * go * k1) if env else np.zeros(N)
    E2, _, eo2, _ = emission_numpy(system, T + k1)
    f2 = (E2 - E2.T) * offdiag
    envp2 = (Pin - eo2) if env else np.zeros(N)
    k2 = solve(dt * f2 - 2 * q1, dt * envp2 - 2 * e1, -D)
    q2 = flows(dt * f2 - 2 * q1, k2)
    e2 = (dt * envp2 - 2 * e1 - g * dt * go * k2) if env else np.zeros(N)
    Q = 1.5 * q1 + 0.5 * q2
    eQ = 1.5 * e1 + 0.5 * e2
    iu, ju = system.pairs.T
    if p.noise:
        npairs = len(iu)
        k0, k1_ = system.key
        z = normal_pair_array(k0, k1_, state.step, np.arange(npairs + N), 0, 0)[0]
        gs = 0.5 * (Gm + Gm.T)[iu, ju]
        use = (~th[iu] | ~th[ju]) & (gs > 0)
        xi = np.where(use, np.sqrt(2 * KB * T[iu] * T[ju] * np.maximum(gs, 0) * dt) * z[:npairs], 0.0)
        Q[iu, ju] += xi
        Q[ju, iu] -= xi
        if env:
            gse = 0.5 * (system.tables["Gin"] + go)
            use = ~th & (gse > 0)
            eQ = eQ + np.where(use, np.sqrt(2 * KB * T * p.T_env * np.maximum(gse, 0) * dt) * z[npairs:], 0.0)
    net = (Q * offdiag).sum(axis=1) + eQ
    Tn = np.where(th, T + D, T + net / C)
    state.Q_thermostat += np.where(th, C * D - net, 0.0)
    Tm = 0.5 * (T + Tn)
    ds = np.sum(Q[iu, ju] * (1 / Tm[iu] - 1 / Tm[ju]))
    if env:
        ds += np.sum(eQ * (1 / Tm - 1 / p.T_env))
    state.acc[0] += ds
    state.Q_env += eQ
    state.Q_pair += Q[iu, ju]
    state.T[:] = Tn
    state.step += 1


def advance_numpy(system: NetworkSystem, state: NetworkState, nsteps: int) -> None:
    for _ in range(int(nsteps)):
        step_numpy(system, state)
