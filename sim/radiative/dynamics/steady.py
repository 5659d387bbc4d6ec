"""``steady_state``: the noise-free dynamics run in the shared loop until the relative distance
to the fixed point along the slowest mode is below rtol (``SteadyCriterion``, a stop condition)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.radiative.dynamics.model import NetworkParams, NetworkState
from sim.radiative.dynamics.system import NetworkSystem
from sim.simulation import ProgressBar, Simulation, StopWhen, context_reporters, count_work
from sim.validation import check_positive

if TYPE_CHECKING:
    import os

    from sim.scenario import RunContext


@dataclass(frozen=True)
class SteadyState:
    """``steady_state``'s result.

    Attributes
    ----------
    state : NetworkState
        The final state.
    T : ndarray of shape (N,)
        Temperatures, K.
    time : float
        Time from the initial state, s.
    steps : int
        Steps from the initial state.
    criterion : float
        Its final value, max_free |dT_i/dt| tau_relax / T_i.
    round_off_limited : bool
        Stopped on the criterion's round-off floor.
    tau_relax : float
        The slowest relaxation time there, s.
    dt : float
        The time step, s.
    rates : dict
        ``NetworkSystem.rates`` at T: "P" (N,) W, "pair" (N, N) W, "env" (N,) W, "A" (N, N) W/K.
    system : NetworkSystem
    """

    state: NetworkState
    T: np.ndarray
    time: float
    steps: int
    criterion: float
    round_off_limited: bool
    tau_relax: float
    dt: float
    rates: dict
    system: NetworkSystem


class SteadyCriterion:
    """max_free |dT_i/dt| tau_relax / T_i < rtol at the loop's state (``steady_state``), with the
    memory that tells a criterion stalled on its round-off floor (kept in checkpoints)."""

    def __init__(self, system: NetworkSystem, rtol: float, round_off_floor: float):
        self.system, self.rtol, self.round_off_floor = system, rtol, round_off_floor
        self.best, self.best_step, self.limited = math.inf, -1, False
        self.value = self.tau = self.rates = None

    def evaluate(self, state: NetworkState) -> float:
        s = self.system
        free, C = s.free_idx, s.params.C
        self.tau = s.relaxation_times(state.T)[0]
        self.rates = s.rates(state.T)
        self.value = float(np.max(np.abs(self.rates["P"][free] / C[free]) * self.tau / state.T[free]))
        return self.value

    def __call__(self, sim) -> bool:
        step = sim.state.step
        if self.evaluate(sim.state) < self.rtol:
            return True
        if self.value < 0.5 * self.best:
            self.best, self.best_step = self.value, step
        elif step - self.best_step > max(50, 5.0 * self.tau / self.system.params.dt):
            # no progress for 5 relaxation times: the criterion sits on its round-off floor
            # (~ eps * stiffness); accept it if that floor is still small, say so
            if self.best > self.round_off_floor:
                raise RuntimeError(
                    f"steady_state: criterion stalled at {self.best:.3g} > round_off_floor = "
                    f"{self.round_off_floor:g} (rtol = {self.rtol:g}); the dynamics does not settle"
                )
            self.limited = True
            return True
        return False

    def extra(self) -> dict:
        return {"best": self.best, "best_step": self.best_step}

    def restore(self, extra: dict) -> None:
        self.best = float(extra.get("best", self.best))
        self.best_step = int(extra.get("best_step", self.best_step))


def steady_state(
    params: NetworkParams,
    rtol: float = 1e-6,
    max_steps: int = 1_000_000,
    check_every: int = 1,
    system: NetworkSystem | None = None,
    state: NetworkState | None = None,
    round_off_floor: float = 1e-9,
    checkpoint_path: str | os.PathLike | None = None,
    ctx: RunContext | None = None,
    progress: bool = False,
    desc: str = "steady state",
) -> SteadyState:
    """Run the (noise-free) dynamics until max_free |dT_i/dt| tau_relax / T_i < rtol.

    tau_relax: the slowest relaxation time of the free block at the current state
    (``NetworkSystem.relaxation_times``). An rtol below the criterion's round-off floor
    (~ 1e-16 x the stiffness ratio) is met as far as it can be: when the criterion stops
    falling for 5 relaxation times while below ``round_off_floor``, the run stops with
    ``round_off_limited`` True (else RuntimeError). The search runs in the shared loop
    (``sim.simulation``) with the criterion as its stop condition.

    Parameters
    ----------
    params : NetworkParams
        The run, with noise = False.
    rtol : float
        Target of the criterion, > 0.
    max_steps : int
        RuntimeError if the criterion is not met within this many steps.
    check_every : int
        Steps between tests of the criterion, >= 1.
    system : NetworkSystem, optional
        One already built from ``params`` (its tables are reused); None: built here.
    state : NetworkState, optional
        Where to start (default: the initial state).
    round_off_floor : float
        The stalled criterion accepted as round-off limited.
    checkpoint_path : str or os.PathLike, optional
        Where it checkpoints (every ``ctx.checkpoint_every`` steps and when stopped early,
        e.g. by ``ctx``'s wall-time deadline); the steady state found is kept there too, so
        with ``ctx.resume`` a search resumes where it stopped, or returns the state it found,
        identically.
    ctx : RunContext, optional
        A ``sim.scenario.RunContext``.
    progress : bool
        Show progress (``sim.progress``: a bar on a terminal, a line a minute in a log).
    desc : str
        The progress bar's label.

    Returns
    -------
    SteadyState

    Raises
    ------
    ValueError
        For a noisy run, a network without free particles, or a free network that is
        isolated (no thermostat, no environment: its energy is conserved and nothing drives it).
    RuntimeError
        If max_steps pass first, or the criterion stalls above ``round_off_floor``.

    Examples
    --------
    >>> ss = steady_state(params, rtol=1e-6)  # doctest: +SKIP
    >>> ss.T, ss.time, ss.rates["P"]  # doctest: +SKIP
    """
    from sim import checkpoint

    check_positive("rtol", rtol)
    if params.noise:
        raise ValueError("noise = True; allowed for steady_state: noise = False (a noisy run has no fixed point)")
    if not params.free.any():
        raise ValueError("roles has no 'free' particle: the steady state is the thermostats' prescription")
    if params.free.all() and not params.environment:
        raise ValueError(
            "roles are all 'free' and environment = False: the network is isolated (no thermostat, "
            "no environment), its energy is conserved and there is no drive or steady state to "
            "approach; allowed: at least one thermostated particle or environment = True"
        )
    system = system or NetworkSystem(params)
    crit = SteadyCriterion(system, rtol, round_off_floor)
    initial = extra = None
    if checkpoint_path is not None and getattr(ctx, "resume", False) and checkpoint.exists(checkpoint_path):
        state, initial, _, extra = checkpoint.load(checkpoint_path, NetworkState)
    state = state if state is not None else system.initial_state()
    reporters = [StopWhen(crit, check_every, "steady state reached"), ProgressBar(desc, quiet=not progress)]
    sim = Simulation(
        system, state=state, initial=initial, reporters=reporters + context_reporters(ctx, checkpoint_path), extra=extra
    )
    first = sim.state.step
    sim.run_to(sim.initial.step + int(max_steps))
    count_work(ctx, sim, first, params.N)
    if sim.stop_reason is None:
        if crit.evaluate(sim.state) >= rtol:
            raise RuntimeError(
                f"steady_state: criterion {crit.value:.3g} >= rtol = {rtol:g} after {max_steps} steps "
                f"(dt = {system.params.dt:.4g} s, tau_relax = {crit.tau:.4g} s); raise max_steps"
            )
    if checkpoint_path is not None:  # the steady state found is kept: a resumed scenario returns it
        sim.save_checkpoint()
    steps = sim.state.step - sim.initial.step
    return SteadyState(
        sim.state,
        sim.state.T.copy(),
        steps * system.params.dt,
        steps,
        crit.value,
        crit.limited,
        crit.tau,
        system.params.dt,
        crit.rates,
        system,
    )
