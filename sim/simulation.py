"""The one run loop, shared by every system (rod, nanoparticle network).

``Simulation.run(nsteps)`` repeats, until ``nsteps`` steps are done:

1. stop cleanly, with a checkpoint, if the next chunk would overrun the wall-time deadline;
2. advance the system exactly to the next trigger (a multiple of ``record_every`` or of
   ``checkpoint_every``) with one kernel call (``system.advance(state, n)``, which raises
   ``RunawayError`` on a runaway or a non-finite value);
3. on a record trigger, take one snapshot (``system.observe(state, initial)``), refuse it
   if any value is not finite, and hand it to the recorder;
4. on a checkpoint trigger, flush the recorder and write an exact checkpoint
   (``sim.checkpoint``: state, initial state, frames recorded, atomically);
5. update the progress bar (steps/s and ETA).

Any other ending than reaching the last step closes the recorder with what was recorded
so far kept on disk and its status written, then re-raises: 'runaway', 'walltime',
'interrupted' (Ctrl-C), 'terminated' (SIGTERM, see ``Terminated``) or 'failed' (any other
error). An interrupted or terminated run writes a checkpoint first when it stopped between
steps (not inside the kernel), so it resumes from exactly there. A run resumed
from a checkpoint continues at its step with the recorder cut back to the checkpoint's
frames: the time series has no gap and no duplicate rows, and, since every random number
is a function of (seed, step, site), it is bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np

from sim import checkpoint
from sim.progress import progress


class RunawayError(RuntimeError):
    """The dynamics left the physical domain (temperatures separating, energies <= 0, NaN)."""


class WalltimeReached(RuntimeError):
    """The run stopped before its wall-time limit; a checkpoint was written to resume from."""


class Terminated(BaseException):
    """SIGTERM (what batch schedulers send) arrived; raised by the run loop between steps."""


_termination = {"requested": False}


def request_termination() -> None:
    """Ask every running loop to stop at its next step boundary (a signal handler calls this: raising
    inside a handler can land in a finalizer, where Python ignores the exception)."""
    _termination["requested"] = True


def termination_requested() -> bool:
    return _termination["requested"]


def clear_termination() -> None:
    _termination["requested"] = False


def status_of(exc: BaseException | None) -> str:
    """The status a run ending with ``exc`` has (None: it completed)."""
    if exc is None:
        return "completed"
    for kind, status in ((RunawayError, "runaway"), (WalltimeReached, "walltime"), (Terminated, "terminated"),
                         (KeyboardInterrupt, "interrupted")):
        if isinstance(exc, kind):
            return status
    return "failed"


class Simulation:
    """Drive ``system`` from ``state`` and record every ``record_every`` steps.

    system: provides ``advance(state, n)``, ``observe(state, initial) -> dict`` and
    ``params.dt``. recorder: an object with ``append(step, time, snapshot)``, ``flush()``,
    ``frames`` and ``close(status)`` (``sim.io.TimeSeriesWriter`` or ``sim.io.MemoryRecorder``),
    or None. state/initial: where to start and the run's initial state (a resumed run passes
    both from its checkpoint). checkpoint_path, checkpoint_every: write an exact checkpoint
    every that many steps (None: never). deadline: ``time.monotonic()`` value by which the
    run must have stopped (None: no limit).
    """

    def __init__(self, system, state=None, recorder=None, record_every: int = 100,
                 progress: bool = True, desc: str = "steps", initial=None,
                 checkpoint_path=None, checkpoint_every: int | None = None, deadline: float | None = None):
        if record_every < 1:
            raise ValueError(f"record_every = {record_every!r} is out of range; allowed: record_every >= 1")
        if checkpoint_every is not None and (checkpoint_every < 1 or checkpoint_path is None):
            raise ValueError(f"checkpoint_every = {checkpoint_every!r} needs a checkpoint path and a value >= 1")
        self.system = system
        self.state = system.initial_state() if state is None else state
        self.initial = self.state.copy() if initial is None else initial
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.deadline = deadline
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

    def _next_trigger(self, end: int) -> int:
        step = self.state.step
        nxt = (step // self.record_every + 1) * self.record_every
        if self.checkpoint_every:
            nxt = min(nxt, (step // self.checkpoint_every + 1) * self.checkpoint_every)
        return min(nxt, end)

    def save_checkpoint(self) -> None:
        frames = 0
        if self.recorder is not None:
            self.recorder.flush()
            frames = self.recorder.frames
        checkpoint.save(self.checkpoint_path, self.state, self.initial, frames, {"wall_time": self.wall_time})

    def run(self, nsteps: int) -> dict:
        """Advance ``nsteps`` steps from the current state; see :meth:`run_to`."""
        if nsteps < 0:
            raise ValueError(f"nsteps = {nsteps!r} is out of range; allowed: nsteps >= 0")
        return self.run_to(self.state.step + int(nsteps))

    def run_to(self, end: int) -> dict:
        """Advance to step ``end``; return {'status', 'steps', 'wall_time', 'steps_per_s'}."""
        start = self.state.step
        status = "completed"
        between_steps = True  # False while the state may be half-updated (inside advance)
        t0 = time.perf_counter()
        bar = progress(total=max(end - start, 0), desc=self.desc, unit="step", quiet=not self.progress,
                       unit_scale=True, dynamic_ncols=True, leave=False)
        try:
            if self.state.step % self.record_every == 0 and self.state.step == self.initial.step:
                self._record()
            while self.state.step < end:
                if _termination["requested"]:
                    raise Terminated(f"SIGTERM: stopped at step {self.state.step}")
                n = self._next_trigger(end) - self.state.step
                if self.deadline is not None and self.state.step > start:
                    per_step = (time.perf_counter() - t0) / (self.state.step - start)
                    if time.monotonic() + 2.0 * n * per_step > self.deadline:
                        if self.checkpoint_path is not None:
                            self.save_checkpoint()
                        raise WalltimeReached(f"stopped at step {self.state.step} before the wall-time limit")
                between_steps = False
                self.system.advance(self.state, n)
                if self.state.step % self.record_every == 0:
                    self._record()
                if self.checkpoint_every and self.state.step % self.checkpoint_every == 0:
                    self.save_checkpoint()
                between_steps = True
                bar.update(n)
        except BaseException as exc:
            status = status_of(exc)
            if status in ("interrupted", "terminated") and between_steps and self.checkpoint_path is not None:
                self.save_checkpoint()  # resumable from exactly here
            raise
        finally:
            bar.close()
            self.wall_time += time.perf_counter() - t0
            if self.recorder is not None:
                self.recorder.close(status)
        steps = end - start
        return {"status": status, "steps": steps, "wall_time": self.wall_time,
                "steps_per_s": steps / self.wall_time if self.wall_time > 0 else float("inf")}


def run_recorded(system, nsteps: int, record_every: int, path=None, progress: bool = True, desc: str = "steps",
                 ctx=None, attrs: dict | list | None = None, time_units: str = "time") -> dict:
    """Run ``system`` for ``nsteps`` steps from its initial state, recording to ``path`` (HDF5) or memory.

    A batch system (``system.replicas`` R > 1, e.g. ``Rod(params, seeds)``) records each
    replica to its own file: ``path`` is then a list of R paths (None: R recorders in
    memory), written as one (``sim.io.ReplicaRecorders``), with one checkpoint for the batch
    beside the first file; the batch counts as completed only when every file is. ``attrs``
    (file attributes) may then be a list, one dict per file.

    With a run context ``ctx`` (``sim.scenario.RunContext``) this honours its checkpoint
    interval, its wall-time deadline and resuming: a file (a batch's files) already completed
    is not run again (its state is then None), and one with a checkpoint continues from it.
    Returns {"state", "info", "recorder"} and adds the work done to ``ctx``'s counters.
    """
    from pathlib import Path

    from sim.io import MemoryRecorder, ReplicaRecorders, TimeSeriesWriter
    from sim.validation import check_step_count

    check_step_count(nsteps, system.params.dt)
    replicas = getattr(system, "replicas", 1)
    every = getattr(ctx, "checkpoint_every", None)
    deadline = getattr(ctx, "deadline", None)
    resume = getattr(ctx, "resume", False)
    state = initial = ckpt = None
    if path is None:
        recorders = [MemoryRecorder() for _ in range(replicas)]
        every = None
    else:
        paths = [Path(p) for p in path] if isinstance(path, (list, tuple)) else [Path(path)]
        if len(paths) != replicas:
            raise ValueError(f"path names {len(paths)} files; allowed: one per replica ({replicas})")
        ckpt = paths[0].with_suffix(".ckpt.npz")
        if resume and all(_completed(p) for p in paths):
            return {"state": None, "info": {"status": "completed earlier", "wall_time": 0.0}, "recorder": _Done(paths[0])}
        frames = None
        if resume and checkpoint.exists(ckpt):
            state, initial, frames, _ = checkpoint.load(ckpt, type(system.initial_state()))
        target = (initial.step if initial is not None else 0) + int(nsteps)  # for `sim status`: progress and ETA
        per_file = attrs if isinstance(attrs, list) else [attrs or {}] * replicas  # a batch may name each file's own
        writers = [functools.partial(TimeSeriesWriter, p, system.dims, system.observables, time_units=time_units,
                                     attrs=per_file[r] | {"target_step": target},
                                     unit_system=getattr(system, "unit_system", None),
                                     title=getattr(system, "title", desc)) for r, p in enumerate(paths)]
        recorders = []
        for p, writer in zip(paths, writers):
            try:
                recorders.append(writer(resume_frames=frames))
            except OSError as exc:  # a writer killed mid-write leaves the file unopenable for writing
                recorder, kept = _rebuild(p, frames, writer, ["step", "time", *system.observables], exc)
                recorders.append(recorder)
                if kept is None and frames is not None:  # this file starts over, so does the batch
                    for rec in recorders:
                        rec.close("running")
                    recorders = [w() for w in writers[:len(recorders)]]
                    frames = state = initial = None
    recorder = recorders[0] if replicas == 1 else ReplicaRecorders(recorders)
    sim = Simulation(system, state=state, initial=initial, recorder=recorder, record_every=record_every,
                     progress=progress, desc=desc, checkpoint_path=ckpt if every else None,
                     checkpoint_every=every, deadline=deadline)
    start = sim.state.step
    info = sim.run_to(sim.initial.step + int(nsteps))
    if every:  # the time series is complete: its checkpoints have served
        checkpoint.remove(sim.checkpoint_path)
    if ctx is not None:
        ctx.ring_steps += float(sim.state.step - start) * getattr(system.params, "N", 1) * replicas
        ctx.kernel_time += info["wall_time"]
    return {"state": sim.state, "info": info, "recorder": recorder}


def _completed(path) -> bool:
    """Whether the time series at ``path`` says it completed (an unreadable one did not)."""
    from sim.io import open_live

    if not path.exists():
        return False
    try:
        with open_live(path) as f:
            return f.attrs.get("status") == "completed"
    except OSError:  # unreadable: rebuilt or recomputed
        return False


def _rebuild(path, frames: int | None, writer, names: list[str], exc: OSError):
    """A fresh time-series file holding the first ``frames`` frames of an unwritable one (read as a
    SWMR reader can), so the run continues from its checkpoint; if even reading fails, a fresh
    file and None frames (the run starts over: deterministic, so the result is the same)."""
    import warnings

    from sim.io import open_live

    kept = None
    if frames is not None:
        try:
            with open_live(path) as f:
                kept = {k: f[k][:frames] for k in names}
        except (OSError, KeyError, ValueError):
            kept = None
    os.unlink(path)
    warnings.warn(f"{path} could not be reopened for writing ({exc}); "
                  + (f"rebuilt from its first {frames} frames" if kept is not None else
                     "it is computed again from the start"), stacklevel=3)
    recorder = writer()
    if kept is None:
        return recorder, None
    for row in range(frames):
        recorder.append(int(kept["step"][row]), float(kept["time"][row]),
                        {k: v[row] for k, v in kept.items() if k not in ("step", "time")})
    recorder.flush()
    return recorder, frames


class _Done:
    """Stands in for the recorder of a file completed by an earlier run."""

    def __init__(self, path):
        self.path = path
