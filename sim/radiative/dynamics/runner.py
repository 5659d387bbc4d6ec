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
    (``NetworkSystem``) it ran.

    Attributes
    ----------
    state : NetworkState or None
        The final state (None if ``path`` was completed earlier).
    info : RunInfo
        How the run went.
    recorder : TimeSeriesWriter, MemoryRecorder, or CompletedEarlier
        What recorded it; in memory, ``recorder.data[name]`` is (frames, ...).
    system : NetworkSystem
        The system it ran (``system.params.dt``: the time step used).
    """

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
    it checkpoints, stops at the wall time and resumes.

    Parameters
    ----------
    params : NetworkParams
        The run.
    nsteps : int
        Steps to take (time nsteps * dt, s).
    record_every : int
        Steps between recorded frames, >= 1.
    path : str or os.PathLike, optional
        The HDF5 file (None: in memory).
    progress : bool
        Show progress (``sim.progress``: a bar on a terminal, a line a minute in a log).
    desc : str
        The progress bar's label.
    ctx : RunContext, optional
        A ``sim.scenario.RunContext``: checkpoints, wall time, resume, work counters.
    system : NetworkSystem, optional
        One already built from ``params`` (its tables are reused); None: built here.
    observables : sequence of str, optional
        The names recorded (None: all of ``sim.radiative.dynamics.OBSERVABLES``).
    start : callable, optional
        Gives the state to begin from (default: the initial state).

    Returns
    -------
    NetworkRun
        Its ``state`` is None if ``path`` was completed earlier.

    Raises
    ------
    RunawayError
        If a temperature leaves the tabulated grid ``T_grid``.
    """
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
