"""The rod as a simulated system: state container, the advance wrapper, observables.

``Rod(params)`` validates once and allocates scratch; ``Rod.advance(state, n)`` calls the
Numba kernel (``sim.rod.kernels.advance``); ``Rod.observe(state)`` computes every recorded
observable from the state with NumPy. The state owns everything needed to continue a run
exactly, the RNG position included (the step counter: the generator is counter-based).

``Rod(params, seeds=[s0, s1, ...])`` is a batch: R replicas of the same rod that differ only
in their random streams, advanced by one kernel call with the replicas as the innermost
(vector) axis; every state array then has a trailing replica axis ((N, R), (N-1, R),
(5, R)). Replica r is bit-identical to ``Rod(replace(params, seed=seeds[r]))`` run alone,
whatever R; ``replica(state, r)`` is its single-rod state, for ``observe`` and recording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.rng import seed_key
from sim.rod import kernels
from sim.rod.model import RodParams
from sim.simulation import RunawayError


@dataclass
class RodState:
    """Dynamic state of a rod (reduced units).

    It holds everything needed to continue a run exactly, the RNG position included (the
    step counter: the generator is counter-based). In a batch (``Rod(params, seeds)``) every
    array has a trailing replica axis: (N, R), (N-1, R), (5, R).

    Attributes
    ----------
    theta : ndarray of shape (N,)
        Unwrapped clock phases [rad].
    phi : ndarray of shape (N-1,)
        Link twists theta_i - theta_{i+1} [rad], integrated directly.
    E : ndarray of shape (N,)
        Ring energies.
    link_heat, link_impulse : ndarray of shape (N-1,)
        Cumulative energy and angular impulse carried across each link (their rates are the
        link supercurrent and the mean link torque).
    sin_mphi, cos_mphi : ndarray of shape (N-1,)
        sin/cos(m phi) carried by rotation between periodic re-syncs (part of the exact state).
    acc : ndarray of shape (5,)
        Cumulative heat from the left and right reservoirs, their angular impulses
        (heat / omega0) and the entropy flow sum(dQ_b / T_b) into the rod.
    step : int
        Steps taken (time = step * dt).
    """

    theta: np.ndarray
    phi: np.ndarray
    E: np.ndarray
    link_heat: np.ndarray
    link_impulse: np.ndarray
    sin_mphi: np.ndarray
    cos_mphi: np.ndarray
    acc: np.ndarray
    step: int = 0

    def copy(self) -> RodState:
        """An independent copy."""
        return RodState(*(getattr(self, f).copy() for f in ARRAY_FIELDS), step=self.step)


ARRAY_FIELDS = kernels.RodArrays._fields  # theta, phi, E, link_heat, link_impulse, sin_mphi, cos_mphi, acc

# (dims, units, description) of every recorded observable
OBSERVABLES = {
    "theta": (("time", "ring"), "rad", "clock phase of each ring (unwrapped)"),
    "omega": (("time", "ring"), "rad/time", "clock rate omega0(T) of each ring"),
    "T": (("time", "ring"), "energy/k_B", "ring temperature E/C"),
    "torque": (("time", "link"), "energy/rad", "link torque tau_i = (K/m) sin(m dtheta_i)"),
    "twist": (("time", "link"), "rad", "link twist dtheta_i = theta_i - theta_{i+1}"),
    "supercurrent": (("time", "link"), "energy/time", "link supercurrent tau_i (omega_i + omega_{i+1}) / 2"),
    "link_heat": (("time", "link"), "energy", "cumulative energy carried across each link (d/dt: supercurrent)"),
    "link_impulse": (("time", "link"), "energy*time/rad", "cumulative angular impulse across each link (d/dt: torque)"),
    "Q_L": (("time",), "energy", "cumulative heat put into the rod by the left reservoir"),
    "Q_R": (("time",), "energy", "cumulative heat put into the rod by the right reservoir"),
    "impulse_L": (("time",), "energy*time/rad", "cumulative angular impulse of the left kicks, sum dQ/omega0"),
    "impulse_R": (("time",), "energy*time/rad", "cumulative angular impulse of the right kicks, sum dQ/omega0"),
    "energy_stored": (("time",), "energy", "sum of ring energies and bond energies"),
    "ledger_error": (("time",), "energy", "stored - stored(0) - (Q_L + Q_R): zero up to round-off"),
    "entropy_production": (("time",), "k_B", "sum C ln(E/E(0)) - sum int dQ_b/T_b, >= 0 on average"),
}


class Rod:
    """A rod of ``params.N`` rings ready to be stepped. See ``RodParams`` for the parameters.

    The ``System`` of ``sim.simulation``: ``initial_state``, ``advance`` (the Numba kernel,
    ``sim.rod.kernels.advance``) and ``observe`` (NumPy). A batch, ``Rod(params, seeds)``, is R
    replicas of the same rod that differ only in their random streams, advanced by one kernel
    call; replica r is bit-identical to ``Rod(replace(params, seed=seeds[r]))`` run alone.

    Parameters
    ----------
    params : RodParams
        The rod.
    seeds : iterable of int, optional
        One seed per replica (``params.seed`` is then not used); None: one rod, ``params.seed``.

    Attributes
    ----------
    params : RodParams
    seeds : list of int
    replicas : int
        R, the number of seeds (1 without ``seeds``).
    dims : dict
        {"ring": N, "link": N - 1}.
    observables : dict
        ``OBSERVABLES``: name -> (dimensions, units, description) of every recorded observable.

    Raises
    ------
    ValueError
        If ``seeds`` is empty.

    Examples
    --------
    >>> rod = Rod(RodParams(N=8, noise=False))
    >>> state = rod.initial_state()
    >>> rod.advance(state, 100)
    >>> float(rod.observe(state, rod.initial_state(), ["Q_L"])["Q_L"]) > 0
    True
    """

    title = "heat-superconducting rod of time-crystal rings"
    unit_system = (
        "reduced units (docs/model.md section A1): k_B = 1; energy, time and angle are "
        "dimensionless; each variable's reduced_units attribute names its dimension"
    )

    def __init__(self, params: RodParams, seeds: Iterable[int] | None = None):
        self.params = params
        p = params
        self.seeds = [p.seed] if seeds is None else list(seeds)
        if not self.seeds:
            raise ValueError("seeds = []; allowed: one seed per replica, at least one")
        keys = [seed_key(s) for s in self.seeds]
        self.key = keys[0]
        self.replicas = R = len(keys)
        k0, k1 = (np.array([k[w] for k in keys], dtype=np.uint64) for w in (0, 1))
        # per-ring and per-link parameters repeated over the replicas (the kernel's flat layout)
        C, K, g = (np.repeat(np.asarray(x, float), R) for x in (p.C, p.K, p.g))
        law_id, law_p, table = p.law.encode()
        (sL_kind, sL_p), (sR_kind, sR_p) = p.T_L.encode(), p.T_R.encode()
        # every field converted to one type, so the kernel compiles once for every rod
        self.constants = kernels.RodConstants(
            dt=float(p.dt),
            C=C,
            inv_C=1.0 / C,
            K=K,
            m=float(p.m),
            harmonic=p.torque == "harmonic",
            g=g,
            has_g=bool(p.g.any()),
            k_L=float(p.k_L),
            k_R=float(p.k_R),
            T_L_kind=int(sL_kind),
            T_L_p=np.asarray(sL_p, float),
            T_R_kind=int(sR_kind),
            T_R_p=np.asarray(sR_p, float),
            law_id=int(law_id),
            law_p=np.asarray(law_p, float),
            tab_T=np.asarray(table[0], float),
            tab_w=np.asarray(table[1], float),
            tab_d=np.asarray(table[2], float),
            noisy=bool(p.noise),
            k0=k0,
            k1=k1,
        )
        self.scratch = kernels.RodScratch.allocate(p.N, R)
        self._kernel_args = tuple(self.constants), tuple(self.scratch)  # plain tuples: see sim.rod.kernels
        self._advance = kernels.advance_batched if kernels.batches_exchanges(self.constants) else kernels.advance
        self.dims = {"ring": p.N, "link": p.N - 1}
        self.observables = OBSERVABLES

    # -- state -------------------------------------------------------------------------
    def initial_state(self) -> RodState:
        """The run's start: theta = theta_init, E = C T_init, cumulative quantities 0, step 0
        (in a batch, the same for every replica)."""
        p = self.params
        theta = p.theta_init.astype(float).copy()
        phi = theta[:-1] - theta[1:]
        state = RodState(
            theta=theta,
            phi=phi,
            E=p.C * p.T_init,
            link_heat=np.zeros(p.N - 1),
            link_impulse=np.zeros(p.N - 1),
            sin_mphi=np.sin(p.m * phi),
            cos_mphi=np.cos(p.m * phi),
            acc=np.zeros(kernels.N_ACC),
            step=0,
        )
        if self.replicas > 1:
            for f in ARRAY_FIELDS:  # every replica starts from the same state: (n,) -> (n, R), contiguous
                setattr(state, f, np.repeat(getattr(state, f)[:, None], self.replicas, axis=1))
        return state

    def replica(self, state: RodState, r: int) -> RodState:
        """Replica ``r`` of a batch state as a single-rod state (copies); the state itself if R = 1."""
        if self.replicas == 1:
            return state
        return RodState(*(np.ascontiguousarray(getattr(state, f)[:, r]) for f in ARRAY_FIELDS), step=state.step)

    def advance(self, state: RodState, nsteps: int) -> None:
        """Advance ``state`` in place by ``nsteps`` steps.

        Raises
        ------
        RunawayError
            If a ring's energy drops to <= 0, or the ring temperatures separate by more than
            ``params.runaway_dT`` (``check_runaway``).
        """
        p = self.params
        arrays = tuple(getattr(state, f).reshape(-1) for f in ARRAY_FIELDS)  # views: the arrays are contiguous
        done = self._advance(arrays, state.step, nsteps, *self._kernel_args)
        state.step += done
        # the kernel stops after the step that failed: that may be the last step asked for
        if not np.all(state.E > 0):
            E = state.E.reshape(-1)
            bad = int(np.argmax(~(E > 0)))
            ring, r = divmod(bad, self.replicas)
            where = f"ring {ring}" + (f" of replica {r} (seed {self.seeds[r]})" if self.replicas > 1 else "")
            raise RunawayError(
                f"runaway at step {state.step} (t = {state.step * p.dt:.6g}): the energy of {where} became "
                f"{float(E[bad]):.4g}; " + self._runaway_cause()
            )
        self.check_runaway(state)

    def _runaway_cause(self) -> str:
        if self.params.unstable_law:
            return (
                f"clock law '{self.params.law.name}' has omega0*domega0/dT < 0, so this is the expected "
                f"instability of the uniform state (negative effective inertia), not a numerical failure."
            )
        return "the time step or the parameters drive a ring below zero energy."

    def check_runaway(self, state: RodState) -> None:
        """Stop a run whose temperatures separate (the unstable clock law, docs/model.md §A4); in a
        batch, the first replica whose do."""
        T = state.E / (self.params.C if self.replicas == 1 else self.params.C[:, None])
        spreads = np.atleast_1d(T.max(axis=0) - T.min(axis=0))
        bad = np.nonzero(~(spreads <= self.params.runaway_dT))[0]
        if bad.size:
            replica = int(bad[0])
            T = T if self.replicas == 1 else T[:, replica]
            spread = float(spreads[replica])
            of = f" of replica {replica} (seed {self.seeds[replica]})" if self.replicas > 1 else ""
            raise RunawayError(
                f"runaway at step {state.step} (t = {state.step * self.params.dt:.6g}): ring temperatures{of} "
                f"separate, spread max(T) - min(T) = {spread:.4g} > runaway_dT = {self.params.runaway_dT:.4g} "
                f"(ring {int(T.argmax())} at T = {T.max():.4g}, ring {int(T.argmin())} at T = {T.min():.4g}); "
                + self._runaway_cause()
            )

    # -- observables ------------------------------------------------------------------
    def bond_energy(self, phi: np.ndarray) -> np.ndarray:
        """U_i = (K/m^2)(1 - cos(m dtheta)) (sine) or K dtheta^2 / 2 (harmonic); shape (N-1,)."""
        p = self.params
        if p.torque == "harmonic":
            return 0.5 * p.K * phi * phi
        return p.K / p.m**2 * (1.0 - np.cos(p.m * phi))

    def torque(self, phi: np.ndarray) -> np.ndarray:
        p = self.params
        return p.K * phi if p.torque == "harmonic" else p.K / p.m * np.sin(p.m * phi)

    def stored_energy(self, state: RodState) -> float:
        return float(state.E.sum() + self.bond_energy(state.phi).sum())

    def observe(self, state: RodState, reference: RodState, names: Iterable[str] | None = None) -> dict:
        """The observables ``names`` (None: all of ``OBSERVABLES``) at ``state``; ``reference`` is the
        initial state. A batch gives each observable with a leading replica axis (R, ...).
        (All are computed, then picked: each is a few vector operations on (N,) arrays.)

        Returns
        -------
        dict
            name -> value: (N,) per ring, (N-1,) per link, a float for a whole-rod quantity.
        """
        if self.replicas > 1:
            snaps = [self._observe(self.replica(state, r), self.replica(reference, r)) for r in range(self.replicas)]
            snap = {k: np.stack([np.asarray(s[k]) for s in snaps]) for k in snaps[0]}
        else:
            snap = self._observe(state, reference)
        return snap if names is None else {k: snap[k] for k in names}

    def _observe(self, state: RodState, reference: RodState) -> dict:
        p = self.params
        T = state.E / p.C
        omega = p.law.omega0(T)
        tau = self.torque(state.phi)
        stored = self.stored_energy(state)
        Q_L, Q_R, A_L, A_R, S_flow = state.acc
        return {
            "theta": state.theta.copy(),
            "omega": omega,
            "T": T,
            "torque": tau,
            "twist": state.phi.copy(),
            "supercurrent": tau * 0.5 * (omega[:-1] + omega[1:]),
            "link_heat": state.link_heat.copy(),
            "link_impulse": state.link_impulse.copy(),
            "Q_L": Q_L,
            "Q_R": Q_R,
            "impulse_L": A_L,
            "impulse_R": A_R,
            "energy_stored": stored,
            "ledger_error": stored - self.stored_energy(reference) - (Q_L + Q_R),
            "entropy_production": float(np.sum(p.C * np.log(state.E / reference.E)) - S_flow),
        }
