"""The heat-superconducting rod: constitutive laws, bath schedules and parameters.

Reduced units (docs/model.md §A1): k_B = 1; energy, time and angle are dimensionless. A rod has
N rings (index i = 0..N-1) and N-1 links (link i joins rings i and i+1).

Every law is a small frozen dataclass with a vectorised NumPy ``omega0(T)`` (the reference)
and an ``encode()`` giving (law id, parameter vector, table arrays) for the Numba kernels,
which evaluate the same law from those numbers: pass arrays and scalars, never closures,
so one compiled kernel serves every parameter set.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import PchipInterpolator

from sim.schedule import Schedule, make_schedule
from sim.validation import (
    check_choice,
    check_finite,
    check_fits_in_memory,
    check_int,
    check_positive,
    check_range,
)

LAW_LINEAR, LAW_POWER, LAW_ROTOR, LAW_TABLE = 0, 1, 2, 3

NOISE_SAFETY = 0.25  # noisy rods: dt <= 0.25 / w_p (validated in tests/unit/test_rod_model.py)


class UnstableClockLawWarning(UserWarning):
    """omega0 * domega0/dT < 0: negative effective torsional inertia, the uniform state is unstable."""


# --------------------------------------------------------------------------- clock laws
@dataclass(frozen=True)
class Linear:
    """Linear clock law: omega0 = w_ref * (1 + beta * (T - T_ref)). beta in 1/temperature.

    Parameters
    ----------
    w_ref : float
        omega0 at T_ref (rad per time unit); finite.
    beta : float
        Relative slope (1/temperature); finite.
    T_ref : float
        Reference temperature, > 0.
    """

    w_ref: float = 1.0
    beta: float = 0.5
    T_ref: float = 1.0
    name = "linear"

    def __post_init__(self):
        check_finite("law.w_ref", self.w_ref)
        check_finite("law.beta", self.beta)
        check_positive("law.T_ref", self.T_ref)

    def omega0(self, T: ArrayLike) -> np.ndarray | float:
        """omega0 at temperatures ``T`` (array_like), rad per time unit, of T's shape."""
        return self.w_ref * (1.0 + self.beta * (np.asarray(T, float) - self.T_ref))

    def encode(self) -> tuple[int, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return LAW_LINEAR, np.array([self.w_ref, self.beta, self.T_ref, 0.0]), _NO_TABLE


@dataclass(frozen=True)
class Power:
    """Power clock law: omega0 = w_ref * (T / T_ref)**p.

    Parameters
    ----------
    w_ref : float
        omega0 at T_ref (rad per time unit); finite.
    p : float
        Exponent; finite.
    T_ref : float
        Reference temperature, > 0.
    """

    w_ref: float = 1.0
    p: float = 1.0
    T_ref: float = 1.0
    name = "power"

    def __post_init__(self):
        check_finite("law.w_ref", self.w_ref)
        check_finite("law.p", self.p)
        check_positive("law.T_ref", self.T_ref)

    def omega0(self, T: ArrayLike) -> np.ndarray | float:
        """omega0 at temperatures ``T`` (array_like), rad per time unit, of T's shape."""
        return self.w_ref * (np.asarray(T, float) / self.T_ref) ** self.p

    def encode(self) -> tuple[int, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return LAW_POWER, np.array([self.w_ref, self.p, self.T_ref, 0.0]), _NO_TABLE


@dataclass(frozen=True)
class Rotor:
    """Thermal average of a quantum ring threaded by flux alpha (Wilczek; Li et al.).

    omega0(T) = w_q * sum_l (l + alpha) exp(-(l + alpha)^2 / (2 t)) / sum_l exp(...),
    t = T / T_q, l over the integers (truncated where the weight is below 1e-18).
    |omega0| falls with T: omega0 * domega0/dT < 0, the uniform rod state is unstable.

    Parameters
    ----------
    w_q : float
        Rate scale (rad per time unit); finite.
    alpha : float
        Flux through the ring, -0.5 <= alpha <= 0.5.
    T_q : float
        Temperature scale, > 0.
    """

    w_q: float = 1.0
    alpha: float = 0.25
    T_q: float = 1.0
    name = "rotor"

    def __post_init__(self):
        check_finite("law.w_q", self.w_q)
        check_range("law.alpha", self.alpha, -0.5, 0.5, low_inclusive=True)
        check_positive("law.T_q", self.T_q)

    def omega0(self, T: ArrayLike) -> np.ndarray | float:
        """omega0 at temperatures ``T`` (array_like), rad per time unit, of T's shape."""
        t = np.asarray(T, float)[..., None] / self.T_q
        lmax = int(np.ceil(np.sqrt(2.0 * 42.0 * max(np.max(t), 1e-3)))) + 2
        x = np.arange(-lmax, lmax + 1) + self.alpha
        x_min = min(abs(self.alpha), 1.0 - abs(self.alpha))  # shifted exponents: no underflow at low T
        w = np.exp(-(x * x - x_min**2) / (2.0 * t))
        return self.w_q * (w * x).sum(-1) / w.sum(-1)

    def encode(self) -> tuple[int, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return LAW_ROTOR, np.array([self.w_q, self.alpha, self.T_q, 0.0]), _NO_TABLE


@dataclass(frozen=True)
class Table:
    """Monotone (PCHIP) interpolation of user samples omega0(T); linear extrapolation outside.

    Parameters
    ----------
    T : tuple of float
        Strictly increasing temperatures (> 0), at least 2.
    omega : tuple of float
        omega0 at those temperatures (rad per time unit): strictly monotone, same length as T.

    Raises
    ------
    ValueError
        If T is not strictly increasing, omega not strictly monotone, or their lengths differ.
    """

    T: tuple = (0.5, 1.0, 1.5)
    omega: tuple = (0.75, 1.0, 1.25)
    name = "table"

    def __post_init__(self):
        T = check_positive("law.T", self.T)
        w = check_finite("law.omega", self.omega)
        if T.ndim != 1 or T.shape != w.shape or T.size < 2:
            raise ValueError(
                f"law.T and law.omega must be 1-D of equal length >= 2; got shapes {T.shape} and {w.shape}"
            )
        if np.any(np.diff(T) <= 0):
            i = int(np.argmax(np.diff(T) <= 0))
            raise ValueError(
                f"law.T = {T.tolist()} is not strictly increasing at index {i + 1}; "
                "allowed: a strictly increasing table"
            )
        dw = np.diff(w)
        if not (np.all(dw > 0) or np.all(dw < 0)):
            raise ValueError(
                f"law.omega = {w.tolist()} is not monotone; allowed: a strictly increasing or strictly decreasing table"
            )
        object.__setattr__(self, "T", tuple(float(x) for x in T))
        object.__setattr__(self, "omega", tuple(float(x) for x in w))

    def _slopes(self):
        return PchipInterpolator(np.asarray(self.T), np.asarray(self.omega)).derivative()(np.asarray(self.T))

    def omega0(self, T: ArrayLike) -> np.ndarray | float:
        """omega0 at temperatures ``T`` (array_like), rad per time unit, of T's shape."""
        return _hermite_np(np.asarray(self.T), np.asarray(self.omega), self._slopes(), np.asarray(T, float))

    def encode(self) -> tuple[int, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return LAW_TABLE, np.zeros(4), (np.asarray(self.T), np.asarray(self.omega), self._slopes())


_NO_TABLE = (np.zeros(2), np.zeros(2), np.zeros(2))
LAWS = {"linear": Linear, "power": Power, "rotor": Rotor, "table": Table}


def _hermite_np(x, y, d, T):
    """Cubic Hermite interpolation on knots (x, y, slopes d), linear extrapolation beyond."""
    j = np.clip(np.searchsorted(x, T) - 1, 0, len(x) - 2)
    h = x[j + 1] - x[j]
    s = (T - x[j]) / h
    inside = (s >= 0) & (s <= 1)
    s_in = np.clip(s, 0.0, 1.0)
    h00, h10 = (1 + 2 * s_in) * (1 - s_in) ** 2, s_in * (1 - s_in) ** 2
    h01, h11 = s_in * s_in * (3 - 2 * s_in), s_in * s_in * (s_in - 1)
    val = h00 * y[j] + h10 * h * d[j] + h01 * y[j + 1] + h11 * h * d[j + 1]
    below = y[0] + d[0] * (T - x[0])
    above = y[-1] + d[-1] * (T - x[-1])
    return np.where(inside, val, np.where(T < x[0], below, above))


def weak_link_couplings(N: int, K: float, K_w: float, weak_link: int) -> np.ndarray:
    """Per-link couplings (N-1,): K everywhere and K_w on link ``weak_link`` (0 <= weak_link <= N-2)."""
    N = check_int("N", N, low=2)
    w = check_int("weak_link", weak_link, low=0, high=N - 2)
    K = np.full(N - 1, float(check_range("K", K, low=0.0, low_inclusive=True)))
    K[w] = float(check_range("K_w", K_w, low=0.0, low_inclusive=True))
    return K


def make_law(spec: Linear | Power | Rotor | Table | str | dict) -> object:
    """A law object from an instance, a name, or a dict ``{"name": ..., **params}``."""
    if hasattr(spec, "omega0"):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    spec = dict(spec)
    name = check_choice("law", spec.pop("name", None), LAWS)
    return LAWS[name](**spec)


def domega0_dT(law: Linear | Power | Rotor | Table, T: ArrayLike, rel_step: float = 1e-6) -> np.ndarray | float:
    """Centred finite-difference derivative of omega0 (used for set-up checks and yardsticks)."""
    T = np.asarray(T, float)
    h = rel_step * np.maximum(T, 1e-12)
    return (law.omega0(T + h) - law.omega0(T - h)) / (2 * h)


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class RodParams:
    """All parameters of one rod run (reduced units, k_B = 1), validated on construction.

    Parameters
    ----------
    N : int
        Rings, >= 2 (N - 1 links; link i joins rings i and i+1).
    C : float or array_like of shape (N,)
        Heat capacity per ring, >= 1/2 (units of k_B).
    K : float or array_like of shape (N-1,)
        Link coupling (torque amplitude), >= 0 (small K = weak link). The default, 5, is the
        rod scenarios' value (rod-slip-statistics: 4 on the links besides its weak link): at
        T = 1 the phase-slip barrier 2K/m^2 is then 10 k_B T, which keeps thermally activated
        slips out of a DC run.
    m : int
        Density peaks per ring (torque sin(m dtheta)/m), >= 1.
    torque : str
        'sine' or 'harmonic' (tau = K dtheta).
    law : Linear, Power, Rotor, Table, str, or dict
        Clock law omega0(T): an object, a name or a dict (``make_law``).
    g : float or array_like of shape (N-1,)
        Normal conduction between neighbours, >= 0.
    k_L : float
        Left reservoir contact conductance, >= 0 (0: that end is closed, no reservoir).
    k_R : float
        Right reservoir contact conductance, >= 0 (0: closed).
    T_L : float, Schedule, or dict
        Left reservoir temperature (a number, a ``Schedule`` or a dict for ``make_schedule``).
    T_R : float, Schedule, or dict
        Right reservoir temperature.
    T_init : float or array_like of shape (N,), optional
        Initial ring temperatures (default: the mean of the two baths' T0).
    theta_init : array_like of shape (N,), optional
        Initial phases, rad (default 0).
    dt : float
        Time step, at most ``max_stable_dt()``.
    noise : bool
        Stochastic reservoir kicks and conduction noise on/off.
    seed : int
        RNG seed, 0 <= seed < 2^64.
    runaway_dT : float, optional
        Temperature spread inside the rod that stops the run as a runaway (default: derived
        from the bath temperatures and C).

    Attributes
    ----------
    C, T_init, theta_init : ndarray of shape (N,)
        As given or defaulted, broadcast to one value per ring.
    K, g : ndarray of shape (N-1,)
        As given, broadcast to one value per link.
    law : Linear, Power, Rotor, or Table
        The law object.
    T_L, T_R : Schedule
        The reservoir schedules.
    runaway_dT : float
        As given or derived.
    unstable_law : bool
        omega0 * domega0/dT < 0 somewhere in the run's temperature range.

    Raises
    ------
    ValueError
        For a value out of range (the message names the allowed one), or a dt above
        ``max_stable_dt()``.

    Warns
    -----
    UnstableClockLawWarning
        When ``unstable_law``: the effective torsional inertia is negative, the uniform state is
        unstable (docs/model.md §A4).

    Examples
    --------
    >>> p = RodParams(N=64, T_L=1.1, T_R=0.9)
    >>> p.K.shape, float(p.T_init[0])
    ((63,), 1.0)
    """

    N: int = 16
    C: ArrayLike = 50.0
    K: ArrayLike = 5.0
    m: int = 1
    torque: str = "sine"
    law: Linear | Power | Rotor | Table | str | dict = field(default_factory=Linear)
    g: ArrayLike = 0.0
    k_L: float = 0.5
    k_R: float = 0.5
    T_L: float | Schedule | dict = 1.1
    T_R: float | Schedule | dict = 0.9
    T_init: ArrayLike | None = None
    theta_init: ArrayLike | None = None
    dt: float = 0.5
    noise: bool = True
    seed: int = 0
    runaway_dT: float | None = None

    def __post_init__(self):
        # ~20 float arrays per ring in the state, the kernel's scratch and one buffered chunk of frames
        N = check_fits_in_memory("N", check_int("N", self.N, low=2), 64 * 20 * 8.0, "rings")
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("N", N)
        set_("C", _per_site("C", self.C, N, low=0.5, low_inclusive=True))
        set_("K", _per_site("K", self.K, N - 1, low=0.0, low_inclusive=True))
        set_("g", _per_site("g", self.g, N - 1, low=0.0, low_inclusive=True))
        set_("m", check_int("m", self.m, low=1))
        check_choice("torque", self.torque, ("sine", "harmonic"))
        set_("law", make_law(self.law))
        check_range("k_L", self.k_L, low=0.0, low_inclusive=True)
        check_range("k_R", self.k_R, low=0.0, low_inclusive=True)
        set_("T_L", make_schedule(self.T_L))
        set_("T_R", make_schedule(self.T_R))
        T_init = 0.5 * (self.T_L.T0 + self.T_R.T0) if self.T_init is None else self.T_init
        set_("T_init", _per_site("T_init", T_init, N, low=0.0))
        theta = np.zeros(N) if self.theta_init is None else check_finite("theta_init", self.theta_init)
        if theta.shape != (N,):
            raise ValueError(f"theta_init has shape {theta.shape}; allowed: ({N},)")
        set_("theta_init", theta)
        check_positive("dt", self.dt)
        seed_ok = (
            isinstance(self.seed, (int, np.integer)) and not isinstance(self.seed, bool) and 0 <= self.seed < 2**64
        )
        if not seed_ok:
            raise ValueError(f"seed = {self.seed!r} is out of range; allowed: integers 0 <= seed < 2**64")
        if self.runaway_dT is None:
            lo, hi = self.temperature_range
            set_("runaway_dT", 0.5 * hi + 4.0 * (hi - lo) + 10.0 * hi / np.sqrt(self.C.min()))
        else:
            check_positive("runaway_dT", self.runaway_dT)
        self._check_omega0()
        dt_max = self.max_stable_dt()
        if self.dt > dt_max:
            raise ValueError(
                f"dt = {self.dt!r} is too large for the fastest rate of this rod; allowed: dt <= {dt_max:.4g} "
                f"(largest stable step: 1/w_p, or {NOISE_SAFETY}/w_p with noise, for the plasma frequency "
                f"w_p = sqrt(K*omega0*omega0'/C); contact rate k/C; conduction rate 2g/C)"
            )

    # -- derived quantities ------------------------------------------------------------
    @property
    def temperature_range(self) -> tuple[float, float]:
        """Lowest and highest temperature among the initial state and both schedules."""
        lows = [self.T_L.extremes[0], self.T_R.extremes[0], float(np.min(self.T_init))]
        highs = [self.T_L.extremes[1], self.T_R.extremes[1], float(np.max(self.T_init))]
        return min(lows), max(highs)

    def _temperature_samples(self):
        lo, hi = self.temperature_range
        return np.linspace(0.8 * lo, 1.25 * hi, 64)

    def _check_omega0(self):
        T = self._temperature_samples()
        w = self.law.omega0(T)
        if not np.all(np.isfinite(w)):
            raise ValueError(f"law = {self.law!r} gives non-finite omega0 for T in [{T[0]:.3g}, {T[-1]:.3g}]")
        product = w * domega0_dT(self.law, T)
        object.__setattr__(self, "unstable_law", bool(np.any(product < 0)))
        if self.unstable_law:
            T_bad = T[np.argmax(product < 0)]
            warnings.warn(
                f"clock law '{self.law.name}' has omega0*domega0/dT < 0 (first at T = {T_bad:.3g}): "
                "the effective torsional inertia C/(omega0*omega0') is negative, so the uniform state "
                "is unstable and temperatures will separate (docs/model.md §A4). The run stops when it detects "
                "the runaway.",
                UnstableClockLawWarning,
                stacklevel=3,
            )

    def plasma_frequency(self) -> float:
        """Largest sqrt(K * |omega0 * omega0'| / C) over the temperature range (rad per time unit)."""
        T = self._temperature_samples()
        ww = np.max(np.abs(self.law.omega0(T) * domega0_dT(self.law, T)))
        return float(np.sqrt(self.K.max() * ww / self.C.min()))

    def max_stable_dt(self) -> float:
        """Largest time step the integrator accepts.

        The coherent sub-step is a Verlet-type scheme, stable while dt * (2 w_p) < 2 for the
        fastest chain mode 2 w_p: dt < 1/w_p without noise. With noise the temperatures, and
        with them each mode's frequency, fluctuate at every frequency up to the step's: the
        discrete map then resonates parametrically well inside that bound (a rod-dc rod,
        C = 50, K = 5, runs away within 4e3 steps at 0.5/w_p and survives 2e5 steps at
        0.35/w_p), so noisy rods take NOISE_SAFETY / w_p. The reservoir update is exact but
        the splitting needs k dt / C <= 1; explicit conduction is stable for 2 g dt / C <= 1.
        """
        C = self.C.min()
        limits = [C / max(self.k_L, self.k_R)] if max(self.k_L, self.k_R) > 0 else []
        wp = self.plasma_frequency()
        if wp > 0:
            limits.append((NOISE_SAFETY if self.noise else 1.0) / wp)
        if self.g.max() > 0:
            limits.append(C / (2.0 * self.g.max()))
        return float(min(limits)) if limits else float("inf")

    def with_(self, **changes: Any) -> RodParams:
        """A copy with ``changes`` (field=value), validated again."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """A JSON-friendly description (arrays as lists, law and schedules as dicts)."""
        out = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            if isinstance(v, np.ndarray):
                v = v.tolist() if not np.all(v == v.flat[0]) else float(v.flat[0])
            elif hasattr(v, "__dataclass_fields__"):
                v = {
                    "name": getattr(v, "name", type(v).__name__.lower()),
                    **{f: (list(x) if isinstance(x := getattr(v, f), tuple) else x) for f in v.__dataclass_fields__},
                }
            out[k] = v
        return out


def _per_site(name, value, n, low, low_inclusive=False):
    arr = check_range(name, value, low=low, low_inclusive=low_inclusive)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} has shape {arr.shape}; allowed: a scalar or shape ({n},)")
    return arr.astype(float)
