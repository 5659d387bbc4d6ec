"""Replicas of a scenario run in lockstep, so that their rods advance as one batch.

A sweep's replicas of one parameter point run the same scenario with different seeds. Each
replica runs in a thread of its own, but only one runs Python at a time (a baton: what a
scenario does between simulations, its analysis and figures, runs as it would alone, one
replica after another). When a replica calls ``sim.rod.runner.simulate`` it waits; once every
replica still running waits, the requests are compared, and when they ask for the same rod
(the same parameters but the seed, the same steps and frames, a file each) they are run as
ONE batch: ``simulate(..., path=[files], seeds=[seeds])``, the replicas the kernel's vector
axis. Each replica's file is then the one its run alone would write, bit for bit (the
kernel's guarantee), so a replica's summary does not depend on whether it ran in a batch.
Requests that differ (a scenario whose next run depends on a random result) run one after
another, each as alone.

Only rods are batched; every other computation of a replica (networks, spectra) runs in its
thread as it would alone. Errors stay with their replica: one that raises leaves the others
running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.rod.model import RodParams
    from sim.rod.runner import RodRun
    from sim.scenario import RunContext


@dataclass
class _Request:
    params: RodParams
    nsteps: int
    record_every: int
    path: Path
    desc: str
    ctx: RunContext
    result: Any = None
    ready: bool = False


class Lockstep:
    """The coordinator of one point's replicas (see the module doc); ``run`` drives them.

    Counters: ``batches`` (rod batches run), ``solo`` (rod runs that could not be batched).
    """

    def __init__(self) -> None:
        self._baton = threading.Condition()
        self._active = 0
        self._waiting: list[_Request] = []
        self.batches = 0
        self.solo = 0

    def run(self, replicas: Sequence[Callable[[], object]]) -> list[object]:
        """Call every replica (a function of no arguments that may call ``simulate`` with a
        context whose ``lockstep`` is this object); their results in order, an exception
        standing for a replica that raised."""
        results: list[object] = [None] * len(replicas)

        def body(r: int) -> None:
            with self._baton:
                try:
                    results[r] = replicas[r]()
                except BaseException as exc:  # kept as the replica's outcome
                    results[r] = exc
                finally:
                    self._active -= 1
                    self._release_if_all_wait()
                    self._baton.notify_all()

        self._active = len(replicas)
        threads = [threading.Thread(target=body, args=(r,), daemon=True) for r in range(len(replicas))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def simulate(
        self, params: RodParams, nsteps: int, record_every: int, path: Path, desc: str, ctx: RunContext
    ) -> RodRun:
        """``simulate``'s request from a replica (called with the baton held): wait until every
        running replica has asked, then return this replica's share of the batch."""
        request = _Request(params, int(nsteps), int(record_every), Path(path), desc, ctx)
        self._waiting.append(request)
        self._release_if_all_wait()
        while not request.ready:
            self._baton.wait()
        if isinstance(request.result, BaseException):
            raise request.result
        return request.result

    def _release_if_all_wait(self) -> None:
        """When every running replica waits, serve the waiting requests (baton held)."""
        if not self._waiting or len(self._waiting) < self._active:
            return
        waiting, self._waiting = self._waiting, []
        if len(waiting) > 1 and _compatible(waiting):
            self._batch(waiting)
        else:
            for request in waiting:
                self._alone(request)
        self._baton.notify_all()

    def _alone(self, request: _Request) -> None:
        from sim.rod.runner import simulate

        self.solo += 1
        request.ctx.lockstep = None  # this call runs as alone (the baton is held: no one else runs)
        try:
            request.result = simulate(
                request.params,
                request.nsteps,
                request.record_every,
                path=request.path,
                progress=False,
                desc=request.desc,
                ctx=request.ctx,
            )
        except BaseException as exc:
            request.result = exc
        finally:
            request.ctx.lockstep = self
        request.ready = True

    def _batch(self, waiting: list[_Request]) -> None:
        from sim.rod.runner import RodRun, simulate
        from sim.rod.system import Rod

        self.batches += 1
        first = waiting[0]
        seeds = [r.params.seed for r in waiting]
        ctx = replace(first.ctx, lockstep=None, ring_steps=0.0, kernel_time=0.0, notes=[])
        try:
            run = simulate(
                first.params,
                first.nsteps,
                first.record_every,
                path=[r.path for r in waiting],
                progress=False,
                desc=first.desc,
                ctx=ctx,
                seeds=seeds,
            )
        except BaseException as exc:
            for r in waiting:
                r.result, r.ready = exc, True
            return
        for i, r in enumerate(waiting):
            r.ctx.ring_steps += ctx.ring_steps / len(waiting)  # the batch's work, shared out
            r.ctx.kernel_time += ctx.kernel_time / len(waiting)
            r.ctx.notes.extend(ctx.notes)
            r.ctx.notes.append(f"{r.path.name}: one of a batch of {len(waiting)} replicas (sim.lockstep)")
            state = None if run.state is None else run.rod.replica(run.state, i)
            recorder = run.recorder.recorders[i] if hasattr(run.recorder, "recorders") else run.recorder
            r.result, r.ready = RodRun(state, run.info, recorder, Rod(r.params)), True


def _compatible(waiting: list[_Request]) -> bool:
    """The same rod but the seed, the same steps and frames, distinct files."""

    def rod(r: _Request) -> tuple:
        return r.nsteps, r.record_every, {k: v for k, v in r.params.to_dict().items() if k != "seed"}

    return len({r.path for r in waiting}) == len(waiting) and all(rod(r) == rod(waiting[0]) for r in waiting)
