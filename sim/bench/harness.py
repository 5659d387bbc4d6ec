"""The one timing harness of the benchmarks.

``rate`` and ``seconds`` call the function once untimed (Numba compilation, cache loads,
first-touch allocations: the 490475x "speed-up" a twin once showed was its first call being
timed), then time ``repeats`` calls and return the median: one disturbed run (this shared
2-core machine swings under load) moves the median little. ``ratio`` divides two figures and
warns (``ImplausibleRatio``) when the quotient leaves the range a benchmark states as
plausible, so a harness bug shows up as a warning on the report instead of a headline.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable


class ImplausibleRatio(UserWarning):
    """A benchmark ratio outside the range its benchmark calls plausible: suspect the harness."""


def rate(fn: Callable[[int], object], work: float = 1.0, min_time: float = 0.5, repeats: int = 3) -> float:
    """Work units per second of ``fn(n)`` (n repetitions of ``work`` units each): after a
    warm-up ``fn(1)``, n grows until one call lasts >= ``min_time`` s, then the median rate of
    ``repeats`` calls of ``fn(n)``."""
    fn(1)
    n = 1
    while True:
        t = time.perf_counter()
        fn(n)
        dt = time.perf_counter() - t
        if dt >= min_time:
            break
        n = max(2 * n, int(n * 1.2 * min_time / max(dt, 1e-9)))
    rates = [n * work / dt]
    for _ in range(repeats - 1):
        t = time.perf_counter()
        fn(n)
        rates.append(n * work / (time.perf_counter() - t))
    return statistics.median(rates)


def seconds(fn: Callable[[], object], repeats: int = 3, warm_up: bool = True) -> float:
    """Median wall time (s) of ``repeats`` calls of ``fn()``, after one untimed call (skip it
    with ``warm_up=False`` when the first call is what is measured, e.g. with an empty cache)."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def ratio(numerator: float, denominator: float, what: str, plausible: tuple = (1e-3, 1e4)) -> float:
    """numerator / denominator; warns ``ImplausibleRatio`` naming ``what`` outside ``plausible``."""
    value = numerator / denominator
    lo, hi = plausible
    if not lo <= value <= hi:
        warnings.warn(
            f"{what} = {value:.4g} is outside the plausible range [{lo:g}, {hi:g}]: check the "
            "benchmark harness before believing it",
            ImplausibleRatio,
            stacklevel=2,
        )
    return value
