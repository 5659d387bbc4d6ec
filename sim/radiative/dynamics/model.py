"""Parameters, state and observables of a network temperature dynamics run (SI units: K, s,
W, J, J/K; pairs in ``np.triu_indices(N, 1)`` order)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants as sc

from sim.radiative.network import Network
from sim.rng import seed_key
from sim.schedule import Schedule, make_schedule
from sim.validation import check_choice, check_positive

ROLES = ("thermostat", "free")
KB = sc.k
#: default spectral quadrature tolerance for the tables (the spectra are cached, so this is cheap)
TABLE_RTOL = 1e-8


@dataclass(frozen=True, eq=False)
class NetworkParams:
    """Parameters of a network temperature dynamics run (validated on construction).

    Parameters
    ----------
    network : Network
        Geometry, materials, field (``sim.radiative.Network``).
    roles : sequence of str, or str
        (N,) "thermostat" or "free" per particle; one string: every particle.
    thermostats : sequence
        One per thermostated particle, in particle order: a temperature (K), a ``Schedule``
        (t in s, T in K) or a dict for ``make_schedule``; a single one (not in a sequence)
        serves every thermostated particle.
    T_init : float or array_like, optional
        Free particles' initial temperatures (K): scalar, (n_free,) or (N,) (thermostat
        entries ignored). Default: the mean thermostat temperature at t = 0, else T_env.
    C : float or array_like of shape (N,), optional
        Heat capacities, J/K. Default ``network.heat_capacities`` (rho c_p V).
    environment : bool
        Exchange with the vacuum field at T_env (K). True by default for user networks;
        Ben-Abdallah's studies switch it off.
    T_env : float
        Environment temperature, K (> 0).
    dt : float, optional
        Time step (s); None: 1/20 of the slowest relaxation time at T_init (accuracy-set).
        Any dt is stable; for faithful transients far from the steady state take dt <~ the
        fastest relaxation time (``NetworkSystem.relaxation_times``; module docstring).
    noise : bool
        Energy-conserving pair noise (module docstring); needs dt << 1/a_max
        (``NetworkSystem.stiffness_dt``).
    seed : int
        The noise's Philox seed, 0 <= seed < 2^64.
    T_grid : (low, high), array_like, or None
        None (auto: from the lowest to the highest temperature the run can reach, padded),
        a (low, high) pair in K, or an explicit increasing uniform grid (K).
    rtol_spectra : float
        Relative tolerance of the spectral quadrature behind the tables.

    Attributes
    ----------
    roles : tuple of str
    thermostats : tuple of Schedule
    T_init : ndarray of shape (N,)
        K; thermostated entries are their schedule at t = 0.
    C : ndarray of shape (N,)
        J/K.

    Raises
    ------
    ValueError
        For a value out of range, a ``network`` that is not a ``Network``, or counts that do
        not match N (roles, thermostats, T_init, C).

    Examples
    --------
    >>> params = NetworkParams(net, roles=["thermostat", "thermostat", "free", "free"],
    ...                        thermostats=[350.0, 300.0], environment=False)  # doctest: +SKIP
    """

    network: Network
    roles: tuple[str, ...] | list[str] | str
    thermostats: tuple = ()
    T_init: ArrayLike | None = None
    C: ArrayLike | None = None
    environment: bool = True
    T_env: float = 300.0
    dt: float | None = None
    noise: bool = False
    seed: int = 0
    T_grid: tuple[float, float] | ArrayLike | None = None
    rtol_spectra: float = TABLE_RTOL

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        if not isinstance(self.network, Network):
            raise ValueError(f"network = {type(self.network).__name__}; allowed: a sim.radiative.network.Network")
        N = self.network.N
        roles = tuple(self.roles) if not isinstance(self.roles, str) else (self.roles,) * N
        if len(roles) != N:
            raise ValueError(f"roles has {len(roles)} entries; allowed: one per particle (N = {N})")
        for i, r in enumerate(roles):
            check_choice(f"roles[{i}]", r, ROLES)
        set_("roles", roles)
        n_th = roles.count("thermostat")
        ths = self.thermostats
        if not isinstance(ths, (list, tuple)):
            ths = [ths] * n_th
        if len(ths) != n_th:
            raise ValueError(f"thermostats has {len(ths)} entries; allowed: one per thermostated particle ({n_th})")
        scheds = []
        for k, s in enumerate(ths):
            if not isinstance(s, (Schedule, dict)):
                check_positive(f"thermostats[{k}]", s, unit="K")
            scheds.append(make_schedule(s))
        set_("thermostats", tuple(scheds))
        T_env = float(check_positive("T_env", self.T_env, unit="K"))
        set_("T_env", T_env)
        set_("environment", bool(self.environment))
        C = self.network.heat_capacities if self.C is None else check_positive("C", self.C, unit="J/K")
        C = np.broadcast_to(np.asarray(C, float), (N,)).copy()
        if C.shape != (N,):
            raise ValueError(f"C has shape {C.shape}; allowed: ({N},) or a scalar, in J/K")
        set_("C", C)
        free = np.array([r == "free" for r in roles])
        if self.T_init is None:
            T0 = np.mean([s.at(0.0) for s in scheds]) if scheds else T_env
            Ti = np.full(N, float(T0))
        else:
            Ti = np.asarray(check_positive("T_init", self.T_init, unit="K"), float)
            if Ti.ndim == 0:
                Ti = np.full(N, float(Ti))
            elif Ti.shape == (int(free.sum()),) and Ti.shape != (N,):
                full = np.zeros(N)
                full[free] = Ti
                Ti = full
            elif Ti.shape != (N,):
                raise ValueError(f"T_init has shape {Ti.shape}; allowed: scalar, ({int(free.sum())},) or ({N},)")
        it = iter(scheds)
        Ti = np.array([next(it).at(0.0).item() if r == "thermostat" else Ti[i] for i, r in enumerate(roles)])
        set_("T_init", Ti)
        if self.dt is not None:
            set_("dt", float(check_positive("dt", self.dt, unit="s")))
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ValueError(f"seed = {self.seed!r}; allowed: an integer 0 <= seed < 2**64")
        seed_key(self.seed)
        set_("noise", bool(self.noise))
        check_positive("rtol_spectra", self.rtol_spectra)

    @property
    def N(self) -> int:
        """Number of particles."""
        return self.network.N

    @property
    def free(self) -> np.ndarray:
        """(N,) bool mask of the free particles."""
        return np.array([r == "free" for r in self.roles])

    def to_dict(self) -> dict:
        net = self.network
        return {
            "positions": net.positions.tolist(),
            "radii": net.radii.tolist(),
            "materials": [m.name for m in net.materials],
            "B": net.B,
            "roles": list(self.roles),
            "thermostats": [dataclasses.asdict(s) for s in self.thermostats],
            "T_init": self.T_init.tolist(),
            "C": self.C.tolist(),
            "environment": self.environment,
            "T_env": self.T_env,
            "dt": self.dt,
            "noise": self.noise,
            "seed": int(self.seed),
            "rtol_spectra": self.rtol_spectra,
        }


@dataclass
class NetworkState:
    """Dynamic state of a network run.

    Attributes
    ----------
    T : ndarray of shape (N,)
        Temperatures, K (thermostated entries follow their schedules).
    Q_pair : ndarray of shape (n_pairs,)
        Cumulative heat into i from j (J) per i < j pair (``np.triu_indices(N, 1)`` order).
    Q_thermostat : ndarray of shape (N,)
        Cumulative energy each thermostat supplied (J; zero for free particles).
    Q_env : ndarray of shape (N,)
        Cumulative heat from the environment (J).
    acc : ndarray of shape (1,)
        Cumulative entropy production (J/K).
    step : int
        Steps taken (time = step * dt).
    """

    T: np.ndarray
    Q_pair: np.ndarray
    Q_thermostat: np.ndarray
    Q_env: np.ndarray
    acc: np.ndarray
    step: int = 0

    def copy(self) -> NetworkState:
        """An independent copy."""
        return NetworkState(
            self.T.copy(), self.Q_pair.copy(), self.Q_thermostat.copy(), self.Q_env.copy(), self.acc.copy(), self.step
        )


OBSERVABLES = {
    "T": (("time", "particle"), "K", "particle temperature"),
    "P_net": (("time", "particle"), "W", "net network + environment power into each particle"),
    "pair_power": (("time", "pair"), "W", "heat flow into i from j, f_ij = Phi_ij(T_j) - Phi_ji(T_i), i < j pairs"),
    "thermostat_power": (
        ("time", "particle"),
        "W",
        "power each thermostat supplies to hold its particle against the network "
        "(= -P_net; 0 for free particles; excludes C dT/dt of a moving schedule)",
    ),
    "env_power": (("time", "particle"), "W", "heat from the environment into each particle (0 without it)"),
    "Q_pair": (("time", "pair"), "J", "cumulative heat into i from j, i < j pairs"),
    "Q_thermostat": (
        ("time", "particle"),
        "J",
        "cumulative energy supplied by each thermostat (incl. C dT of its schedule)",
    ),
    "Q_env": (("time", "particle"), "J", "cumulative heat from the environment into each particle"),
    "energy_stored": (("time",), "J", "sum_i C_i (T_i - T_i(0)), all particles"),
    "ledger_error": (("time",), "J", "energy_stored - (sum Q_thermostat + sum Q_env): zero to round-off"),
    "entropy_production": (
        ("time",),
        "J/K",
        "cumulative sum over pairs Q_ij (1/T_i - 1/T_j) (+ environment), midpoint T",
    ),
}
