"""Error bars for correlated time series: block averaging and integrated autocorrelation time."""

from __future__ import annotations

import numpy as np


def block_average(x, min_blocks: int = 16) -> dict:
    """Mean of a correlated series with its standard error from block averaging.

    The series is halved repeatedly (Flyvbjerg & Petersen 1989): at each level the naive
    error of the block means is computed; the error estimate is the largest over the levels
    that still have at least ``min_blocks`` blocks (the plateau, conservatively). Returns
    {"mean", "stderr", "tau_int" (in samples), "n"}. x: 1-D array of samples.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 2:
        raise ValueError(f"block_average needs at least 2 samples; got {n}")
    mean = float(x.mean())
    var0 = float(x.var(ddof=1))
    best = np.sqrt(var0 / n)
    blocks = x
    while blocks.size // 2 >= min_blocks:
        m = blocks.size // 2
        blocks = 0.5 * (blocks[: 2 * m : 2] + blocks[1 : 2 * m : 2])
        best = max(best, float(np.sqrt(blocks.var(ddof=1) / blocks.size)))
    tau = 0.5 * best**2 * n / var0 if var0 > 0 else 0.5
    return {"mean": mean, "stderr": float(best), "tau_int": float(tau), "n": int(n)}


def rate_from_cumulative(t, q, t_start: float = 0.0, min_blocks: int = 16) -> dict:
    """Mean rate dq/dt after ``t_start`` from a cumulative record q(t), with block-averaged error.

    t, q: (n,) times and cumulative values (uniform sampling assumed). The mean is exact
    (end-point difference); the error comes from the per-interval rates.
    """
    t = np.asarray(t, float)
    q = np.asarray(q, float)
    keep = t >= t_start
    t, q = t[keep], q[keep]
    if t.size < 3:
        raise ValueError(f"rate_from_cumulative needs at least 3 samples after t_start = {t_start}; got {t.size}")
    rates = np.diff(q) / np.diff(t)
    ba = block_average(rates, min_blocks=min_blocks)
    ba["mean"] = float((q[-1] - q[0]) / (t[-1] - t[0]))
    return ba
