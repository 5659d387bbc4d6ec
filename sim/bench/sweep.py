"""``python -m sim bench sweep``: sweep throughput with 1 and 2 local workers, scheduling overhead.

Each throughput is one timed batch of tasks after every worker ran a warm-up task (the
tasks are seconds long, so one batch is the measurement; ``sim.bench.harness.ratio`` checks
the speed-up is one two workers can give)."""

from __future__ import annotations

import time

from sim import ensemble
from sim.bench import harness


def _rod_task(seconds_target: float, seed: int) -> float:
    """A CPU-bound task of about ``seconds_target`` s: a 1024-ring rod, noise on."""
    from sim.rod.model import RodParams
    from sim.rod.system import Rod

    rod = Rod(RodParams(N=1024, K=5.0, noise=True, seed=seed))
    s = rod.initial_state()
    rod.advance(s, 10)
    t = time.perf_counter()
    n = 100
    while time.perf_counter() - t < seconds_target:
        rod.advance(s, n)
        n *= 2
    return s.E.sum()


def _noop(i):
    return i


def throughput(workers: int, tasks: int, seconds: float) -> float:
    """Tasks per second for ``tasks`` CPU-bound tasks of ~``seconds`` s on ``workers`` processes."""
    client = ensemble.connect(workers=workers)
    try:
        client.submit(_rod_task, 0.05, 10**6, pure=False).result()  # compile / load caches on a worker
        client.run(_rod_task, 0.05, 10**6 + 1)  # ... and on every worker
        t = time.perf_counter()
        client.gather([client.submit(_rod_task, seconds, i, pure=False, retries=2) for i in range(tasks)])
        return tasks / (time.perf_counter() - t)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def overhead(n: int = 500) -> float:
    """Seconds per no-op task submitted the way sweeps submit (key, retries), one worker."""
    client = ensemble.connect(workers=1)
    try:
        client.submit(_noop, -1, pure=False).result()
        t = time.perf_counter()
        client.gather([client.submit(_noop, i, key=f"noop-{i}", pure=False, retries=2) for i in range(n)])
        return (time.perf_counter() - t) / n
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def main(quick: bool = False) -> str:
    tasks, seconds = (4, 1.0) if quick else (8, 2.0)
    one, two = throughput(1, tasks, seconds), throughput(2, tasks, seconds)
    per_task = overhead(100 if quick else 500)
    return "\n".join(
        [
            f"sweep throughput, {tasks} tasks of {seconds:g} s (1024-ring rod):",
            f"  1 worker:  {one:.3f} tasks/s",
            f"  2 workers: {two:.3f} tasks/s  -> {harness.ratio(two, one, 'sweep, 2 workers / 1', (0.5, 2.2)):.2f}x",
            f"scheduling overhead per task (no-op tasks, 1 worker): {per_task * 1e3:.1f} ms",
        ]
    )
