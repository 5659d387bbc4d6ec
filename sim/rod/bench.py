"""``python -m sim bench rod``: throughput of the rod kernel as ratios, not absolute claims.

For N rings it measures ring-steps per second of (a) the Numba kernel, (b) its NumPy twin,
(c) a floor loop that evaluates one sin per link-step in Numba and nothing else, then the
ratios a/b and cost(a)/cost(c) per link-step; and the aggregate throughput of two replicas
run side by side in two processes against one. Super rods with reservoir noise (the
default physics); normal rods with conduction noise cost more (one Philox block per link-step).
"""

from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np

from sim.rod import kernels
from sim.rod.model import RodParams
from sim.rod.reference import advance_reference
from sim.rod.system import Rod


def _params(N, kind="super", seed=0):
    if kind == "super":
        return RodParams(N=N, K=5.0, noise=True, seed=seed)
    return RodParams(N=N, K=0.0, g=0.5, noise=True, seed=seed)


def _rate(fn, work, min_time=0.5):
    """Work units per second of ``fn(n)`` (n repetitions), growing n until it runs >= min_time."""
    n = 1
    while True:
        t = time.perf_counter()
        fn(n)
        dt = time.perf_counter() - t
        if dt >= min_time:
            return n * work / dt
        n = max(2 * n, int(n * 1.2 * min_time / max(dt, 1e-9)))


def kernel_rate(N, kind="super", min_time=0.5, seed=0):
    rod = Rod(_params(N, kind, seed))
    s = rod.initial_state()
    rod.advance(s, 1)  # compile / load the cache
    return _rate(lambda n: rod.advance(s, n), N, min_time)


def twin_rate(N, kind="super", min_time=0.5):
    rod = Rod(_params(N, kind))
    s = rod.initial_state()
    return _rate(lambda n: advance_reference(rod, s, n), N, min_time)


def floor_rate(N, min_time=0.5):
    phi = np.linspace(0.0, 1.0, N - 1)
    kernels.sin_floor(phi, 1)
    return _rate(lambda n: kernels.sin_floor(phi, n), N - 1, min_time)


def _replica(args):
    N, seed, nsteps = args
    rod = Rod(_params(N, seed=seed))
    s = rod.initial_state()
    rod.advance(s, 1)
    t = time.perf_counter()
    rod.advance(s, nsteps)
    return N * nsteps / (time.perf_counter() - t)


def _python_burn(n):
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i % 7
    return n / (time.perf_counter() - t)


def machine_parallel_control(n=3_000_000, workers=2):
    """The same two-process test on a pure-Python loop: how many cores the machine really gives."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        both = sum(pool.map(_python_burn, [n] * workers))
    return both / _python_burn(n)


def replica_scaling(N=1024, nsteps=20_000, workers=2):
    """(aggregate ring-steps/s of ``workers`` replicas in parallel processes) / (one replica)."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        single = pool.map(_replica, [(N, 0, nsteps)])[0]
    with ctx.Pool(workers) as pool:
        rates = pool.map(_replica, [(N, i, nsteps) for i in range(workers)])
    return single, sum(rates)


def main(quick: bool = False) -> str:
    sizes = (64, 1024) if quick else (64, 1024, 16384)
    min_time = 0.2 if quick else 1.0
    lines = ["rod kernel benchmark (ring-steps/s; link-steps/s for the floor)",
             f"{'N':>6} {'kind':>7} {'numba':>12} {'numpy twin':>12} {'sin floor':>12} {'numba/twin':>11} {'cost/floor':>11}"]
    for N in sizes:
        floor = floor_rate(N, min_time)
        for kind in ("super", "normal"):
            a = kernel_rate(N, kind, min_time)
            b = twin_rate(N, kind, min_time if N < 16384 else 0.3)
            # cost per link-step relative to the floor's: (N-1)/a over (N-1)/floor
            lines.append(f"{N:>6} {kind:>7} {a:>12.3e} {b:>12.3e} {floor:>12.3e} {a / b:>11.1f} {floor / a * (N - 1) / N:>11.2f}")
    single, both = replica_scaling(1024, 5_000 if quick else 40_000)
    lines.append(f"two replicas (N=1024, super) in two processes: {both:.3e} vs one {single:.3e} ring-steps/s "
                 f"-> {both / single:.2f}x")
    lines.append(f"control, pure-Python loop in two processes vs one: {machine_parallel_control():.2f}x "
                 "(what this machine's cores allow)")
    return "\n".join(lines)
