"""Plain NumPy twin of ``sim.rod.kernels.advance``: the oracle the Numba kernel is held to.

Same splitting, same random numbers (``sim.rng`` keyed identically), vectorised over rings
with NumPy; clock laws and schedules evaluated by their NumPy methods in ``sim.rod.model``,
not by the kernel's encoded versions, so the twin also checks the encoding. Slow by design.
"""

from __future__ import annotations

import numpy as np

from sim.rng import cir_update, normal_pair_array
from sim.rod import kernels
from sim.rod.system import Rod, RodState


def _reservoir(
    rod: Rod, state: RodState, site: int, T_b: float, k: float, tau: float, step: int, stream: int, slot: int
):
    p = rod.params
    if k == 0.0:
        return
    E_old = state.E[site]
    E_new = cir_update(E_old, p.C[site], T_b, k * tau / p.C[site], p.noise, rod.key[0], rod.key[1], step, site, stream)
    dQ = E_new - E_old
    state.E[site] = E_new
    state.acc[slot] += dQ
    state.acc[slot + 2] += dQ / float(p.law.omega0(0.5 * (E_old + E_new) / p.C[site]))
    state.acc[kernels.ACC_S_FLOW] += dQ / T_b


def _transfer(state: RodState, q: np.ndarray):
    state.E[:-1] += q
    state.E[1:] -= q
    state.link_heat -= q


def _conduction(rod: Rod, state: RodState, tau: float, xi):
    """Heun drift, Ito noise at the start state (see the kernel's docstring)."""
    p = rod.params
    drift = lambda: p.g * np.diff(state.E / p.C) * tau  # noqa: E731
    d0 = drift()
    q = d0
    if p.noise:
        T = state.E / p.C
        q = q + np.where(p.g > 0, np.sqrt(2.0 * p.g * T[:-1] * T[1:] * tau) * xi, 0.0)
    _transfer(state, q)
    _transfer(state, 0.5 * (drift() - d0))


def _bond_discrete_gradient(rod: Rod, phi: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(U(phi + d) - U(phi)) / d, evaluated without cancellation (d -> 0 gives the torque)."""
    p = rod.params
    if p.torque == "harmonic":
        return p.K * (phi + 0.5 * d)
    y = 0.5 * p.m * d
    return p.K / p.m * np.sin(p.m * phi + y) * np.sinc(y / np.pi)


def advance_reference(rod: Rod, state: RodState, nsteps: int) -> None:
    """Advance ``state`` in place by ``nsteps`` steps, exactly as the kernel does."""
    p = rod.params
    dt, half, N = p.dt, 0.5 * p.dt, p.N
    has_g = bool(p.g.any())
    for _ in range(nsteps):
        step = state.step
        t = step * dt
        _reservoir(
            rod, state, 0, float(p.T_L.at(t + 0.25 * dt)), p.k_L, half, step, kernels.STREAM_BATH_FIRST, kernels.ACC_Q_L
        )
        _reservoir(
            rod,
            state,
            N - 1,
            float(p.T_R.at(t + 0.25 * dt)),
            p.k_R,
            half,
            step,
            kernels.STREAM_BATH_FIRST,
            kernels.ACC_Q_R,
        )
        if has_g:
            xi_first, xi_second = normal_pair_array(rod.key[0], rod.key[1], step, np.arange(N - 1), kernels.STREAM_COND)
            _conduction(rod, state, half, xi_first)

        tau = rod.torque(state.phi)
        net = np.concatenate(([0.0], tau)) - np.concatenate((tau, [0.0]))
        omega = p.law.omega0(state.E / p.C)
        dtheta = dt * p.law.omega0((state.E + half * omega * net) / p.C)
        d = dtheta[:-1] - dtheta[1:]
        tau_bar = _bond_discrete_gradient(rod, state.phi, d)
        state.phi += d
        state.link_heat += tau_bar * 0.5 * (dtheta[:-1] + dtheta[1:])
        state.link_impulse += tau_bar * dt
        state.E += (np.concatenate(([0.0], tau_bar)) - np.concatenate((tau_bar, [0.0]))) * dtheta
        state.theta += dtheta

        if has_g:
            _conduction(rod, state, half, xi_second)
        _reservoir(
            rod,
            state,
            0,
            float(p.T_L.at(t + 0.75 * dt)),
            p.k_L,
            half,
            step,
            kernels.STREAM_BATH_SECOND,
            kernels.ACC_Q_L,
        )
        _reservoir(
            rod,
            state,
            N - 1,
            float(p.T_R.at(t + 0.75 * dt)),
            p.k_R,
            half,
            step,
            kernels.STREAM_BATH_SECOND,
            kernels.ACC_Q_R,
        )
        state.step += 1
