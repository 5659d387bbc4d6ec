"""Error bars for correlated time series: block averaging and integrated autocorrelation time."""

from __future__ import annotations

import numpy as np


def block_average(x, min_blocks: int = 32) -> dict:
    """Mean of a correlated series with its standard error from block averaging.

    The series is halved repeatedly (Flyvbjerg & Petersen 1989); at each level k the naive
    error se_k of the block means has its own uncertainty se_k / sqrt(2 (n_k - 1)). The
    estimate is the first level whose successor is no larger within that uncertainty (the
    plateau); if none is reached while at least ``min_blocks`` blocks remain, the last level
    is used and "converged" is False. Returns {"mean", "stderr", "tau_int" (in samples,
    var(mean) = 2 tau_int var(x) / n), "n", "converged"}. x: 1-D array of samples.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 2:
        raise ValueError(f"block_average needs at least 2 samples; got {n}")
    var0 = float(x.var(ddof=1))
    levels = []
    blocks = x
    while blocks.size >= min_blocks or not levels:
        levels.append((float(np.sqrt(blocks.var(ddof=1) / blocks.size)), blocks.size))
        m = blocks.size // 2
        if m < 2:
            break
        blocks = 0.5 * (blocks[: 2 * m : 2] + blocks[1 : 2 * m : 2])
    stderr, converged = levels[-1][0], False
    for (se, nb), (se_next, _) in zip(levels, levels[1:]):
        if se_next <= se * (1.0 + 1.0 / np.sqrt(2.0 * (nb - 1))):
            stderr, converged = max(se, se_next), True
            break
    tau = 0.5 * stderr**2 * n / var0 if var0 > 0 else 0.5
    return {"mean": float(x.mean()), "stderr": stderr, "tau_int": float(tau), "n": int(n), "converged": converged}


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
