"""Run one rod to completion, streaming its observables to HDF5 (or memory), and read it back."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from sim.io import MemoryRecorder, TimeSeriesWriter
from sim.rod.model import RodParams
from sim.rod.system import Rod
from sim.simulation import Simulation


def simulate(params: RodParams, nsteps: int, record_every: int, path: str | Path | None = None,
             progress: bool = True, desc: str = "rod", ctx=None) -> dict:
    """Run ``params`` for ``nsteps`` steps, recording every ``record_every`` steps.

    path: HDF5 file to stream to (None: keep the record in memory, for short runs).
    ctx: a ``sim.scenario.RunContext`` whose work counters are updated.
    Returns {"rod", "state", "info", "recorder"}.
    """
    rod = Rod(params)
    if path is None:
        recorder = MemoryRecorder()
    else:
        recorder = TimeSeriesWriter(path, rod.dims, rod.observables, time_units="reduced time",
                                    attrs={"system": "rod", "params": params.to_dict()})
    sim = Simulation(rod, recorder=recorder, record_every=record_every, progress=progress, desc=desc)
    info = sim.run(nsteps)
    if ctx is not None:
        ctx.ring_steps += float(nsteps) * params.N
        ctx.kernel_time += info["wall_time"]
    return {"rod": rod, "state": sim.state, "info": info, "recorder": recorder}


def load(source, names: list[str], t_start: float = 0.0) -> dict:
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
