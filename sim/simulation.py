"""The one run loop, shared by every system (rod, nanoparticle network).

``Simulation.run(nsteps)`` repeats, until ``nsteps`` steps are done:

1. advance the system exactly to the next record trigger (a multiple of ``record_every``)
   with one kernel call (``system.advance(state, n)``, which raises ``RunawayError`` on
   a runaway or a non-finite value);
2. on a trigger, take one snapshot (``system.observe(state, initial)``), refuse it if any
   value is not finite, and hand it to the recorder;
3. update the progress bar (steps/s and ETA).

A runaway or an interrupt (Ctrl-C) closes the recorder with what was recorded so far kept
on disk and its status written ('runaway' or 'interrupted'), then re-raises.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm


class RunawayError(RuntimeError):
    """The dynamics left the physical domain (temperatures separating, energies <= 0, NaN)."""


class Simulation:
    """Drive ``system`` from ``state`` and record every ``record_every`` steps.

    system: provides ``advance(state, n)``, ``observe(state, initial) -> dict`` and
    ``params.dt``. recorder: an object with ``append(step, time, snapshot)`` and
    ``close(status)`` (``sim.io.TimeSeriesWriter`` or ``sim.io.MemoryRecorder``), or None.
    """

    def __init__(self, system, state=None, recorder=None, record_every: int = 100,
                 progress: bool = True, desc: str = "steps"):
        if record_every < 1:
            raise ValueError(f"record_every = {record_every!r} is out of range; allowed: record_every >= 1")
        self.system = system
        self.state = system.initial_state() if state is None else state
        self.initial = self.state.copy()
        self.recorder = recorder
        self.record_every = int(record_every)
        self.progress = progress
        self.desc = desc
        self.wall_time = 0.0

    def _record(self):
        snap = self.system.observe(self.state, self.initial)
        for name, value in snap.items():
            if not np.all(np.isfinite(value)):
                raise RunawayError(f"non-finite {name} at step {self.state.step}: the run diverged")
        if self.recorder is not None:
            self.recorder.append(self.state.step, self.state.step * self.system.params.dt, snap)

    def run(self, nsteps: int) -> dict:
        """Advance ``nsteps`` steps; return {'status', 'steps', 'wall_time', 'steps_per_s'}."""
        if nsteps < 0:
            raise ValueError(f"nsteps = {nsteps!r} is out of range; allowed: nsteps >= 0")
        end = self.state.step + int(nsteps)
        status = "completed"
        t0 = time.perf_counter()
        bar = tqdm(total=int(nsteps), desc=self.desc, unit="step", disable=not self.progress,
                   unit_scale=True, dynamic_ncols=True, leave=False)
        try:
            if self.state.step % self.record_every == 0 and self.state.step == self.initial.step:
                self._record()
            while self.state.step < end:
                next_trigger = (self.state.step // self.record_every + 1) * self.record_every
                n = min(next_trigger, end) - self.state.step
                self.system.advance(self.state, n)
                if self.state.step % self.record_every == 0:
                    self._record()
                bar.update(n)
        except RunawayError:
            status = "runaway"
            raise
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            bar.close()
            self.wall_time += time.perf_counter() - t0
            if self.recorder is not None:
                self.recorder.close(status)
        steps = int(nsteps)
        return {"status": status, "steps": steps, "wall_time": self.wall_time,
                "steps_per_s": steps / self.wall_time if self.wall_time > 0 else float("inf")}
