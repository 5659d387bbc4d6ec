"""Input checks that fail early with a message naming the parameter, its value and the allowed range."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def _describe(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(arr.item())
    return f"array of shape {arr.shape}"


def check_finite(name: str, value: ArrayLike) -> np.ndarray:
    """Return ``value`` as a float array; raise ValueError if any entry is NaN or infinite."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        bad = float(arr[~np.isfinite(arr)].ravel()[0])
        raise ValueError(f"{name} = {_describe(value)} contains {bad!r}; allowed: finite numbers")
    return arr


def check_range(
    name: str,
    value: ArrayLike,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = False,
    high_inclusive: bool = True,
    unit: str = "",
) -> np.ndarray:
    """Check ``low < value <= high`` elementwise (inclusivity configurable); return a float array.

    The error message names the parameter, the offending value and the allowed range, e.g.
    ``ValueError: C = -1.0 is out of range; allowed: C > 0``.
    """
    arr = check_finite(name, value)
    ok = np.ones(arr.shape, dtype=bool)
    parts = []
    u = f" {unit}" if unit else ""
    if low is not None:
        ok &= (arr >= low) if low_inclusive else (arr > low)
        parts.append(f"{name} {'>=' if low_inclusive else '>'} {low:g}{u}")
    if high is not None:
        ok &= (arr <= high) if high_inclusive else (arr < high)
        parts.append(f"{name} {'<=' if high_inclusive else '<'} {high:g}{u}")
    if not np.all(ok):
        bad = arr[~ok].ravel()[0]
        shown = repr(float(bad)) if arr.ndim == 0 else f"{float(bad)!r} (in {_describe(value)})"
        raise ValueError(f"{name} = {shown} is out of range; allowed: {' and '.join(parts)}")
    return arr


def check_positive(name: str, value: ArrayLike, unit: str = "") -> np.ndarray:
    """Check ``value > 0`` elementwise and finite."""
    return check_range(name, value, low=0.0, unit=unit)


def check_int(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """Check that ``value`` is an integer within ``[low, high]``; return it as int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(
                f"{name} = {value!r} is not an integer; allowed: integers" + (f" >= {low}" if low is not None else "")
            )
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        rng = " and ".join(
            p
            for p in (
                (f"{name} >= {low}" if low is not None else ""),
                (f"{name} <= {high}" if high is not None else ""),
            )
            if p
        )
        raise ValueError(f"{name} = {value} is out of range; allowed: {rng}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{name} = {value!r} is unknown; allowed: {', '.join(map(repr, choices))}")
    return value


def machine_memory_bytes() -> int:
    """Physical memory of this machine (bytes)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def check_fits_in_memory(name: str, count: int, bytes_each: float, what: str, fraction: float = 0.5) -> int:
    """Refuse a ``count`` of ``what`` whose arrays (``bytes_each`` per item) would need more than
    ``fraction`` of this machine's memory; the message names the largest count that fits."""
    limit = int(fraction * machine_memory_bytes() / bytes_each)
    if count > limit:
        raise ValueError(
            f"{name} = {count} {what} would need {count * bytes_each / 2**30:.3g} GiB; allowed: "
            f"{name} <= {limit} on this machine ({machine_memory_bytes() / 2**30:.0f} GiB)"
        )
    return count


def check_step_count(nsteps: float, dt: float, limit: float = 1e13) -> int:
    """Refuse a run of more than ``limit`` steps (1e13: about a month at 4e6 steps/s), naming dt."""
    if not nsteps <= limit:
        raise ValueError(
            f"the configuration implies {nsteps:.3g} time steps (dt = {dt!r}); allowed: at most "
            f"{limit:.0e} steps: raise dt or shorten the run"
        )
    return int(nsteps)
