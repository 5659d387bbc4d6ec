"""Benchmarks, ``python -m sim bench NAME [--quick] [--json FILE]``: ratios against the NumPy
twins and against stated floors, never absolute claims.

One module per benchmark, each with ``main(quick) -> str`` (a printable table) and, where it
can write every figure as JSON, ``measure(quick) -> dict`` and ``report(dict) -> str``. All
time through ``sim.bench.harness``: a warm-up call first (compilation and caches excluded),
repeats, the median, and a check that flags an implausible ratio.
"""

#: benchmark name -> module
BENCHES = {
    "rod": "sim.bench.rod",
    "spectra": "sim.bench.spectra",
    "network": "sim.bench.network",
    "multipole": "sim.bench.multipole",
    "sweep": "sim.bench.sweep",
}
