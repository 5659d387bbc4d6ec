"""Run one rod to completion, streaming its observables to HDF5 (or memory), and read it back."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from sim.io import MemoryRecorder
from sim.rod.model import RodParams
from sim.rod.system import Rod
from sim.simulation import RunResult, run_recorded

if TYPE_CHECKING:
    from sim.scenario import RunContext


@dataclass(frozen=True)
class RodRun(RunResult):
    """``simulate``'s result: a ``sim.simulation.RunResult`` and the ``rod`` (``Rod``) it ran.

    Attributes
    ----------
    state : RodState or None
        The final state (None if the files were completed earlier).
    info : RunInfo
        How the run went: status, steps, wall time, speed, stop reason.
    recorder : TimeSeriesWriter, MemoryRecorder, ReplicaRecorders, or CompletedEarlier
        What recorded it; in memory (``path=None``), ``recorder.data[name]`` is (frames, ...)
        and ``load(recorder, names)`` reads it.
    rod : Rod
        The rod it ran.
    """

    rod: Rod


def simulate(
    params: RodParams,
    nsteps: int,
    record_every: int,
    path: str | Path | list | None = None,
    progress: bool = True,
    desc: str = "rod",
    ctx: RunContext | None = None,
    seeds: Sequence[int] | None = None,
) -> RodRun:
    """Run ``params`` for ``nsteps`` steps, recording every ``record_every`` steps.

    Parameters
    ----------
    params : RodParams
        The rod.
    nsteps : int
        Steps to take (time nsteps * params.dt).
    record_every : int
        Steps between recorded frames, >= 1; the initial state is recorded too.
    path : str, Path, list, or None
        HDF5 file to stream to (None: keep the record in memory, for short runs).
    progress : bool
        Show progress (``sim.progress``: a bar on a terminal, a line a minute in a log).
    desc : str
        The progress bar's label.
    ctx : RunContext, optional
        A ``sim.scenario.RunContext``: its work counters are updated, and its checkpoint,
        wall-time and resume settings apply (see ``sim.simulation.run_recorded``).
    seeds : sequence of int, optional
        Run a batch of replicas in one kernel, one per seed (``params.seed`` is then not
        used); ``path`` is then a list of files, one per replica, each as the replica's run
        alone would write it (bit for bit; its ``params`` attribute carries the replica's seed).

    Returns
    -------
    RodRun
        ``rod``, ``state`` (None if the files were completed earlier), ``info``
        (``sim.simulation.RunInfo``), ``recorder``.

    Raises
    ------
    RunawayError
        If the rod runs away (a ring's energy <= 0, ring temperatures separating by more than
        ``params.runaway_dT``, a non-finite observable); a file keeps the frames recorded.
    ValueError
        If ``path`` does not name one file per replica, or record_every < 1.

    Examples
    --------
    >>> run = simulate(RodParams(N=8), nsteps=1000, record_every=100, progress=False)
    >>> load(run.recorder, ["Q_L"])["Q_L"].shape
    (11,)
    """
    if ctx is not None and ctx.lockstep is not None and seeds is None and isinstance(path, (str, os.PathLike)):
        # one of a sweep point's replicas: its rod joins the others' in one batch (sim.lockstep)
        return ctx.lockstep.simulate(params, nsteps, record_every, path, desc, ctx)
    rod = Rod(params, seeds)
    attrs = {"system": "rod", "params": params.to_dict()}
    if seeds is not None:  # each file names its own replica's seed
        attrs = [attrs | {"params": params.to_dict() | {"seed": int(s)}} for s in seeds]
    run = run_recorded(
        rod,
        nsteps,
        record_every,
        path=path,
        progress=progress,
        desc=desc,
        ctx=ctx,
        attrs=attrs,
        time_units="reduced time",
    )
    return RodRun(run.state, run.info, run.recorder, rod)


def load(source: MemoryRecorder | str | os.PathLike, names: list[str], t_start: float = 0.0) -> dict:
    """Variables ``names`` (and "time") from a run's recorder or HDF5 path, frames with t >= t_start.

    Parameters
    ----------
    source : MemoryRecorder, str, or os.PathLike
        ``simulate(...).recorder`` of a run kept in memory, or the run's HDF5 file.
    names : list of str
        Observables (``sim.rod.system.OBSERVABLES``), e.g. ["Q_L", "T", "twist"].
    t_start : float
        Keep the frames with time >= t_start (reduced time).

    Returns
    -------
    dict
        "time" (frames,) and each name, (frames, ...) arrays: (frames, N) per ring,
        (frames, N-1) per link, (frames,) for a scalar.
    """
    if isinstance(source, MemoryRecorder):
        t = np.asarray(source.times)
        data = source.data
        keep = t >= t_start
        return {"time": t[keep]} | {n: data[n][keep] for n in names}
    with h5py.File(source, "r") as f:
        t = f["time"][()]
        keep = np.nonzero(t >= t_start)[0]
        sl = slice(int(keep[0]), int(keep[-1]) + 1) if keep.size else slice(0, 0)
        return {"time": t[sl]} | {n: f[n][sl] for n in names}
