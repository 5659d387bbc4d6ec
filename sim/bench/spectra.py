"""Benchmark of the spectral engine: ``python -m sim bench spectra`` calls ``main``.

Cases (InSb at B = 1 T, R = 100 nm, a jittered cubic lattice of spacing 400 nm: the
general gyrotropic tensor path):

- all T_ij for N = 8 on 20 000 frequencies, N = 64 on 2 000, N = 512 on 50;
  timed for the fast path (``Network.transmission``), its NumPy twin
  (``transmission_reference.transmission``, one frequency per iteration; on a subset of the frequencies
  for N >= 64, scaled up) and the floor: numpy.linalg.solve alone on the same stacked
  systems (same chunks, assembly untimed);
- peak resident memory of the N = 512 fast path (separate process, ru_maxrss);
- the conductance of two SiC spheres (R = 100 nm, d = 500 nm) at 300 K to rtol 1e-4 with
  an empty cache, checked against rtol 1e-9.

Timings are medians of ``repeats`` calls after a warm-up call (``sim.bench.harness``); the
twin, seconds per call at N >= 64, is timed once after its warm-up.
"""

from __future__ import annotations

import ctypes
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial

import numpy as np
from scipy import constants as sc

from sim.bench import harness
from sim.radiative import transmission_kernels, transmission_reference
from sim.radiative.network import Network

FULL_CASES = [(8, 20000), (64, 2000), (512, 50)]
QUICK_CASES = [(8, 2000), (64, 100), (128, 4)]


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory: on this VM re-faulting returned pages costs seconds
    per GiB, which would make every timing depend on allocation history."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 2**30)  # M_MMAP_THRESHOLD: big arrays from the heap
        libc.mallopt(-1, 2**31 - 1)  # M_TRIM_THRESHOLD: never give the heap back
    except OSError:
        pass


def lattice_network(N: int, B: float = 1.0) -> Network:
    """N InSb spheres (R = 100 nm) on a jittered cubic lattice, spacing 400 nm."""
    rng = np.random.default_rng(0)
    n = int(np.ceil(N ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)[:N]
    pos = grid * 400e-9 + rng.uniform(-20e-9, 20e-9, (N, 3))
    return Network(pos, 100e-9, "InSb", B=B, cache=False, model="dipole")


def _floor_time(net: Network, omega: np.ndarray) -> float:
    """numpy.linalg.solve alone on the stacked (chunk, 3N, 3N) systems of the fast path."""
    m = 3 * net.N
    step = net._chunk_size(5)
    total = 0.0
    for s in range(0, len(omega), step):
        w = omega[s : s + step]
        alpha, _, _ = net.particle_response(w)
        G = np.empty((len(w), m, m), dtype=complex)
        M = np.empty_like(G)
        transmission_kernels.assemble_system(w / sc.c, net.positions, alpha, G, M)
        t = time.perf_counter()
        np.linalg.solve(M, G)
        total += time.perf_counter() - t
    return total


def _peak_rss_mib(N: int, n: int) -> float:
    """Peak RSS (MiB) of a fresh process that computes T for N particles on n frequencies."""
    code = (
        "import resource, numpy as np; from sim.bench.spectra import lattice_network; "
        f"lattice_network({N}).transmission(np.linspace(1e13, 3e14, {n})); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.split()[-1])


def _sic_pair_conductance() -> tuple[float, float, float, float]:
    """(time s, G W/K, stated rel. error, actual rel. error vs rtol 1e-9) with an empty cache."""
    pos = [[0, 0, 0], [500e-9, 0, 0]]
    with tempfile.TemporaryDirectory() as tmp:
        net = Network(pos, 100e-9, "SiC", cache_dir=tmp, model="dipole")
        t = time.perf_counter()
        G = net.conductance(300.0, rtol=1e-4)
        elapsed = time.perf_counter() - t
    exact = Network(pos, 100e-9, "SiC", cache=False, model="dipole").conductance(300.0, rtol=1e-9)
    return elapsed, float(G[0, 1]), G.rel_error, abs(G[0, 1] / exact[0, 1] - 1)


def main(quick: bool = False) -> str:
    """Run the benchmark; return a printable table. ``quick`` runs a reduced smoke version."""
    _keep_freed_memory()
    cases = QUICK_CASES if quick else FULL_CASES
    repeats = 1 if quick else 3
    lattice_network(2).transmission(np.array([1e14, 2e14]))  # compile / load the numba cache
    rows = []
    for N, n in cases:
        net = lattice_network(N)
        omega = np.linspace(1e13, 3e14, n)
        fast = harness.seconds(partial(net.transmission, omega), repeats)
        _floor_time(net, omega)  # warm-up
        floor = statistics.median(_floor_time(net, omega) for _ in range(repeats))
        # the twin costs the same per frequency at every frequency: time a subset when large
        n_twin = n if N <= 8 else max(2, n // (10 if N <= 64 else 25))
        twin = harness.seconds(partial(transmission_reference.transmission, net, omega[:n_twin]), 1) * n / n_twin
        rows.append((N, n, fast, twin, floor))
    lines = [
        f"spectra benchmark ({'quick' if quick else 'full'}): all T_ij, InSb at B = 1 T; "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        f"{'N':>5} {'n_omega':>8} {'fast s':>9} {'twin s':>9} {'twin/fast':>10} {'floor s':>9} {'fast/floor':>11}",
    ]
    for N, n, fast, twin, floor in rows:
        over_twin = harness.ratio(twin, fast, f"spectra twin / fast path, N = {N}", plausible=(1.0, 1e4))
        over_floor = harness.ratio(fast, floor, f"spectra fast path / solve floor, N = {N}", plausible=(1.0, 100.0))
        lines.append(f"{N:>5} {n:>8} {fast:>9.3f} {twin:>9.3f} {over_twin:>10.1f} {floor:>9.3f} {over_floor:>11.2f}")
    N_mem, n_mem = cases[-1]
    lines.append(f"peak RSS, fast path N = {N_mem} on {n_mem} frequencies: {_peak_rss_mib(N_mem, n_mem):.0f} MiB")
    t, G, stated, actual = _sic_pair_conductance()
    lines.append(
        f"SiC pair R = 100 nm, d = 500 nm, 300 K: G = {G:.6e} W/K in {t:.3f} s "
        f"(stated rel. error {stated:.1e}, actual {actual:.1e}; empty cache)"
    )
    if any(N > 8 for N, _ in cases):
        lines.append("twin times for N >= 64 are measured on a subset of the frequencies and scaled")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
