"""``simulate_network``: a recorded network run through ``sim.simulation.run_recorded`` (files,
checkpoints, wall time, resume)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.radiative.dynamics.model import NetworkParams
from sim.radiative.dynamics.system import NetworkSystem
from sim.simulation import RunResult, run_recorded

if TYPE_CHECKING:
    import os

    from sim.radiative.dynamics.model import NetworkState
    from sim.scenario import RunContext


@dataclass(frozen=True)
class NetworkRun(RunResult):
    """``simulate_network``'s result: a ``sim.simulation.RunResult`` and the ``system``
    (``NetworkSystem``) it ran."""

    system: NetworkSystem


def simulate_network(
    params: NetworkParams,
    nsteps: int,
    record_every: int,
    path: str | os.PathLike | None = None,
    progress: bool = False,
    desc: str = "network",
    ctx: RunContext | None = None,
    system: NetworkSystem | None = None,
    observables: Sequence[str] | None = None,
    start: Callable[[], NetworkState] | None = None,
) -> NetworkRun:
    """Run ``params`` for ``nsteps`` steps recording every ``record_every`` (HDF5 at ``path``,
    or in memory when None) through ``sim.simulation.run_recorded``: with a run context ``ctx``
    it checkpoints, stops at the wall time and resumes. observables: the names recorded (None:
    all); start: a callable giving the state to begin from (default: the initial state).
    Returns a ``NetworkRun`` (its ``state`` is None if ``path`` was completed earlier)."""
    system = system or NetworkSystem(params)
    run = run_recorded(
        system,
        nsteps,
        record_every,
        path=path,
        progress=progress,
        desc=desc,
        ctx=ctx,
        attrs=system.file_attrs(),
        time_units="s",
        observables=observables,
        start=start,
    )
    return NetworkRun(run.state, run.info, run.recorder, system)
