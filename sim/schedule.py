"""Prescribed temperatures T(t): reservoirs of the rod, thermostats of particle networks.

``Schedule`` (NumPy, validated) and ``schedule_T`` (Numba, from ``Schedule.encode()``)
evaluate the same four shapes: constant, step, ramp, sinusoid. Units are the caller's:
reduced temperature and time for the rod, kelvin and seconds for networks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import ArrayLike

from sim.validation import check_choice, check_finite, check_positive, check_range

SCHED_CONSTANT, SCHED_STEP, SCHED_RAMP, SCHED_SINUSOID = 0, 1, 2, 3


@dataclass(frozen=True)
class Schedule:
    """A prescribed temperature T(t), t = step * dt: a rod's reservoir or a network's thermostat.

    kind 'constant': T0.  'step': T0, then T1 from time t0 on.  'ramp': T0 before t0,
    linear to T1 at t1, T1 after.  'sinusoid': T0 + amplitude * sin(w * t + phase).
    Units are the caller's: reduced temperature and time for the rod, K and s for networks.

    Parameters
    ----------
    kind : str
        'constant', 'step', 'ramp' or 'sinusoid'.
    T0 : float
        The temperature (constant), the one before t0 (step, ramp), the mean (sinusoid); > 0.
    T1 : float
        The temperature from t0 on (step) or from t1 on (ramp); > 0 for those kinds.
    t0 : float
        Time of the step; start of the ramp.
    t1 : float
        End of the ramp, > t0.
    amplitude : float
        Sinusoid amplitude, |amplitude| < T0.
    w : float
        Sinusoid angular frequency (rad per time unit).
    phase : float
        Sinusoid phase (rad).

    Raises
    ------
    ValueError
        For an unknown kind or a value out of its range (the message names the allowed one).

    Examples
    --------
    >>> ramp = Schedule("ramp", T0=1.0, T1=1.2, t0=0.0, t1=1e4)
    >>> float(ramp.at(5e3))
    1.1
    >>> ramp.extremes
    (1.0, 1.2)
    """

    kind: str = "constant"
    T0: float = 1.0
    T1: float = 1.0
    t0: float = 0.0
    t1: float = 0.0
    amplitude: float = 0.0
    w: float = 0.0
    phase: float = 0.0

    def __post_init__(self):
        check_choice("schedule.kind", self.kind, ("constant", "step", "ramp", "sinusoid"))
        check_positive("schedule.T0", self.T0)
        if self.kind in ("step", "ramp"):
            check_positive("schedule.T1", self.T1)
        if self.kind == "ramp":
            check_range("schedule.t1", self.t1, low=self.t0)
        if self.kind == "sinusoid":
            check_range("schedule.amplitude", abs(self.amplitude), high=self.T0, high_inclusive=False)
            check_finite("schedule.w", self.w)

    @property
    def extremes(self) -> tuple[float, float]:
        """(lowest, highest) temperature the schedule ever takes."""
        if self.kind == "sinusoid":
            return self.T0 - abs(self.amplitude), self.T0 + abs(self.amplitude)
        if self.kind == "constant":
            return self.T0, self.T0
        return min(self.T0, self.T1), max(self.T0, self.T1)

    def at(self, t: ArrayLike) -> np.ndarray | float:
        """T at times ``t`` (array_like), as an array of t's shape."""
        t = np.asarray(t, float)
        if self.kind == "constant":
            return np.full_like(t, self.T0)
        if self.kind == "step":
            return np.where(t < self.t0, self.T0, self.T1)
        if self.kind == "ramp":
            frac = np.clip((t - self.t0) / max(self.t1 - self.t0, 1e-300), 0.0, 1.0)
            return self.T0 + (self.T1 - self.T0) * frac
        return self.T0 + self.amplitude * np.sin(self.w * t + self.phase)

    def encode(self) -> tuple[int, np.ndarray]:
        kind = {"constant": SCHED_CONSTANT, "step": SCHED_STEP, "ramp": SCHED_RAMP, "sinusoid": SCHED_SINUSOID}[
            self.kind
        ]
        if self.kind == "sinusoid":
            return kind, np.array([self.T0, self.amplitude, self.w, self.phase])
        return kind, np.array([self.T0, self.T1, self.t0, self.t1])


def make_schedule(spec: float | dict | Schedule) -> Schedule:
    """A Schedule from a number (constant), a dict, or a Schedule."""
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, dict):
        return Schedule(**spec)
    return Schedule("constant", T0=float(check_positive("T_bath", spec)))


@njit(cache=True, error_model="numpy")
def schedule_T(kind: int, p: np.ndarray, t: float) -> float:
    """Reservoir temperature at time t for schedule ``kind`` (ids SCHED_* in ``sim.rod.model``)."""
    if kind == 0:
        return p[0]
    if kind == 1:
        return p[0] if t < p[2] else p[1]
    if kind == 2:
        if t <= p[2]:
            return p[0]
        if t >= p[3]:
            return p[1]
        return p[0] + (p[1] - p[0]) * (t - p[2]) / (p[3] - p[2])
    return p[0] + p[1] * math.sin(p[2] * t + p[3])
