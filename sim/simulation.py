"""The one run loop, shared by every system (rod, nanoparticle network), and its reporters.

A ``Simulation(system, reporters=[...])`` owns a state and a list of reporters (the pattern
of OpenMM's reporters and HOOMD-blue's triggered operations). Each reporter says at which
step it is next due; the loop advances the system exactly to the earliest such step with
one kernel call, takes ONE snapshot holding only the observables the due reporters need,
and hands it to them. ``Simulation.run_to(end)`` repeats, until step ``end`` or until a
reporter stops it:

1. stop with ``Terminated`` if SIGTERM arrived (``request_termination``);
2. let every reporter veto the next chunk (``before_advance``: ``Deadline`` stops a run that
   would overrun its wall time, after a checkpoint);
3. advance to the next trigger (``system.advance(state, n)``, which raises ``RunawayError``
   on a runaway or a non-finite value);
4. if reporters are due: one snapshot (``system.observe(state, initial, names)``), refused
   if any value is not finite, handed to them in their ``order``: recorders (10), stop
   conditions (20), the checkpointer (90, last, so a checkpoint holds the frames just
   recorded and the stop condition's memory);
5. ``after_advance`` (the progress bar).

At the start of a fresh run (state at the initial state) recorders and stop conditions
report once, so a series starts with its initial frame and a run already at its goal does
not step. Any other ending than reaching ``end`` or a stop condition closes every reporter
with the status (recorders keep what they recorded and write it), then re-raises:
'runaway', 'walltime', 'interrupted' (Ctrl-C), 'terminated' (SIGTERM, see ``Terminated``)
or 'failed' (any other error). An interrupted or terminated run writes a checkpoint first
when it stopped between steps (not inside the kernel), so it resumes from exactly there. A
run resumed from a checkpoint continues at its step with the recorder cut back to the
checkpoint's frames and its reporters' memory restored: the time series has no gap and no
duplicate rows, and, since every random number is a function of (seed, step, site), it is
bit-identical to an uninterrupted run.

Layers: scenarios -> ``run_recorded`` (files, resume, run context) -> ``Simulation`` (this
loop) -> a ``System`` (``Rod``, ``NetworkSystem``) -> its Numba kernel.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from sim import checkpoint
from sim.progress import progress

if TYPE_CHECKING:
    from pathlib import Path

    from sim.io import MemoryRecorder, ReplicaRecorders, TimeSeriesWriter
    from sim.scenario import RunContext


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
    for kind, status in (
        (RunawayError, "runaway"),
        (WalltimeReached, "walltime"),
        (Terminated, "terminated"),
        (KeyboardInterrupt, "interrupted"),
    ):
        if isinstance(exc, kind):
            return status
    return "failed"


class State(Protocol):
    """What the loop needs of a system's state (``RodState``, ``NetworkState``): its step counter
    (steps taken) and an independent copy."""

    step: int

    def copy(self) -> State: ...


class System(Protocol):
    """What the loop needs from a simulated system (``sim.rod.Rod``, ``sim.radiative.NetworkSystem``).

    ``params.dt``: the time step (the system's time unit). ``dims``: {dimension: size} and
    ``observables``: {name: (dimensions, units, description)} for the recorders.
    ``advance`` moves a state in place by n steps (``state.step`` counts them) and raises
    ``RunawayError`` when the dynamics leaves its domain; ``observe`` returns the named
    observables (None: all) at ``state``, ``initial`` being the run's start (the ledger's
    reference).
    """

    params: object
    dims: dict
    observables: dict

    def initial_state(self) -> State: ...

    def advance(self, state: State, nsteps: int) -> None: ...

    def observe(self, state: State, initial: State, names: Iterable[str] | None = None) -> dict: ...


@dataclass(frozen=True)
class RunInfo:
    """How one ``Simulation.run_to`` went.

    Attributes
    ----------
    status : str
        'completed' (or 'completed earlier': the files were completed by an earlier run and
        nothing ran).
    steps : int
        Steps taken.
    wall_time : float
        Seconds, counting every ``run_to`` of the ``Simulation`` object.
    steps_per_s : float
        Steps per second of this ``run_to``.
    stop_reason : str or None
        The stop condition's reason (``StopWhen``), None when the run reached its end.
    """

    status: str
    steps: int
    wall_time: float
    steps_per_s: float
    stop_reason: str | None = None


@dataclass(frozen=True)
class RunResult:
    """What ``run_recorded`` returns (``simulate`` and ``simulate_network`` add their system).

    Attributes
    ----------
    state : RodState, NetworkState, or None
        The final state (None when the files were completed by an earlier run).
    info : RunInfo
        How the run went.
    recorder : TimeSeriesWriter, MemoryRecorder, ReplicaRecorders, or CompletedEarlier
        What recorded it (``CompletedEarlier`` names the file completed earlier).
    """

    state: object
    info: RunInfo
    recorder: object


# ---------------------------------------------------------------------------- reporters
class Reporter:
    """Something the loop does at its own trigger steps; every hook is optional.

    Subclass it and override the hooks needed: ``at_start(sim)``: report once before the
    first step; ``start(sim, end)``; ``before_advance(sim, n)`` (may raise to stop the run);
    ``report(sim, snapshot)`` when due; ``after_advance(sim, n)``; ``close(sim, status)``;
    ``extra()`` / ``restore(extra)``: scalars a checkpoint keeps.

    Attributes
    ----------
    order : int
        Among reporters due at one step, lower reports first (recorders 10, stop conditions
        20, the checkpointer 90; default 50).
    needs : tuple of str or None
        The observables its report reads (None: all the system has).
    every : int or None
        A periodic trigger, due at initial.step + k every (None: no trigger of its own).
    """

    order = 50
    needs: tuple | None = ()
    every: int | None = None

    def next_trigger(self, sim: Simulation) -> int | None:
        if self.every is None:
            return None
        origin, step = sim.initial.step, sim.state.step
        return origin + ((step - origin) // self.every + 1) * self.every

    def due(self, sim: Simulation) -> bool:
        return self.every is not None and (sim.state.step - sim.initial.step) % self.every == 0

    def at_start(self, sim: Simulation) -> bool:
        return False

    def start(self, sim: Simulation, end: int) -> None:
        pass

    def before_advance(self, sim: Simulation, n: int) -> None:
        pass

    def report(self, sim: Simulation, snapshot: dict) -> None:
        pass

    def after_advance(self, sim: Simulation, n: int) -> None:
        pass

    def close(self, sim: Simulation, status: str) -> None:
        pass

    def extra(self) -> dict:
        return {}

    def restore(self, extra: dict) -> None:
        pass


def _period(name: str, every) -> int:
    if every is None or int(every) != every or every < 1:
        raise ValueError(f"{name} = {every!r} is out of range; allowed: an integer >= 1 (steps)")
    return int(every)


class Recorder(Reporter):
    """Hand a snapshot of ``names`` (None: every observable) every ``every`` steps to ``recorder``.

    At the start of a fresh run it records the initial frame too. On any ending it closes the
    recorder with the run's status (a file keeps what was recorded).

    Parameters
    ----------
    recorder : TimeSeriesWriter, MemoryRecorder, or ReplicaRecorders
        From ``sim.io``.
    every : int
        Steps between frames, >= 1.
    names : iterable of str, optional
        The observables recorded (None: every observable of the system).

    Raises
    ------
    ValueError
        If ``every`` is not an integer >= 1.
    """

    order = 10

    def __init__(
        self,
        recorder: TimeSeriesWriter | MemoryRecorder | ReplicaRecorders,
        every: int,
        names: Iterable[str] | None = None,
    ):
        self.recorder = recorder
        self.every = _period("record_every", every)
        self.needs = None if names is None else tuple(names)

    def at_start(self, sim: Simulation) -> bool:
        return sim.state.step == sim.initial.step  # a resumed series already holds its first frame

    def report(self, sim: Simulation, snapshot: dict) -> None:
        if self.needs is not None and len(self.needs) != len(snapshot):  # another reporter asked for more
            snapshot = {k: snapshot[k] for k in self.needs}
        step = sim.state.step
        self.recorder.append(step, step * sim.system.params.dt, snapshot)

    def close(self, sim: Simulation, status: str) -> None:
        self.recorder.close(status)


class StopWhen(Reporter):
    """Stop the run (status completed) when ``condition(sim)`` is true, tested every ``every``
    steps and at the start. A condition may keep memory across checks: give it ``extra()``
    and ``restore(extra)`` and checkpoints keep it.

    Parameters
    ----------
    condition : callable
        ``condition(sim) -> bool``, ``sim`` the ``Simulation`` (``sim.state``, ``sim.system``).
    every : int
        Steps between tests, >= 1.
    reason : str
        The ``RunInfo.stop_reason`` when it stops the run.

    Raises
    ------
    ValueError
        If ``every`` is not an integer >= 1.
    """

    order = 20

    def __init__(self, condition: Callable[[Simulation], bool], every: int = 1, reason: str = "condition met"):
        self.condition = condition
        self.every = _period("check_every", every)
        self.reason = reason

    def at_start(self, sim: Simulation) -> bool:
        return True

    def report(self, sim: Simulation, snapshot: dict) -> None:
        if self.condition(sim):
            sim.stop(self.reason)

    def extra(self) -> dict:
        return getattr(self.condition, "extra", dict)()

    def restore(self, extra: dict) -> None:
        if hasattr(self.condition, "restore"):
            self.condition.restore(extra)


class Checkpointer(Reporter):
    """Write an exact checkpoint to ``path`` every ``every`` steps (None: only when the run stops
    early: wall time, Ctrl-C, SIGTERM). A run takes at most one.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (``.npz``).
    every : int, optional
        Steps between checkpoints, >= 1; None: only when the run stops early.
    """

    order = 90

    def __init__(self, path: str | os.PathLike, every: int | None = None):
        self.path = path
        self.every = None if every is None else _period("checkpoint_every", every)

    def report(self, sim: Simulation, snapshot: dict) -> None:
        sim.save_checkpoint()


class Deadline(Reporter):
    """Stop with ``WalltimeReached`` (after a checkpoint, when the run has a checkpointer) before a
    chunk that would end later than ``deadline`` (a ``time.monotonic()`` value), judged by the
    run's own speed with a factor 2 of margin.

    Parameters
    ----------
    deadline : float
        A ``time.monotonic()`` value, s.
    """

    def __init__(self, deadline: float):
        self.deadline = deadline

    def before_advance(self, sim: Simulation, n: int) -> None:
        done = sim.state.step - sim.start_step
        if done > 0:
            per_step = sim.elapsed() / done
            if time.monotonic() + 2.0 * n * per_step > self.deadline:
                if sim.checkpointer is not None:
                    sim.save_checkpoint()
                raise WalltimeReached(f"stopped at step {sim.state.step} before the wall-time limit")


class ProgressBar(Reporter):
    """A tqdm bar of steps (steps/s, ETA) on a terminal, a line a minute in a log (``sim.progress``).

    Parameters
    ----------
    desc : str
        The bar's label.
    quiet : bool
        True: no bar.
    """

    def __init__(self, desc: str = "steps", quiet: bool = False):
        self.desc, self.quiet, self.bar = desc, quiet, None

    def start(self, sim: Simulation, end: int) -> None:
        self.bar = progress(
            total=max(end - sim.state.step, 0),
            desc=self.desc,
            unit="step",
            quiet=self.quiet,
            unit_scale=True,
            dynamic_ncols=True,
            leave=False,
        )

    def after_advance(self, sim: Simulation, n: int) -> None:
        self.bar.update(n)

    def close(self, sim: Simulation, status: str) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------- the loop
class Simulation:
    """Drive ``system`` (see ``System``) from ``state`` with ``reporters``.

    A run has at most one checkpointer; a checkpoint records the frames of its first recorder.
    The loop itself is described in the docstring of the ``sim.simulation`` module.

    Parameters
    ----------
    system : System
        A ``sim.rod.Rod`` or a ``sim.radiative.dynamics.NetworkSystem``.
    state : State, optional
        Where to start (default: ``system.initial_state()``).
    reporters : iterable of Reporter
        What runs at their trigger steps (``Recorder``, ``StopWhen``, ``Checkpointer``,
        ``Deadline``, ``ProgressBar``, or your own).
    initial : State, optional
        The run's initial state, the reference of its ledgers and triggers (default: a copy
        of ``state``). A resumed run passes ``state`` and ``initial`` from its checkpoint.
    extra : dict, optional
        The scalars a checkpoint kept (``checkpoint.load``), restored into the reporters.

    Attributes
    ----------
    system, state, initial
        As given (``state`` is advanced in place).
    reporters : list of Reporter
        Sorted by ``order``.
    wall_time : float
        Seconds this object has run (a resumed run starts again from 0).
    stop_reason : str or None
        Set by ``stop``.

    Raises
    ------
    ValueError
        If ``reporters`` holds more than one ``Checkpointer``.

    Examples
    --------
    >>> from sim.io import MemoryRecorder
    >>> from sim.rod import Rod, RodParams
    >>> rec = MemoryRecorder()
    >>> sim = Simulation(Rod(RodParams(N=8)), reporters=[Recorder(rec, every=100, names=["T", "Q_L"]),
    ...                  StopWhen(lambda s: s.state.E.min() < 0.5, every=10)])
    >>> sim.run(1000).status, rec.data["T"].shape
    ('completed', (11, 8))
    """

    def __init__(
        self,
        system: System,
        state: State | None = None,
        reporters: Iterable[Reporter] = (),
        initial: State | None = None,
        extra: dict | None = None,
    ):
        self.system = system
        self.state = system.initial_state() if state is None else state
        self.initial = self.state.copy() if initial is None else initial
        self.reporters = sorted(reporters, key=lambda r: r.order)  # stable: equal orders keep theirs
        checkpointers = [r for r in self.reporters if isinstance(r, Checkpointer)]
        if len(checkpointers) > 1:
            raise ValueError("a run takes at most one Checkpointer")
        self.checkpointer = checkpointers[0] if checkpointers else None
        self.recorders = [r for r in self.reporters if isinstance(r, Recorder)]
        self.wall_time = 0.0  # seconds this object has run (a resumed run starts again from 0)
        for k, r in enumerate(self.reporters):
            r.restore({key.split(".", 1)[1]: v for key, v in (extra or {}).items() if key.startswith(f"r{k}.")})
        self.stop_reason = None
        self.start_step = self.state.step
        self._t0 = None
        self._needs = {}

    def elapsed(self) -> float:
        """Seconds since the current ``run_to`` began."""
        return time.perf_counter() - self._t0

    def stop(self, reason: str) -> None:
        """End the run after the current reports (a stop condition calls this)."""
        self.stop_reason = reason

    def save_checkpoint(self) -> None:
        for r in self.recorders:
            r.recorder.flush()
        frames = self.recorders[0].recorder.frames if self.recorders else 0
        extra = {"wall_time": self.wall_time + (self.elapsed() if self._t0 is not None else 0.0)}
        for k, r in enumerate(self.reporters):
            extra |= {f"r{k}.{key}": v for key, v in r.extra().items()}
        checkpoint.save(self.checkpointer.path, self.state, self.initial, frames, extra)

    def _report(self, due) -> None:
        if not due:
            return
        key = tuple(map(id, due))
        if key not in self._needs:  # the observables a set of due reporters reads (None: all)
            needs = [r.needs for r in due]
            self._needs[key] = None if None in needs else tuple(sorted(set().union(*needs)))
        names = self._needs[key]
        snap = {} if names == () else self.system.observe(self.state, self.initial, names)
        for name, value in snap.items():
            if not np.isfinite(value).all():
                raise RunawayError(f"non-finite {name} at step {self.state.step}: the run diverged")
        for r in due:
            r.report(self, snap)

    def run(self, nsteps: int) -> RunInfo:
        """Advance ``nsteps`` steps from the current state; see ``run_to``.

        Parameters
        ----------
        nsteps : int
            Steps to take, >= 0.

        Returns
        -------
        RunInfo

        Raises
        ------
        ValueError
            If nsteps < 0.
        """
        if nsteps < 0:
            raise ValueError(f"nsteps = {nsteps!r} is out of range; allowed: nsteps >= 0")
        return self.run_to(self.state.step + int(nsteps))

    def run_to(self, end: int) -> RunInfo:
        """Advance to step ``end`` or until a stop condition holds.

        Any other ending closes every reporter with the status ('runaway', 'walltime',
        'interrupted', 'terminated', 'failed') and re-raises; an interrupted or terminated run
        checkpoints first when it stopped between steps.

        Parameters
        ----------
        end : int
            The step to reach: a ``state.step`` value (steps since the initial state), where
            ``run(n)`` counts n steps from the current one.

        Returns
        -------
        RunInfo
            Its wall_time counts every run_to of this object.

        Raises
        ------
        RunawayError
            The dynamics left its domain, or an observable was not finite.
        WalltimeReached
            A ``Deadline`` stopped the run.
        Terminated
            SIGTERM arrived (``request_termination``).
        KeyboardInterrupt
            Ctrl-C.
        """
        start = self.start_step = self.state.step
        status = "completed"
        between_steps = True  # False while the state may be half-updated (inside advance)
        self._t0 = time.perf_counter()
        # the hooks each reporter really has, found once (the loop may turn every few steps)
        overrides = lambda hook: [r for r in self.reporters if getattr(type(r), hook) is not getattr(Reporter, hook)]  # noqa: E731
        triggered = [
            r for r in self.reporters if r.every is not None or type(r).next_trigger is not Reporter.next_trigger
        ]
        guards, followers = overrides("before_advance"), overrides("after_advance")
        for r in self.reporters:
            r.start(self, end)
        try:
            self._report([r for r in self.reporters if r.at_start(self)])
            while self.state.step < end and self.stop_reason is None:
                if _termination["requested"]:
                    raise Terminated(f"SIGTERM: stopped at step {self.state.step}")
                n = min([end, *(r.next_trigger(self) for r in triggered)]) - self.state.step
                for r in guards:
                    r.before_advance(self, n)
                between_steps = False
                self.system.advance(self.state, n)
                self._report([r for r in triggered if r.due(self)])
                between_steps = True
                for r in followers:
                    r.after_advance(self, n)
        except BaseException as exc:
            status = status_of(exc)
            if status in ("interrupted", "terminated") and between_steps and self.checkpointer is not None:
                self.save_checkpoint()  # resumable from exactly here
            raise
        finally:
            run_time = time.perf_counter() - self._t0
            self.wall_time += run_time
            self._t0 = None
            for r in self.reporters:
                r.close(self, status)
        steps = self.state.step - start
        return RunInfo(
            status, steps, self.wall_time, steps / run_time if run_time > 0 else float("inf"), self.stop_reason
        )


def run_recorded(
    system: System,
    nsteps: int,
    record_every: int,
    path: str | os.PathLike | list[str | os.PathLike] | tuple[str | os.PathLike, ...] | None = None,
    progress: bool = True,
    desc: str = "steps",
    ctx: RunContext | None = None,
    attrs: dict | list | None = None,
    time_units: str = "time",
    observables: Sequence[str] | None = None,
    start: Callable[[], State] | None = None,
) -> RunResult:
    """Run ``system`` for ``nsteps`` steps, recording every ``record_every`` to ``path`` (HDF5) or memory.

    The run counts ``nsteps`` from its start state's step and records at start.step + k
    record_every. A batch system (``system.replicas`` R > 1, e.g. ``Rod(params, seeds)``)
    records each replica to its own file, written as one (``sim.io.ReplicaRecorders``), with
    one checkpoint for the batch beside the first file; the batch counts as completed only
    when every file is.

    A run writing files has a checkpoint beside its (first) file: every ``ctx.checkpoint_every``
    steps when the run context ``ctx`` (``sim.scenario.RunContext``) sets it, and always when it
    stops early (wall time, Ctrl-C, SIGTERM); it honours ``ctx``'s wall-time deadline and
    resuming: a file (a batch's files) already completed is not run again (its state is then
    None), and one with a checkpoint continues from it.

    Parameters
    ----------
    system : System
        What to run (``Rod``, ``NetworkSystem``).
    nsteps : int
        Steps to take.
    record_every : int
        Steps between recorded frames, >= 1.
    path : str, os.PathLike, list or tuple of them, optional
        The HDF5 file; for a batch, a list of R paths (None: recorders in memory).
    progress : bool
        Show progress (``sim.progress``: a bar on a terminal, a line a minute in a log).
    desc : str
        The progress bar's label (and the file title if the system has none).
    ctx : RunContext, optional
        Checkpoints, wall-time deadline, resume; its counters get the work done.
    attrs : dict or list of dict, optional
        File attributes; for a batch, may be a list, one dict per file.
    time_units : str
        Units of the "time" coordinate.
    observables : sequence of str, optional
        The names recorded (None: all of ``system.observables``); the loop asks the system
        for these only.
    start : callable, optional
        Returns the state to begin a fresh run from (e.g. after a burn-in; default
        ``system.initial_state()``); it is not called when the run resumes from a checkpoint
        or was completed earlier.

    Returns
    -------
    RunResult

    Raises
    ------
    ValueError
        If ``path`` does not name one file per replica, or the run would take more than
        1e13 steps.
    """
    from pathlib import Path

    from sim.io import MemoryRecorder, ReplicaRecorders, TimeSeriesWriter
    from sim.validation import check_step_count

    check_step_count(nsteps, system.params.dt)
    replicas = getattr(system, "replicas", 1)
    resume = getattr(ctx, "resume", False)
    variables = system.observables if observables is None else {k: system.observables[k] for k in observables}
    fresh = start if start is not None else system.initial_state
    initial = ckpt = extra = None
    if path is None:
        recorders = [MemoryRecorder() for _ in range(replicas)]
        state = fresh()
    else:
        paths = [Path(p) for p in path] if isinstance(path, (list, tuple)) else [Path(path)]
        if len(paths) != replicas:
            raise ValueError(f"path names {len(paths)} files; allowed: one per replica ({replicas})")
        ckpt = paths[0].with_suffix(".ckpt.npz")
        if resume and all(_completed(p) for p in paths):
            return RunResult(None, RunInfo("completed earlier", 0, 0.0, 0.0), CompletedEarlier(paths[0]))
        frames = None
        if resume and checkpoint.exists(ckpt):
            state, initial, frames, extra = checkpoint.load(ckpt, type(system.initial_state()))
        else:
            state = fresh()
        target = (initial if initial is not None else state).step + int(nsteps)
        per_file = attrs if isinstance(attrs, list) else [attrs or {}] * replicas  # a batch may name each file's own
        writers = [
            functools.partial(
                TimeSeriesWriter,
                p,
                system.dims,
                variables,
                time_units=time_units,
                attrs=per_file[r] | {"target_step": target},  # for `sim status`: progress, ETA
                unit_system=getattr(system, "unit_system", None),
                title=getattr(system, "title", desc),
            )
            for r, p in enumerate(paths)
        ]
        recorders = []
        for p, writer in zip(paths, writers):
            try:
                recorders.append(writer(resume_frames=frames))
            except OSError as exc:  # a writer killed mid-write leaves the file unopenable for writing
                recorder, kept = _rebuild(p, frames, writer, ["step", "time", *variables], exc)
                recorders.append(recorder)
                if kept is None and frames is not None:  # this file starts over, so does the batch
                    for rec in recorders:
                        rec.close("running")
                    recorders = [w() for w in writers[: len(recorders)]]
                    frames = initial = extra = None
                    state = fresh()
    recorder = recorders[0] if replicas == 1 else ReplicaRecorders(recorders)
    reporters = [Recorder(recorder, record_every, observables), ProgressBar(desc, quiet=not progress)]
    sim = Simulation(
        system, state=state, initial=initial, reporters=reporters + context_reporters(ctx, ckpt), extra=extra
    )
    first = sim.state.step
    info = sim.run_to(sim.initial.step + int(nsteps))
    if ckpt is not None:  # the time series is complete: its checkpoints have served
        checkpoint.remove(ckpt)
    count_work(ctx, sim, first, getattr(system.params, "N", 1) * replicas)
    return RunResult(sim.state, info, recorder)


def context_reporters(ctx: RunContext | None, checkpoint_path: str | os.PathLike | None) -> list:
    """What a run context (``sim.scenario.RunContext``, or None) asks of a run: a ``Checkpointer``
    at ``checkpoint_path`` (when given: every ``ctx.checkpoint_every`` steps, and when the run
    stops early) and the ``Deadline`` of its wall time."""
    out = []
    if checkpoint_path is not None:
        out.append(Checkpointer(checkpoint_path, getattr(ctx, "checkpoint_every", None)))
    if getattr(ctx, "deadline", None) is not None:
        out.append(Deadline(ctx.deadline))
    return out


def count_work(ctx: RunContext | None, sim: Simulation, first_step: int, sites: int) -> None:
    """Add the site-steps ``sim`` took since ``first_step`` and its kernel time to ``ctx``'s counters."""
    if ctx is not None:
        ctx.ring_steps += float(sim.state.step - first_step) * sites
        ctx.kernel_time += sim.wall_time


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
    warnings.warn(
        f"{path} could not be reopened for writing ({exc}); "
        + (f"rebuilt from its first {frames} frames" if kept is not None else "it is computed again from the start"),
        stacklevel=3,
    )
    recorder = writer()
    if kept is None:
        return recorder, None
    for row in range(frames):
        recorder.append(
            int(kept["step"][row]),
            float(kept["time"][row]),
            {k: v[row] for k, v in kept.items() if k not in ("step", "time")},
        )
    recorder.flush()
    return recorder, frames


class CompletedEarlier:
    """Stands in for the recorder of a file completed by an earlier run (``path``: the file)."""

    def __init__(self, path: Path):
        self.path = path
