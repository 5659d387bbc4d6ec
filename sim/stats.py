"""Error bars for correlated time series (block averaging), cross-correlations, and small fits
(least squares, growth rates, peak times)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def block_average(x: ArrayLike, min_blocks: int = 32) -> dict:
    """Mean of a correlated series with its standard error from block averaging.

    The series is halved repeatedly (Flyvbjerg & Petersen 1989); at each level k the naive
    error se_k of the block means has its own uncertainty se_k / sqrt(2 (n_k - 1)). The
    estimate is the first level whose successor is no larger within that uncertainty (the
    plateau); if none is reached while at least ``min_blocks`` blocks remain, the last level
    is used and "converged" is False.

    Parameters
    ----------
    x : array_like of shape (n,)
        1-D array of samples, n >= 2.
    min_blocks : int
        The fewest blocks a level may have (the first level, the samples, is always used).

    Returns
    -------
    dict
        "mean"; "stderr" (standard error of the mean); "tau_int" (in samples,
        var(mean) = 2 tau_int var(x) / n); "n" (samples); "converged" (bool: a plateau was found).

    Raises
    ------
    ValueError
        If x has fewer than 2 samples.
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


def rate_from_cumulative(t: ArrayLike, q: ArrayLike, t_start: float = 0.0, min_blocks: int = 16) -> dict:
    """Mean rate dq/dt after ``t_start`` from a cumulative record q(t), with block-averaged error.

    The mean is exact (end-point difference); the error comes from the per-interval rates
    (``block_average`` of diff(q) / diff(t)).

    Parameters
    ----------
    t : array_like of shape (n,)
        Times (uniform sampling assumed).
    q : array_like of shape (n,)
        Cumulative values at those times, e.g. the heat ``Q_L`` a reservoir has put in.
    t_start : float
        Only the samples with t >= t_start are used.
    min_blocks : int
        Passed to ``block_average``.

    Returns
    -------
    dict
        "mean" (q units per t unit): (q[-1] - q[0]) / (t[-1] - t[0]) over the samples used;
        "stderr" of the mean; "tau_int" (in intervals), "n" (intervals) and "converged", as
        ``block_average`` gives them for the per-interval rates.

    Raises
    ------
    ValueError
        If fewer than 3 samples have t >= t_start.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(100.0)
    >>> rate_from_cumulative(t, 2.0 * t)["mean"]
    2.0
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


def least_squares(X: ArrayLike, y: ArrayLike) -> dict:
    """Ordinary least squares y ~ X @ coef with the coefficients' standard errors.

    X: (n, p) design matrix, y: (n,) data, n > p. The errors are sqrt(diag(s^2 (X^T X)^-1)),
    s^2 the residual variance with n - p degrees of freedom: for deterministic data they
    measure how well the model describes it (the residuals are systematic, not noise).
    Returns {"coef" (p,), "stderr" (p,), "residual_rms"}.
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    n, p = X.shape
    if n <= p:
        raise ValueError(f"least_squares needs more points than parameters; got {n} points for {p} parameters")
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    s2 = float(resid @ resid) / (n - p)
    cov = s2 * np.linalg.inv(X.T @ X)
    return {"coef": coef, "stderr": np.sqrt(np.diag(cov)), "residual_rms": float(np.sqrt(np.mean(resid**2)))}


def exponential_growth_rate(t: ArrayLike, amplitude: ArrayLike, low: float, high: float) -> dict:
    """Rate gamma of amplitude ~ exp(gamma t), fitted to log(amplitude) where low <= amplitude <= high.

    t, amplitude: (n,) times and positive amplitudes. Uses the first contiguous run of
    samples inside the window (the growth phase). Returns {"rate", "stderr", "t_start",
    "t_end", "n", "log_amplitude0"} (rate in 1/time; log_amplitude0 the fitted log
    amplitude at t = 0).
    """
    t = np.asarray(t, float)
    a = np.asarray(amplitude, float)
    inside = (a >= low) & (a <= high)
    if not inside.any():
        raise ValueError(f"no amplitude inside the fit window [{low:.3g}, {high:.3g}]")
    first = int(np.argmax(inside))
    last = first + int(np.argmin(inside[first:])) if not inside[first:].all() else a.size
    sel = slice(first, last)
    fit = least_squares(np.column_stack([t[sel], np.ones(last - first)]), np.log(a[sel]))
    return {
        "rate": float(fit["coef"][0]),
        "stderr": float(fit["stderr"][0]),
        "t_start": float(t[first]),
        "t_end": float(t[last - 1]),
        "n": last - first,
        "log_amplitude0": float(fit["coef"][1]),
    }


def peak_times(t: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Time of the maximum of each column of y, refined by a parabola through the three samples
    around it (exact for a locally quadratic peak). t: (n,) uniform times, y: (n, m). Returns (m,).
    Raises ValueError where the maximum sits on the first or last sample (not resolved)."""
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    k = np.argmax(y, axis=0)
    if np.any((k == 0) | (k == y.shape[0] - 1)):
        col = int(np.argmax((k == 0) | (k == y.shape[0] - 1)))
        raise ValueError(f"the maximum of column {col} is on the edge of the record; allowed: a peak inside it")
    cols = np.arange(y.shape[1])
    ym, y0, yp = y[k - 1, cols], y[k, cols], y[k + 1, cols]
    shift = 0.5 * (ym - yp) / (ym - 2.0 * y0 + yp)
    return t[k] + shift * (t[1] - t[0])


def cross_correlation(x: ArrayLike, y: ArrayLike, max_lag: int) -> np.ndarray:
    """c(k) = mean_t x_t y_{t+k} for k = 0 .. max_lag (in samples), each lag averaged over its
    n - k overlapping pairs (FFT-based, linear not circular). x, y: (n,) series (deviations:
    no mean is removed). Returns (max_lag + 1,)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = x.size
    if y.size != n or not 0 <= max_lag < n:
        raise ValueError(
            f"cross_correlation: x, y of equal length n = {n} and 0 <= max_lag < n; got {y.size}, {max_lag}"
        )
    from scipy.signal import correlate  # scipy.signal costs 0.4 s to import: only where it is used

    c = correlate(y, x, mode="full", method="fft")[n - 1 : n + max_lag]
    return c / (n - np.arange(max_lag + 1))
