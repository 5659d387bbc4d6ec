"""Run one rod to completion, streaming its observables to HDF5 (or memory), and read it back."""

from __future__ import annotations

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
    import os

    from sim.scenario import RunContext


@dataclass(frozen=True)
class RodRun(RunResult):
    """``simulate``'s result: a ``sim.simulation.RunResult`` and the ``rod`` (``Rod``) it ran."""

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

    path: HDF5 file to stream to (None: keep the record in memory, for short runs).
    seeds: run a batch of replicas in one kernel, one per seed (``params.seed`` is then not
    used); ``path`` is then a list of files, one per replica, each as the replica's run alone
    would write it (bit for bit; its ``params`` attribute carries the replica's seed).
    ctx: a ``sim.scenario.RunContext``: its work counters are updated, and its checkpoint,
    wall-time and resume settings apply (see ``sim.simulation.run_recorded``).
    Returns a ``RodRun``: ``rod``, ``state`` (None if the files were completed earlier),
    ``info`` (``sim.simulation.RunInfo``), ``recorder``.
    """
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
    """Variables ``names`` (and "time") from a run's recorder or HDF5 path, frames with t >= t_start."""
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
