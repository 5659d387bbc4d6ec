"""Reading effects off rod trajectories: spectral peaks, phase slips, winding, Adler yardstick."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import ArrayLike
from scipy import signal

from sim.validation import check_int, check_positive, check_range

if TYPE_CHECKING:
    from sim.rod.model import Linear, Power, Rotor, Table


def peak_frequency(x: ArrayLike, dt: float, f_min: float = 0.0) -> float:
    """Angular frequency (rad per time unit) of the strongest spectral line of ``x``.

    x: (n,) uniformly sampled signal, dt: sampling interval. Hann-windowed periodogram of
    the mean-removed signal; the peak bin above ``f_min`` (rad/time) is refined by a
    parabola through the log-power of its neighbours (sub-bin accuracy). Returns 0.0 for a
    constant signal (no line).
    """
    check_positive("dt", dt)
    x = np.asarray(x, float)
    if x.size < 8:
        raise ValueError(f"peak_frequency needs at least 8 samples; got {x.size}")
    if np.ptp(x) == 0.0:
        return 0.0
    f, p = signal.periodogram(x - x.mean(), fs=1.0 / dt, window="hann", detrend=False)
    w = 2.0 * np.pi * f
    usable = np.nonzero(w > f_min)[0]
    usable = usable[usable > 0]
    i = usable[np.argmax(p[usable])]
    if 0 < i < p.size - 1 and np.all(p[i - 1 : i + 2] > 0):
        a, b, c = np.log(p[i - 1 : i + 2])
        shift = 0.5 * (a - c) / (a - 2 * b + c)
        return float(w[i] + shift * (w[1] - w[0]))
    return float(w[i])


def winding_rate(t: ArrayLike, phi: ArrayLike) -> float:
    """Mean rate of change of an unwrapped angle over the record (rad per time unit)."""
    t, phi = np.asarray(t, float), np.asarray(phi, float)
    return float((phi[-1] - phi[0]) / (t[-1] - t[0]))


@njit(cache=True)
def _slips(turns, margin, forward, backward):
    """Per link, follow the occupied well b (integer); a slip is counted when the twist gets
    within ``margin`` of the next well's minimum (hysteresis: wiggles over a barrier top
    are not slips). turns: (n, links) twist in units of 2 pi/m; forward, backward: (n,)
    slips per frame in each direction."""
    n, links = turns.shape
    for j in range(links):
        b = np.rint(turns[0, j])
        for i in range(1, n):
            x = turns[i, j]
            while x > b + 1.0 - margin:
                b += 1.0
                forward[i] += 1
            while x < b - 1.0 + margin:
                b -= 1.0
                backward[i] += 1


def count_slips(phi: ArrayLike, m: int = 1, margin: float = 0.25) -> dict:
    """Phase slips of link twist records: jumps of 2 pi/m from one well of the bond energy to the next.

    phi: (n,) or (n, links) unwrapped twist [rad]. A slip is counted once the twist comes
    within ``margin`` (a fraction of 2 pi/m) of the next well's minimum, so thermal wiggles
    across a barrier top do not count. Returns {"total": slips either way, "net": forward
    minus backward, "times": frame indices (first axis) where slips happened}.
    """
    m = check_int("m", m, low=1)
    check_range("margin", margin, low=0.0, high=0.5, high_inclusive=False)
    turns = m * np.asarray(phi, float) / (2.0 * np.pi)
    turns = turns.reshape(turns.shape[0], -1)
    forward, backward = np.zeros(turns.shape[0]), np.zeros(turns.shape[0])
    _slips(turns, margin, forward, backward)
    return {
        "total": int(forward.sum() + backward.sum()),
        "net": int(forward.sum() - backward.sum()),
        "times": np.nonzero(forward + backward)[0],
    }


def adler_frequency(d_omega: ArrayLike, d_omega_c: ArrayLike, m: int = 1) -> np.ndarray | float:
    """Running frequency of the Adler equation d psi/dt = m d_omega - d_omega_c sin(psi).

    sqrt((m d_omega)^2 - d_omega_c^2) when |m d_omega| > d_omega_c, else 0 (locked).
    Works elementwise on arrays. docs/model.md §A4.6.
    """
    drive = m * np.asarray(d_omega, float)
    return np.sqrt(np.clip(drive**2 - np.asarray(d_omega_c, float) ** 2, 0.0, None))


def adler_parameters(
    law: Linear | Power | Rotor | Table, T_L: float, T_R: float, K_w: float, k_L: float, k_R: float
) -> tuple[float, float]:
    """(d_omega, d_omega_c) of a weak link between halves on reservoirs T_L, T_R (docs/model.md §A4.6).

    d_omega = omega0(T_L) - omega0(T_R); d_omega_c = omega0 omega0' K_w (1/k_L + 1/k_R) with
    omega0 and its slope at the mean temperature.
    """
    from sim.rod.model import domega0_dT

    T_mean = 0.5 * (T_L + T_R)
    d_omega = float(law.omega0(T_L) - law.omega0(T_R))
    d_omega_c = float(law.omega0(T_mean) * domega0_dT(law, T_mean)) * K_w * (1.0 / k_L + 1.0 / k_R)
    return d_omega, d_omega_c
