"""Spectral integrals over frequency: Planck weights, adaptive Gauss-Kronrod, disk cache.

The transmissions T(w) do not depend on temperature, so they are sampled once on
Gauss-Kronrod (21-point) panels and kept in a ``PanelStore`` (memory + an .npz file in
the cache directory). An integral int_0^inf dw/(2 pi) weight(w) T(w) for any set of
weights (e.g. Theta or dTheta/dT at several temperatures) reuses the stored panels and
bisects only those whose Kronrod-minus-Gauss difference is too large, so a sweep over
temperatures evaluates the spectra once.

Root panels split the range at the materials' characteristic frequencies (wT, wL, the
Froehlich and magnetoplasmon resonances), each surrounded by 1.5 %-wide panels (a
resonance is ~1 % wide and coupled modes shift it by a few %), and at a factor-sqrt(2)
ladder above the highest and a factor-2 ladder below the lowest; the breakpoints do not
depend on temperature, so stored panels stay valid for every temperature.

Error control: per weight row t and component c the estimate E_tc = sum_panels
|K - G| (the Gauss rule's error; the Kronrod value used is far more accurate, so the
estimate is conservative) must satisfy E_tc <= rtol * max(|I_tc|, floor * max_c |I_tc|).
``rel_error`` is the largest E_tc / max(|I_tc|, floor * max_c |I_tc|).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants as sc

from sim.validation import check_positive

# Gauss-Kronrod 21/10 nodes and weights on [-1, 1] (QUADPACK qk21)
_XK_HALF = np.array(
    [
        0.995657163025808080735527280689003,
        0.973906528517171720077964012084452,
        0.930157491355708226001207180059508,
        0.865063366688984510732096688423493,
        0.780817726586416897063717578345042,
        0.679409568299024406234327365114874,
        0.562757134668604683339000099272694,
        0.433395394129247190799265943165784,
        0.294392862701460198131126603103866,
        0.148874338981631210884826001129720,
        0.0,
    ]
)
_WK_HALF = np.array(
    [
        0.011694638867371874278064396062192,
        0.032558162307964727478818972459390,
        0.054755896574351996031381300244580,
        0.075039674810919952767043140916190,
        0.093125454583697605535065465083366,
        0.109387158802297641899210590325805,
        0.123491976262065851077208745694294,
        0.134709217311473325928054001771707,
        0.142775938577060080797094273138717,
        0.147739104901338491374841515972068,
        0.149445554002916905664936468389821,
    ]
)
_WG_HALF = np.array(
    [
        0.066671344308688137593568809893332,
        0.149451349150580593145776339657697,
        0.219086362515982043995534934228163,
        0.269266719309996355091226921569469,
        0.295524224714752870173892994651338,
    ]
)
GK_NODES = np.concatenate([-_XK_HALF[:-1], _XK_HALF[::-1]])
GK_WEIGHTS = np.concatenate([_WK_HALF[:-1], _WK_HALF[::-1]])
G_WEIGHTS = np.zeros(21)
G_WEIGHTS[[1, 3, 5, 7, 9]] = _WG_HALF
G_WEIGHTS[[19, 17, 15, 13, 11]] = _WG_HALF

#: integrate up to hbar w = X_MAX kB T_max; the neglected tail of dTheta/dT is ~X_MAX^2 e^-X_MAX
X_MAX = 50.0


def theta(omega: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Mean energy of a harmonic oscillator, Theta = hbar w/(exp(hbar w/kB T) - 1), in J.
    omega (rad/s) and T (K) broadcast."""
    x = sc.hbar * np.asarray(omega, dtype=float) / (sc.k * np.asarray(T, dtype=float))
    with np.errstate(over="ignore"):
        return sc.k * np.asarray(T) * x / np.expm1(x)


def dtheta_dT(omega: ArrayLike, T: ArrayLike) -> np.ndarray:
    """dTheta/dT = kB x^2 e^x/(e^x - 1)^2, x = hbar w/(kB T), in J/K (written with e^-x: no overflow)."""
    x = sc.hbar * np.asarray(omega, dtype=float) / (sc.k * np.asarray(T, dtype=float))
    e = np.exp(-x)
    return sc.k * x**2 * e / (-np.expm1(-x)) ** 2


def default_cache_dir() -> Path:
    """$SIM_CACHE_DIR if set, else ~/.cache/sim/spectra."""
    env = os.environ.get("SIM_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "sim" / "spectra"


def cache_key(text: str) -> str:
    """Short stable hash of a description of geometry, materials and field."""
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _digest(a, b, values) -> str:
    h = hashlib.sha256()
    for arr in (a, b, values):
        arr = np.ascontiguousarray(arr)
        h.update(str(arr.dtype).encode() + str(arr.shape).encode() + arr.tobytes())
    return h.hexdigest()


def read_cache_entry(path: Path, n_components: int) -> dict:
    """Panels of a cache file {(a, b): values (21, m)}, verified against the checksum stored with them.

    A missing file gives {}; a truncated, corrupted or foreign one is discarded (deleted) with a
    warning naming it, so its spectra are computed again.
    """
    try:
        with np.load(path) as data:
            a, b, values = data["a"], data["b"], data["values"]
            signed = "checksum" in data.files
            ok = signed and str(data["checksum"]) == _digest(a, b, values)
    except FileNotFoundError:
        return {}
    except Exception as exc:  # a torn zip raises BadZipFile, EOFError, ValueError, ...: all mean "unusable"
        ok, reason = False, f"{type(exc).__name__}: {exc}"
    else:
        reason = "checksum mismatch" if signed else "no checksum: written by an older version"
    if not ok or values.shape[2:] != (n_components,):
        warnings.warn(
            f"discarding corrupt spectra cache entry {path} ({reason if not ok else 'wrong shape'}); "
            "its spectra are computed again",
            stacklevel=3,
        )
        path.unlink(missing_ok=True)
        return {}
    return {(float(x), float(y)): v for x, y, v in zip(a, b, values)}


class PanelStore:
    """Samples of a vector-valued spectrum f(w) (m components) at the 21 Gauss-Kronrod
    nodes of panels (a, b), computed on demand by ``evaluate(omega (n,)) -> (n, m)`` and
    persisted to ``path`` (.npz with a checksum) when given.

    Saving is safe with several writers (Dask workers, parallel runs): under an exclusive
    lock on ``path.lock`` it merges the panels already on disk with its own, writes a unique
    temporary file, fsyncs it and renames it into place, so no writer's panels are lost and a
    reader never sees a partial file.
    """

    def __init__(self, evaluate: Callable[[np.ndarray], np.ndarray], n_components: int, path: Path | None = None):
        self.evaluate = evaluate
        self.m = n_components
        self.path = path
        self.values: dict[tuple[float, float], np.ndarray] = {}
        self._dirty = False
        if path is not None and path.exists():
            try:
                os.utime(path)  # mtime = last use, so pruning removes the least recently used
            except OSError:
                pass
            self.values = read_cache_entry(path, self.m)

    def get(self, panels: list[tuple[float, float]]) -> np.ndarray:
        """Node values (P, 21, m) for the panels, evaluating the missing ones in one batch."""
        missing = [p for p in panels if p not in self.values]
        if missing:
            nodes = panel_nodes(np.array(missing))
            vals = self.evaluate(nodes.ravel()).reshape(len(missing), 21, self.m)
            self.values.update(zip(missing, vals))
            self._dirty = True
        return np.stack([self.values[p] for p in panels])

    def save(self) -> None:
        """Merge with what is on disk and write atomically (see the class docstring), if anything is new."""
        import fcntl

        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            merged = read_cache_entry(self.path, self.m) | self.values
            keys = sorted(merged)
            a, b = np.array([k[0] for k in keys]), np.array([k[1] for k in keys])
            values = np.stack([merged[k] for k in keys])
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(fh, a=a, b=b, values=values, checksum=np.array(_digest(a, b, values)))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        self.values = merged
        self._dirty = False


def cache_usage(cache_dir: Path | None = None) -> list[tuple[Path, int, float]]:
    """The cache's files, spectra (.npz) and multipole orders (-order.json), as (path, bytes,
    last use as a POSIX time), oldest use first. (Lock files, empty, stay: deleting one a
    writer holds would let a second writer lock a new file of the same name.)"""
    d = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not d.is_dir():
        return []
    files = [
        (f, st.st_size, st.st_mtime)
        for pattern in ("*.npz", "*-order.json")
        for f in d.glob(pattern)
        for st in [f.stat()]
    ]
    return sorted(files, key=lambda e: e[2])


def prune_cache(
    max_bytes: float | None = None, older_than_days: float | None = None, cache_dir: Path | None = None
) -> list[Path]:
    """Delete cached spectra not used for more than ``older_than_days`` days, then the least
    recently used ones until the cache holds at most ``max_bytes``. Returns the deleted paths.
    Deleting is always safe: a network recomputes missing spectra on demand."""
    if max_bytes is not None and not max_bytes >= 0:
        raise ValueError(f"max_bytes = {max_bytes}; allowed: >= 0")
    if older_than_days is not None and not older_than_days >= 0:
        raise ValueError(f"older_than_days = {older_than_days}; allowed: >= 0")
    files = cache_usage(cache_dir)
    cutoff = time.time() - older_than_days * 86400.0 if older_than_days is not None else -np.inf
    total = sum(size for _, size, _ in files)
    deleted = []
    for path, size, used in files:
        if used >= cutoff and (max_bytes is None or total <= max_bytes):
            continue
        path.unlink(missing_ok=True)
        total -= size
        deleted.append(path)
    return deleted


def panel_nodes(panels: np.ndarray) -> np.ndarray:
    """Gauss-Kronrod nodes (P, 21) of panels (P, 2)."""
    mid = 0.5 * (panels[:, 0] + panels[:, 1])
    half = 0.5 * (panels[:, 1] - panels[:, 0])
    return mid[:, None] + half[:, None] * GK_NODES


def root_breakpoints(characteristic: ArrayLike, omega_range: tuple[float, float], omega_top: float) -> np.ndarray:
    """Temperature-independent root partition of [omega_range[0], min(omega_range[1], top)]
    (rad/s) where ``top`` is the first ladder point >= omega_top."""
    lo, hi = omega_range
    res = np.asarray(characteristic, dtype=float)
    res = res[(res > lo) & (res < hi)]
    if res.size == 0:
        res = np.array([np.clip(1e14, lo * 2, hi / 2) if np.isfinite(hi) else max(1e14, 2 * lo)])
    pts = [np.outer(res, 1.015 ** np.arange(-8, 9)).ravel(), res.min() * 2.0 ** -np.arange(1, 13)]
    up = res.max() * 2.0 ** (np.arange(1, 200) / 2)
    n_up = int(np.searchsorted(up, omega_top)) + 1
    pts.append(up[:n_up])
    pts = np.unique(np.concatenate(pts))
    # merge points closer than 0.5 % (overlapping resonance neighbourhoods)
    keep = [pts[0]]
    for p in pts[1:]:
        if p > keep[-1] * 1.005:
            keep.append(p)
    pts = np.array(keep)
    pts = pts[(pts > lo) & (pts < hi) & (pts <= up[n_up - 1])]
    top = min(hi, up[n_up - 1])
    if pts.size and pts[-1] >= top:
        pts = pts[:-1]
    return np.concatenate([[lo], pts, [top]])


@dataclass
class Integral:
    """value (nw, m'), abs_error (nw, m'), rel_error (scalar, as defined in the module doc),
    n_frequencies: how many spectral samples the result rests on."""

    value: np.ndarray
    abs_error: np.ndarray
    rel_error: float
    n_frequencies: int


def integrate(
    store: PanelStore,
    breakpoints: np.ndarray,
    weights: Callable[[np.ndarray], np.ndarray],
    rtol: float = 1e-4,
    combine: Callable[[np.ndarray], np.ndarray] | None = None,
    floor: float = 1e-6,
    max_panels: int = 20000,
    panel_block_bytes: float = 64e6,
) -> Integral:
    """Adaptive int dw/(2 pi) weights(w)[t] * f(w)[c] over the breakpoint range.

    store: PanelStore of f (m components); breakpoints (nb,) rad/s, increasing;
    weights: callable omega (n,) -> (nw, n); combine: optional linear map applied to node
    values (P, 21, m) -> (P, 21, m') before weighting (e.g. antisymmetrisation);
    rtol, floor: error control (module doc). Returns an ``Integral``.
    """
    check_positive("rtol", rtol)
    panels = list(zip(breakpoints[:-1].tolist(), breakpoints[1:].tolist()))
    while True:
        K, E, err_p = _panel_sums(store, panels, weights, combine, floor, rtol, panel_block_bytes)
        if np.all(E <= _tolerance(K, rtol, floor)) or len(panels) >= max_panels:
            break
        order = np.argsort(err_p)[::-1]
        # split the worst panels until what remains is at most half the tolerance
        remaining = err_p.sum() - np.cumsum(err_p[order])
        n_split = int(np.searchsorted(-remaining, -0.5)) + 1
        split = set(order[:n_split].tolist())
        new = []
        for idx, (a, b) in enumerate(panels):
            if idx in split and (b - a) > 1e-12 * b:
                mid = 0.5 * (a + b)
                new += [(a, mid), (mid, b)]
            else:
                new.append((a, b))
        if len(new) == len(panels):
            break
        panels = new
    store.save()
    rel = float((E / _tolerance(K, 1.0, floor)).max()) if E.size else 0.0
    if rel > rtol:
        warnings.warn(
            f"spectral integral reached relative error {rel:.2e} > rtol = {rtol:g} with {len(panels)} panels",
            RuntimeWarning,
            stacklevel=3,
        )
    return Integral(K, E, rel, 21 * len(panels))


def _tolerance(K, rtol, floor):
    """Allowed absolute error per (t, c): rtol * max(|I_tc|, floor * max_c |I_tc|); inf where I is all zero."""
    tol = rtol * np.maximum(np.abs(K), floor * np.abs(K).max(axis=1, keepdims=True))
    return np.where(tol > 0, tol, np.inf)


def _panel_sums(store, panels, weights, combine, floor, rtol, block_bytes):
    """Totals K, E (nw, m') and per-panel normalised errors err_p (P,) = max_tc |K-G|_p / tol_tc.

    Works through blocks of panels so that no (nw, P, m') array is ever held; the second
    pass (per-panel errors against the totals' tolerance) recomputes the block sums.
    """
    vals = store.get(panels)
    arr = np.array(panels)
    half = 0.5 * (arr[:, 1] - arr[:, 0]) / (2 * np.pi)
    W = np.asarray(weights(panel_nodes(arr).ravel()), dtype=float).reshape(-1, len(panels), 21)
    comps = combine(vals) if combine is not None else vals
    nw, m = W.shape[0], comps.shape[2]
    step = max(1, int(block_bytes // (8 * nw * m * 2)))

    def blocks():
        for s in range(0, len(panels), step):
            sl = slice(s, s + step)
            Kp = np.einsum("tpn,pnc->tpc", W[:, sl] * (GK_WEIGHTS * half[sl, None]), comps[sl])
            Gp = np.einsum("tpn,pnc->tpc", W[:, sl] * (G_WEIGHTS * half[sl, None]), comps[sl])
            yield sl, Kp, np.abs(Kp - Gp)

    K = np.zeros((nw, m))
    E = np.zeros((nw, m))
    for _, Kp, Ep in blocks():
        K += Kp.sum(axis=1)
        E += Ep.sum(axis=1)
    tol = _tolerance(K, rtol, floor)
    err_p = np.empty(len(panels))
    for sl, _, Ep in blocks():
        err_p[sl] = (Ep / tol[:, None, :]).max(axis=(0, 2))
    return K, E, err_p
