"""``python -m sim bench rod [--json FILE]``: throughput of the rod kernel as ratios, not absolute claims.

Single rods of N rings: ring-steps per second of (a) the Numba kernel, (b) its NumPy twin,
(c) a floor loop that evaluates one sin per link-step in Numba and nothing else, then the
ratios a/b and cost(a)/cost(c) per link-step. Batches: R replicas of a small rod in one
kernel call (replicas the innermost, vector axis), against the sin floor and a second floor,
``kernels.muladd_floor``: the kernel's count of multiply-adds per ring-step with no
dependence between elements, what vector units could do if nothing else cost. Then the
aggregate throughput of two single rods, and of two batches, in two processes against one,
beside the same test on a pure-Python loop (what the machine's cores really give). Super
rods carry reservoir noise (the default physics); normal rods conduction noise on every
link-step (one Philox block and a Box-Muller pair per link-step: scalar libm calls).

Every rate is the median of three timed calls of at least ``min_time`` seconds each, after a
warm-up call (``sim.bench.harness``: compilation and cache load excluded); ``measure``
returns them all, ``report`` prints them.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

from sim.bench import harness
from sim.rod import kernels
from sim.rod.model import RodParams
from sim.rod.reference import advance_reference
from sim.rod.system import Rod


def _params(N, kind="super", seed=0):
    if kind == "super":
        return RodParams(N=N, K=5.0, noise=True, seed=seed)
    return RodParams(N=N, K=0.0, g=0.5, noise=True, seed=seed)


def kernel_rate(N: int, kind: str = "super", min_time: float = 0.5, seed: int = 0, replicas: int = 1) -> float:
    """Ring-steps per second (all replicas together) of ``replicas`` rods in one kernel call."""
    rod = Rod(_params(N, kind, seed), seeds=range(seed, seed + replicas))
    s = rod.initial_state()
    return harness.rate(lambda n: rod.advance(s, n), N * replicas, min_time)


def twin_rate(N: int, kind: str = "super", min_time: float = 0.5) -> float:
    rod = Rod(_params(N, kind))
    s = rod.initial_state()
    return harness.rate(lambda n: advance_reference(rod, s, n), N, min_time)


def floor_rate(N: int, min_time: float = 0.5) -> float:
    """Link-steps per second of the sin floor."""
    phi = np.linspace(0.0, 1.0, N - 1)
    return harness.rate(lambda n: kernels.sin_floor(phi, n), N - 1, min_time)


def muladd_floor_rate(elements: int, min_time: float = 0.5) -> float:
    """Element-steps per second of the multiply-add floor over ``elements`` independent elements."""
    x = np.linspace(0.5, 1.0, elements)
    return harness.rate(lambda n: kernels.muladd_floor(x, n), elements, min_time)


def _batch_task(args):
    N, replicas, seed, nsteps = args
    rod = Rod(_params(N, seed=seed), seeds=range(seed, seed + replicas))
    s = rod.initial_state()
    rod.advance(s, 1)
    t = time.perf_counter()
    rod.advance(s, nsteps)
    return N * replicas * nsteps / (time.perf_counter() - t)


def _python_burn(n):
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i % 7
    return n / (time.perf_counter() - t)


def machine_parallel_control(n: int = 3_000_000, workers: int = 2) -> float:
    """The same two-process test on a pure-Python loop: how many cores the machine really gives."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        both = sum(pool.map(_python_burn, [n] * workers))
    return both / _python_burn(n)


def process_scaling(N: int = 1024, replicas: int = 1, nsteps: int = 20_000, workers: int = 2) -> tuple[float, float]:
    """(one process's ring-steps/s, the aggregate of ``workers`` processes) for rods (or
    batches of ``replicas``) of N rings, each process its own seeds."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        single = pool.map(_batch_task, [(N, replicas, 0, nsteps)])[0]
    with ctx.Pool(workers) as pool:
        rates = pool.map(_batch_task, [(N, replicas, 1000 * i, nsteps) for i in range(workers)])
    return single, sum(rates)


def _per_link_step(floor, rate, N):
    """Cost of a link-step of the kernel (N rings at ``rate`` ring-steps/s: N / (rate (N-1)) s)
    over that of the sin floor (1 / floor s)."""
    return floor * N / (rate * (N - 1))


_VECTOR_PROBE = """
import sys
import llvmlite.binding as llvm
llvm.set_option("", "--pass-remarks=loop-vectorize")
llvm.set_option("", "--pass-remarks-missed=loop-vectorize")
from sim.rod import kernels
from sim.rod.model import RodParams
from sim.rod.system import ARRAY_FIELDS, Rod
rod = Rod(RodParams(N=8, K=5.0, g=0.5, noise=True), seeds=range(4))
state = rod.initial_state()
a = kernels.RodArrays(*(getattr(state, f).reshape(-1) for f in ARRAY_FIELDS))
c, s = rod.constants, rod.scratch
for name, call in (
        ("coherent step", lambda: kernels._coherent(a, c, s)),
        ("conduction", lambda: kernels._conduction(a.E, a.link_heat, c, s, 0.1, 0, True)),
        ("reservoir draws", lambda: kernels._reservoir_draws(c.k0, c.k1, 0, 0, 0, s.z_bath, s.z_gamma, s.u_gamma))):
    sys.stderr.write(f"@@ {name}\\n")
    sys.stderr.flush()
    call()
"""


def vectorisation() -> dict:
    """Which loops of the hot sub-steps LLVM vectorised: the loop vectoriser's remarks while the
    coherent step and the conduction compile afresh (a new Numba cache), per function:
    {"vectorized": [widths], "not vectorized": count} (the scalar remainder of a vectorised loop
    counts as not vectorised). ``python -c "from sim.bench.rod import vectorisation;
    print(vectorisation())"``."""
    with tempfile.TemporaryDirectory() as cache:
        env = os.environ | {"NUMBA_CACHE_DIR": cache}
        res = subprocess.run(
            [sys.executable, "-c", _VECTOR_PROBE], capture_output=True, text=True, env=env, timeout=600
        )
    out, current = {}, None
    for line in res.stderr.splitlines():
        if line.startswith("@@ "):
            current = out.setdefault(line[3:], {"vectorized": [], "not vectorized": 0})
        elif current is not None and "remark" in line:
            width = re.search(r"vectorized loop \(vectorization width: (\d+)", line)
            if width:
                current["vectorized"].append(int(width[1]))
            elif "loop not vectorized" in line:
                current["not vectorized"] += 1
    return out


def measure(quick: bool = False) -> dict:
    """Every figure of the benchmark (rates per second; costs relative to the floors)."""
    sizes = (64, 1024) if quick else (64, 1024, 16384)
    min_time = 0.2 if quick else 1.0
    out = {
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": mp.cpu_count(),
        },
        "muladds_per_ring_step": kernels.MULADDS_PER_RING_STEP,
        "single": [],
        "batched": [],
    }
    for N in sizes:
        floor = floor_rate(N, min_time)
        for kind in ("super", "normal"):
            a = kernel_rate(N, kind, min_time)
            b = twin_rate(N, kind, min_time if N < 16384 else 0.3)
            out["single"].append(
                {
                    "N": N,
                    "kind": kind,
                    "ring_steps_per_s": a,
                    "twin_ring_steps_per_s": b,
                    "sin_floor_link_steps_per_s": floor,
                    "over_twin": harness.ratio(a, b, f"rod kernel / NumPy twin, N = {N} {kind}", plausible=(1.0, 1e4)),
                    "cost_over_sin_floor": _per_link_step(floor, a, N),
                }
            )
    R = 16 if quick else 64
    for N in (16, 64):
        floor = floor_rate(N, min_time)
        muladd = muladd_floor_rate(N * R, min_time)
        for kind in ("super", "normal"):
            one = kernel_rate(N, kind, min_time)
            a = kernel_rate(N, kind, min_time, replicas=R)
            out["batched"].append(
                {
                    "N": N,
                    "replicas": R,
                    "kind": kind,
                    "ring_steps_per_s": a,
                    "single_ring_steps_per_s": one,
                    "speedup_over_single": a / one,
                    "sin_floor_link_steps_per_s": floor,
                    "cost_over_sin_floor": _per_link_step(floor, a, N),
                    "muladd_floor_ring_steps_per_s": muladd,
                    "cost_over_muladd_floor": muladd / a,
                }
            )
    single, both = process_scaling(1024, 1, 5_000 if quick else 40_000)
    out["two_processes_single"] = {"N": 1024, "one": single, "two": both, "ratio": both / single}
    single, both = process_scaling(64, R, 500 if quick else 4_000)
    out["two_processes_batched"] = {"N": 64, "replicas": R, "one": single, "two": both, "ratio": both / single}
    out["two_processes_python_control"] = machine_parallel_control()
    out["vectorisation"] = vectorisation()
    return out


def report(m: dict) -> str:
    lines = [
        "rod kernel benchmark (ring-steps/s; link-steps/s for the sin floor)",
        f"{'N':>6} {'kind':>7} {'numba':>12} {'numpy twin':>12} {'sin floor':>12} {'numba/twin':>11} "
        f"{'cost/floor':>11}",
    ]
    for r in m["single"]:
        lines.append(
            f"{r['N']:>6} {r['kind']:>7} {r['ring_steps_per_s']:>12.3e} {r['twin_ring_steps_per_s']:>12.3e} "
            f"{r['sin_floor_link_steps_per_s']:>12.3e} {r['over_twin']:>11.1f} {r['cost_over_sin_floor']:>11.2f}"
        )
    lines += [
        "",
        f"batches of replicas in one kernel call (muladd floor: {m['muladds_per_ring_step']} multiply-adds "
        "per ring-step, elements independent)",
        f"{'N':>6} {'R':>4} {'kind':>7} {'numba':>12} {'vs single':>10} {'cost/sin':>9} {'cost/muladd':>12}",
    ]
    for r in m["batched"]:
        lines.append(
            f"{r['N']:>6} {r['replicas']:>4} {r['kind']:>7} {r['ring_steps_per_s']:>12.3e} "
            f"{r['speedup_over_single']:>9.2f}x {r['cost_over_sin_floor']:>9.2f} {r['cost_over_muladd_floor']:>12.2f}"
        )
    s, b = m["two_processes_single"], m["two_processes_batched"]
    lines += [
        "",
        f"two single rods (N={s['N']}, super) in two processes: {s['two']:.3e} vs one {s['one']:.3e} "
        f"ring-steps/s -> {s['ratio']:.2f}x",
        f"two batches (N={b['N']}, R={b['replicas']}, super) in two processes: {b['two']:.3e} vs one "
        f"{b['one']:.3e} ring-steps/s -> {b['ratio']:.2f}x",
        f"control, pure-Python loop in two processes vs one: {m['two_processes_python_control']:.2f}x "
        "(what this machine's cores allow)",
        "",
        "loops LLVM vectorised (loop-vectorize remarks, fresh compile):",
    ]
    for name, v in m["vectorisation"].items():
        widths = ", ".join(str(w) for w in v["vectorized"]) or "none"
        lines.append(
            f"  {name}: {len(v['vectorized'])} vectorised (widths {widths}), {v['not vectorized']} not "
            "(scalar remainders, RNG and branch loops)"
        )
    return "\n".join(lines)


def main(quick: bool = False) -> str:
    return report(measure(quick))
