"""``NetworkSystem``: a network ready to be stepped by the shared loop (the ``System`` protocol of
``sim.simulation``): tables, time step, kernel arguments, rates, relaxation times, observables."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from sim.radiative.dynamics.kernels import NetworkConstants, advance_kernel, emission, env_emission
from sim.radiative.dynamics.model import KB, OBSERVABLES, NetworkParams, NetworkState
from sim.radiative.dynamics.tables import auto_grid, build_tables
from sim.rng import seed_key
from sim.simulation import RunawayError
from sim.validation import check_positive


def _stored(p, s, s0) -> float:
    return float(np.sum(p.C * (s.T - s0.T)))


def _supplied(s, s0) -> float:
    return float(np.sum(s.Q_thermostat - s0.Q_thermostat) + np.sum(s.Q_env - s0.Q_env))


#: observables read off the state, without the emission tables: name -> f(params, state, initial)
_STATE_OBSERVABLES = {
    "T": lambda p, s, s0: s.T.copy(),
    "Q_pair": lambda p, s, s0: s.Q_pair.copy(),
    "Q_thermostat": lambda p, s, s0: s.Q_thermostat.copy(),
    "Q_env": lambda p, s, s0: s.Q_env.copy(),
    "energy_stored": _stored,
    "ledger_error": lambda p, s, s0: _stored(p, s, s0) - _supplied(s, s0),
    "entropy_production": lambda p, s, s0: float(s.acc[0] - s0.acc[0]),
}


class NetworkSystem:
    """A network ready to be stepped (``sim.simulation.Simulation`` protocol).

    Builds the Phi/G tables (``build_tables``) on ``params.T_grid`` or ``auto_grid``, fixes
    dt (``params.dt`` or 1/20 of the slowest relaxation time at T_init) and exposes
    ``initial_state``, ``advance``, ``observe``, ``rates`` and ``relaxation_times``.

    Parameters
    ----------
    params : NetworkParams
        The run.
    tables : dict, optional
        Tables already built by ``build_tables`` on this grid (None: built here).

    Attributes
    ----------
    params : NetworkParams
        The validated parameter set with dt resolved.
    T_grid : ndarray
        The uniform temperature grid of the tables, K.
    tables : dict
        The Phi/G tables (``build_tables``).
    pairs : ndarray of shape (n_pairs, 2)
        The i < j pairs, ``np.triu_indices(N, 1)`` order.
    dims : dict
        {"particle": N, "pair": n_pairs}.
    observables : dict
        ``OBSERVABLES``: name -> (dimensions, units, description).

    Raises
    ------
    ValueError
        If ``T_grid`` is not a (low, high) pair or an increasing uniform grid, does not cover
        the run's temperatures (T_init, thermostats, T_env), or dt = None has no finite
        relaxation time to be set from.
    """

    def __init__(self, params: NetworkParams, tables: dict | None = None):
        p = params
        net = p.network
        N = p.N
        if p.T_grid is None:
            Tg = auto_grid(p)
        else:
            g = np.asarray(check_positive("T_grid", p.T_grid, unit="K"), float)
            if g.shape == (2,):
                Tg = np.linspace(g[0], g[1], max(16, int(math.ceil((g[1] - g[0]) / min(1.0, g[0] / 300))) + 1))
            else:
                Tg = g
            if len(Tg) < 2 or not np.all(np.diff(Tg) > 0) or not np.allclose(np.diff(Tg), Tg[1] - Tg[0], rtol=1e-9):
                raise ValueError(f"T_grid = {p.T_grid!r}; allowed: (low, high) in K or an increasing uniform grid")
        self.T_grid = Tg
        lo, hi = Tg[0], Tg[-1]
        reach = list(p.T_init) + [x for s in p.thermostats for x in s.extremes] + ([p.T_env] if p.environment else [])
        if min(reach) < lo or max(reach) > hi:
            raise ValueError(
                f"T_grid = [{lo:.6g}, {hi:.6g}] K does not cover the run's temperatures "
                f"[{min(reach):.6g}, {max(reach):.6g}] K (T_init, thermostats, T_env); allowed: a grid covering them"
            )
        self.tables = tables if tables is not None else build_tables(net, Tg, p.environment, p.T_env, p.rtol_spectra)
        self.free_idx = np.nonzero(p.free)[0].astype(np.int64)
        self.sched_kind = np.full(N, -1, np.int64)
        self.sched_p = np.zeros((N, 4))
        it = iter(p.thermostats)
        for i, r in enumerate(p.roles):
            if r == "thermostat":
                self.sched_kind[i], self.sched_p[i] = next(it).encode()
        self.key = seed_key(p.seed)
        iu = np.triu_indices(N, 1)
        self.pairs = np.stack(iu, axis=1)
        self.dims = {"particle": N, "pair": len(self.pairs)}
        self.observables = OBSERVABLES
        self.params = p
        if p.dt is None:
            tau = self.relaxation_times(p.T_init)
            finite = tau[np.isfinite(tau)]
            if finite.size == 0:
                raise ValueError(
                    "dt = None needs a finite relaxation time: give dt explicitly "
                    "(no free particle, or the free network is isolated)"
                )
            self.params = dataclasses.replace(p, dt=float(finite.max() / 20.0))

        # the kernel's constants, built once (the loop may call every few steps)
        p, t = self.params, self.tables
        self.constants = NetworkConstants(
            dt=float(p.dt),
            C=np.asarray(p.C, float),
            free_idx=self.free_idx,
            sched_kind=self.sched_kind,
            sched_p=self.sched_p,
            P=t["P"],
            G=t["G"],
            T0=float(Tg[0]),
            dT=float(Tg[1] - Tg[0]),
            env=bool(p.environment),
            Pout=t["Pout"],
            Gout=t["Gout"],
            Pin=t["Pin"],
            Gin=t["Gin"],
            T_env=float(p.T_env),
            noise=bool(p.noise),
            k0=self.key[0],
            k1=self.key[1],
            kB=KB,
        )
        self._constants = tuple(self.constants)  # what the kernel takes: see sim.radiative.dynamics.kernels

    # -- tables ------------------------------------------------------------------
    def _emission(self, T):
        N = self.params.N
        T0, dT, t = float(self.T_grid[0]), float(self.T_grid[1] - self.T_grid[0]), self.tables
        T = np.asarray(T, float)
        E, Gm = np.zeros((N, N)), np.zeros((N, N))
        bad = emission(T, t["P"], t["G"], T0, dT, E, Gm)
        if bad >= 0:
            raise RunawayError(self._outside(bad, T[bad]))
        eo, go = np.zeros(N), np.zeros(N)
        if self.params.environment:
            env_emission(T, t["Pout"], t["Gout"], T0, dT, eo, go)
        return E, Gm, eo, go

    def _outside(self, i, Ti) -> str:
        return (
            f"temperature of particle {i} = {float(Ti):.6g} K left the tabulated range "
            f"[{self.T_grid[0]:.6g}, {self.T_grid[-1]:.6g}] K (or is not finite); pass T_grid=(low, high) covering "
            "the run, or a smaller dt"
        )

    def rates(self, T: ArrayLike) -> dict:
        """Powers at temperatures T (N,) K.

        Returns
        -------
        dict
            "P" (N,) W net into each particle, "pair" (N, N) W into i from j, "env" (N,) W
            from the environment, "A" (N, N) W/K = dP_i/dT_j.

        Raises
        ------
        RunawayError
            If a temperature is outside the tabulated grid (or not finite).
        """
        T = np.asarray(T, float)
        E, Gm, eo, go = self._emission(T)
        f = E - E.T
        env = (self.tables["Pin"] - eo) if self.params.environment else np.zeros(len(T))
        A = Gm.copy()
        np.fill_diagonal(A, 0.0)
        A[np.diag_indices(len(T))] = -Gm.sum(axis=0) + np.diag(Gm) - go
        return {"P": f.sum(axis=1) + env, "pair": f, "env": env, "A": A}

    def relaxation_times(self, T: ArrayLike) -> np.ndarray:
        """Relaxation times 1/|Re lambda| (s), descending, of the linearised free dynamics
        C^-1 A (free block) at temperatures T (N,); inf for a conserved mode."""
        fi = self.free_idx
        if fi.size == 0:
            return np.array([])
        A = self.rates(T)["A"][np.ix_(fi, fi)] / self.params.C[fi][:, None]
        lam = np.abs(np.linalg.eigvals(A).real)
        scale = np.abs(A).max() if A.size else 0.0
        with np.errstate(divide="ignore"):
            tau = np.where(lam > 1e-12 * scale, 1.0 / np.maximum(lam, 1e-300), np.inf)
        return np.sort(tau)[::-1]

    def stiffness_dt(self, T: ArrayLike | None = None) -> float:
        """a_max dt: the fastest relaxation rate of the free block times dt (noise accuracy)."""
        tau = self.relaxation_times(self.params.T_init if T is None else T)
        return float(self.params.dt / tau.min()) if tau.size else 0.0

    # -- protocol ----------------------------------------------------------------
    def initial_state(self) -> NetworkState:
        """T = params.T_init, cumulative quantities 0, step 0."""
        N = self.params.N
        return NetworkState(
            self.params.T_init.copy(), np.zeros(len(self.pairs)), np.zeros(N), np.zeros(N), np.zeros(1), 0
        )

    def advance(self, state: NetworkState, nsteps: int) -> None:
        """Advance ``state`` in place by ``nsteps`` steps; RunawayError if a temperature
        leaves the tabulated grid."""
        done, status, bad = advance_kernel(
            state.T,
            state.Q_pair,
            state.Q_thermostat,
            state.Q_env,
            state.acc,
            state.step,
            int(nsteps),
            self._constants,
        )
        state.step += int(done)
        if status != 0:
            raise RunawayError(
                f"runaway at step {state.step} (t = {state.step * self.params.dt:.6g} s): "
                + self._outside(bad, state.T[bad])
            )

    def observe(self, state: NetworkState, initial: NetworkState, names: Iterable[str] | None = None) -> dict:
        """The observables ``names`` (None: all of ``OBSERVABLES``) at ``state`` (``initial``: the
        run's start). The powers (an emission-table lookup) are computed only when asked for."""
        names = OBSERVABLES if names is None else names
        rates = None
        snap = {}
        for name in names:
            if name in _STATE_OBSERVABLES:
                snap[name] = _STATE_OBSERVABLES[name](self.params, state, initial)
            else:
                rates = rates or self.rates(state.T)
                snap[name] = self._power_observable(name, rates)
        return snap

    def _power_observable(self, name: str, rates: dict):
        if name == "pair_power":
            i, j = self.pairs.T
            return rates["pair"][i, j]
        if name == "thermostat_power":
            return np.where(self.params.free, 0.0, -rates["P"])
        return rates[{"P_net": "P", "env_power": "env"}[name]]

    def file_attrs(self) -> dict:
        """HDF5 attributes for an animation renderer: system, geometry, roles, pair list."""
        p = self.params
        return {
            "system": "network",
            "positions": p.network.positions,
            "radii": p.network.radii,
            "materials": [m.name for m in p.network.materials],
            "roles": list(p.roles),
            "pairs": self.pairs,
            "params": p.to_dict(),
        }
