"""Benchmark of the multipole model: ``python -m sim bench multipole`` calls ``main``.

Cases (SiC, R = 100 nm, 300 K):

- converged conductance of two spheres at gaps R and 0.5R (automatic order, rtol 1e-4,
  empty cache): time of the order search and of the spectral integral, the order and the
  number of frequencies;
- converged conductance of the four-sphere drag geometry d = 3R, h = 5R;
- time per frequency vs order L for N = 2 (axial: m blocks) and N = 4 (planar: parity
  blocks), split into the translation matrices and the rest, against the floor: the bare
  batched LAPACK solve of the same blocks (numpy.linalg.solve on random well-conditioned
  systems of the same sizes);
- the twin (``transmission_reference.multipole_transmission``, dense, one frequency at a time) on a few
  frequencies, as a ratio;
- with Dask installed: the same four-sphere conductance at a fixed order (L = 6, quick: 3)
  with its spectra on a local cluster of 1 and of 2 single-threaded worker processes
  (``sim.radiative.distributed``), after a warm-up run on each, and the ratio of the two.

Timings are medians of ``repeats`` calls after a warm-up call (``sim.bench.harness``; treams'
tables and the per-order Gaunt tables are cached in memory on first use, so the warm-up
excludes them).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
import warnings

import numpy as np
from scipy import constants as sc

from sim.bench import harness
from sim.radiative import tmatrix, transmission_reference
from sim.radiative.network import Network

R = 100e-9


def _network(pos, **kw) -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Network(np.asarray(pos, float), R, "SiC", model="multipole", **kw)


def _drag_positions(d, h):
    return [[0, 0, 0], [d, 0, 0], [0, h, 0], [d, h, 0]]


def _converged(pos) -> tuple[float, float, int, int, float]:
    """(order search s, integral s, lmax, n_frequencies, G_01) with an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        net = _network(pos, cache_dir=cache)
        t_order = time.perf_counter() - t
        t = time.perf_counter()
        G = net.conductance(300.0)
        return t_order, time.perf_counter() - t, net.lmax, G.n_frequencies, float(G[0, 1])


def _per_frequency(pos, L: int, n: int, repeats: int) -> tuple[float, float, float]:
    """(total, translation, floor) seconds per frequency at order L."""
    net = _network(pos, lmax=L, cache=False)
    model = net._multipole
    omega = np.linspace(1.70e14, 1.80e14, n)
    total = harness.seconds(lambda: model.spectra(omega, False), repeats)
    cluster = model.cluster(L)
    trans = harness.seconds(lambda: cluster.translation_blocks(omega / sc.c), repeats)
    # the solves the model makes: one per symmetry block, or per irreducible block within it
    sizes = (
        [len(b) for b in cluster.blocks]
        if cluster.adapted[0] is None
        else [len(a[0]) for blk in cluster.adapted for a in blk]
    )
    rng = np.random.default_rng(0)
    systems = [
        (np.eye(m) + 0.1 * rng.standard_normal((n, m, m)) + 0j, rng.standard_normal((n, m, m)) + 0j) for m in sizes
    ]
    floor = harness.seconds(lambda: [np.linalg.solve(A, B) for A, B in systems], repeats)
    return total / n, trans / n, floor / n


def main(quick: bool = False) -> str:
    """Run the benchmark; return a printable table. ``quick``: a reduced smoke version."""
    repeats = 1 if quick else 3
    lines = [
        f"multipole benchmark ({'quick' if quick else 'full'}): SiC, R = 100 nm; "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "converged conductances at 300 K (automatic order, rtol 1e-4, empty cache):",
        f"{'case':<28} {'L':>3} {'n_omega':>8} {'order s':>8} {'integral s':>10} {'G_01 W/K':>12}",
    ]
    cases = [("2 spheres, gap R", [[0, 0, 0], [3 * R, 0, 0]])]
    if not quick:
        cases += [
            ("2 spheres, gap 0.5R", [[0, 0, 0], [2.5 * R, 0, 0]]),
            ("4 spheres, d = 3R, h = 5R", _drag_positions(3 * R, 5 * R)),
        ]
    for name, pos in cases:
        t_order, t_int, L, nf, G = _converged(pos)
        lines.append(f"{name:<28} {L:>3} {nf:>8} {t_order:>8.1f} {t_int:>10.1f} {G:>12.4e}")
    lines += [
        "time per frequency (ms) vs order: total, translation share, floor (bare batched solve of "
        "the same blocks), total/floor",
        f"{'N':>3} {'L':>3} {'modes':>6} {'total':>8} {'transl.':>8} {'floor':>8} {'total/floor':>12}",
    ]
    # the four-sphere orders reach L = 14, what the SiC drag map needs at d = 2.5R
    orders = {2: [2, 4] if quick else [2, 4, 6, 8, 10, 12], 4: [2, 4] if quick else [2, 4, 8, 10, 14]}
    for N, pos in ((2, [[0, 0, 0], [2.5 * R, 0, 0]]), (4, _drag_positions(3 * R, 5 * R))):
        for L in orders[N]:
            total, trans, floor = _per_frequency(pos, L, 16 if quick else 64, repeats)
            lines.append(
                f"{N:>3} {L:>3} {N * tmatrix.mode_count(L):>6} {1e3 * total:>8.2f} "
                f"{100 * trans / total:>7.0f}% {1e3 * floor:>8.3f} "
                f"{harness.ratio(total, floor, f'multipole N = {N}, L = {L}: total / solve floor', (1.0, 1e3)):>12.1f}"
            )
    net = _network(_drag_positions(3 * R, 5 * R), lmax=4, cache=False)
    omega = np.linspace(1.70e14, 1.80e14, 8)
    fast = harness.seconds(lambda: net._spectra(omega, False), repeats)
    twin = harness.seconds(lambda: transmission_reference.multipole_transmission(net, omega), 1)
    lines.append(
        "twin (dense, per frequency) / fast, N = 4, L = 4: "
        f"{harness.ratio(twin, fast, 'multipole twin / fast path', (1.0, 1e4)):.1f}"
    )
    lines += _cluster_scaling(3 if quick else 6, repeats)
    return "\n".join(lines)


def _cluster_seconds(client, L: int, repeats: int) -> float:
    """Median seconds of the four-sphere conductance at order L with its spectra on ``client``
    (a fresh network each time: nothing cached), after one untimed run (workers compile)."""
    from sim.radiative import distributed

    def once():
        net = _network(_drag_positions(3 * R, 5 * R), lmax=L, cache=False)
        with distributed.on_cluster(net, client, check=False):
            net.conductance(300.0)

    return harness.seconds(once, repeats)


def _cluster_scaling(L: int, repeats: int) -> list[str]:
    try:
        from sim.radiative import distributed

        one = distributed.connect(workers=1)
    except ValueError as exc:  # Dask not installed
        return [f"spectra on a Dask cluster: skipped ({exc})"]
    try:
        t1 = _cluster_seconds(one, L, repeats)
    finally:
        distributed.close(one)
    two = distributed.connect(workers=2)
    try:
        t2 = _cluster_seconds(two, L, repeats)
    finally:
        distributed.close(two)
    ratio = harness.ratio(t1, t2, "multipole spectra, 2 Dask workers / 1", (0.5, 2.2))
    return [
        f"spectra on a local Dask cluster (4 spheres, L = {L}, conductance at 300 K): 1 worker {t1:.2f} s, "
        f"2 workers {t2:.2f} s -> {ratio:.2f}x (single-threaded worker processes)"
    ]
