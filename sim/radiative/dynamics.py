"""Temperature dynamics of a nanoparticle network (docs/model.md §B4).

    params = NetworkParams(net, roles=["thermostat", "thermostat", "free", "free"],
                           thermostats=[350.0, 300.0], environment=False)
    system = NetworkSystem(params)                 # tables, dt, validation
    out = simulate_network(params, nsteps, record_every, path="run.h5")
    ss = steady_state(params, rtol=1e-6)           # {"state", "T", "time", "steps", ...}

Each particle is either *thermostated* (its temperature follows a ``Schedule``; the power
its thermostat supplies is recorded) or *free*:

    C_i dT_i/dt = P_i = sum_j f_ij + e_i,   f_ij = Phi_ij(T_j) - Phi_ji(T_i)   (W)
    e_i = Phi_in_i(T_env) - Phi_out_i(T_i)   (environment, only with environment=True)

Phi_ij(T) (W, power emitted by j at T and absorbed by i) is tabulated once on a uniform
temperature grid together with its derivative G_ij(T) = dPhi_ij/dT (W/K), both from ONE
spectral quadrature with the same frequency nodes (so the derivative table is the exact
derivative of the quadrature), and interpolated with cubic Hermite splines (value and
derivative tables): relative interpolation error ~ (dT_grid/T)^4 / 384 ~ 1e-12 for the
default spacing dT_grid <= T/300.

Integrator: ROS2 (Verwer, Spee, Blom & Hundsdorfer 1999), a 2-stage L-stable Rosenbrock
method, second order for any Jacobian approximation (W-method), gamma = 1 + 1/sqrt(2).
One LU factorisation of M = diag(C) - gamma dt A per step (A = dP/dT on the free block,
from the Hermite derivative at the step's start), two solves; above DENSE_MIN free
particles, two LAPACK solves (np.linalg.solve: pivoted, blocked) instead, which beat one
unblocked factorisation there. The step is set by accuracy,
not by the fastest pair: stiff modes are damped (R(inf) = 0). No dt is unstable: a linear
mode of rate a is multiplied by R(a dt) in (0, 1) per step, at any dt, so there is no upper
bound to check; but the Jacobian is frozen at the step's start, and a start far from the
steady state at dt >> tau_fast overshoots in its first steps (a 90 K jump, dt = 70 tau_fast:
~40 K past the hottest thermostat) before settling (docs/limits.md). Energy is conserved exactly:
each stage is rewritten as pair flows q_ij = dt f_ij + gamma dt (G_ij k_j - G_ji k_i) (...),
antisymmetric in (i, j), and the update applies Q_ij = 3/2 q1_ij + 1/2 q2_ij pairwise, so
sum_i C_i dT_i = thermostat + environment supply to round-off. Thermostated particles
enter the stages with the increments k1 = D, k2 = -D, D = T_sched(t + dt) - T_sched(t)
(exact for ramps), and are set to T_sched(t + dt) after the step.

Noise (``noise=True``, docs/model.md §B4): each pair touching a free particle (and each particle's
environment pair) exchanges xi_ij = sqrt(2 kB T_i T_j Gs_ij dt) z_ij, Gs_ij = (G_ij + G_ji)/2
at the step's start, z_ij a Philox normal keyed on (seed, step, pair index) (environment
pair of particle i: index n_pairs + i); +xi to i, -xi to j (a thermostat absorbs its side).
It is added after the deterministic step (splitting): for a mode of rate a the stationary
variance is kB T^2/C * (1 + O(a dt)), so noisy runs need a dt << 1/a_max (the tests use
a dt a_max <= 2e-3; ``NetworkSystem.stiffness_dt`` gives a_max dt).

Steady state: ``steady_state`` steps until max_i |dT_i/dt| tau_relax / T_i < rtol over the
free particles, tau_relax = 1 / min |Re lambda| of C^-1 A (free block, at the current
state): the relative distance to the steady state along the slowest mode.

Units SI: K, s, W, J, J/K. Pairs are the i < j pairs in ``np.triu_indices(N, 1)`` order;
pair quantities are "into i from j" (W or J), antisymmetric, so the flow into j is minus it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import constants as sc

from sim.radiative.network import Network
from sim.radiative.spectra import dtheta_dT, theta
from sim.rng import normal_pair, seed_key
from sim.schedule import Schedule, make_schedule, schedule_T
from sim.simulation import Checkpointer, Deadline, ProgressBar, RunawayError, Simulation, StopWhen, run_recorded
from sim.validation import check_choice, check_positive

ROLES = ("thermostat", "free")
KB = sc.k
GAMMA = 1.0 + 1.0 / math.sqrt(2.0)
#: default spectral quadrature tolerance for the tables (the spectra are cached, so this is cheap)
TABLE_RTOL = 1e-8
#: free particles above which the kernel's two LAPACK solves beat its unpivoted LU (measured:
#: equal near 64, 2x faster at 128, 3x at 256; below, LAPACK's call overhead dominates)
DENSE_MIN = 64


@dataclass(frozen=True, eq=False)
class NetworkParams:
    """Parameters of a network temperature dynamics run (validated on construction).

    network: a ``Network`` (geometry, materials, field).
    roles: (N,) "thermostat" or "free" per particle.
    thermostats: one per thermostated particle, in particle order: a temperature (K), a
        ``Schedule`` (t in s, T in K) or a dict for ``make_schedule``.
    T_init: free particles' initial temperatures (K): scalar, (n_free,) or (N,) (thermostat
        entries ignored). Default: the mean thermostat temperature at t = 0, else T_env.
    C: heat capacities (N,) or scalar, J/K. Default ``network.heat_capacities`` (rho c_p V).
    environment: exchange with the vacuum field at T_env (K). True by default for user
        networks; Ben-Abdallah's studies switch it off.
    dt: time step (s); None: 1/20 of the slowest relaxation time at T_init (accuracy-set). Any dt
        is stable; for faithful transients far from the steady state take dt <~ the fastest
        relaxation time (``NetworkSystem.relaxation_times``; module docstring).
    noise, seed: energy-conserving pair noise (module doc) and its Philox seed.
    T_grid: None (auto: from the lowest to the highest temperature the run can reach,
        padded), a (low, high) pair in K, or an explicit increasing uniform grid (K).
    rtol_spectra: relative tolerance of the spectral quadrature behind the tables.
    """

    network: Network
    roles: tuple
    thermostats: tuple = ()
    T_init: object = None
    C: object = None
    environment: bool = True
    T_env: float = 300.0
    dt: float | None = None
    noise: bool = False
    seed: int = 0
    T_grid: object = None
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
        return self.network.N

    @property
    def free(self) -> np.ndarray:
        """(N,) bool mask of the free particles."""
        return np.array([r == "free" for r in self.roles])

    def to_dict(self) -> dict:
        net = self.network
        return {"positions": net.positions.tolist(), "radii": net.radii.tolist(),
                "materials": [m.name for m in net.materials], "B": net.B, "roles": list(self.roles),
                "thermostats": [dataclasses.asdict(s) for s in self.thermostats],
                "T_init": self.T_init.tolist(), "C": self.C.tolist(), "environment": self.environment,
                "T_env": self.T_env, "dt": self.dt, "noise": self.noise, "seed": int(self.seed),
                "rtol_spectra": self.rtol_spectra}


@dataclass
class NetworkState:
    """Dynamic state. T (N,) K (thermostated entries follow their schedules); Q_pair (n_pairs,)
    cumulative heat into i from j (J) per i < j pair; Q_thermostat (N,) cumulative energy each
    thermostat supplied (J; zero for free particles); Q_env (N,) cumulative heat from the
    environment (J); acc (1,): cumulative entropy production (J/K); step (time = step * dt)."""

    T: np.ndarray
    Q_pair: np.ndarray
    Q_thermostat: np.ndarray
    Q_env: np.ndarray
    acc: np.ndarray
    step: int = 0

    def copy(self) -> "NetworkState":
        return NetworkState(self.T.copy(), self.Q_pair.copy(), self.Q_thermostat.copy(), self.Q_env.copy(),
                            self.acc.copy(), self.step)


OBSERVABLES = {
    "T": (("time", "particle"), "K", "particle temperature"),
    "P_net": (("time", "particle"), "W", "net network + environment power into each particle"),
    "pair_power": (("time", "pair"), "W", "heat flow into i from j, f_ij = Phi_ij(T_j) - Phi_ji(T_i), i < j pairs"),
    "thermostat_power": (("time", "particle"), "W",
                         "power each thermostat supplies to hold its particle against the network "
                         "(= -P_net; 0 for free particles; excludes C dT/dt of a moving schedule)"),
    "env_power": (("time", "particle"), "W", "heat from the environment into each particle (0 without it)"),
    "Q_pair": (("time", "pair"), "J", "cumulative heat into i from j, i < j pairs"),
    "Q_thermostat": (("time", "particle"), "J", "cumulative energy supplied by each thermostat (incl. C dT of its schedule)"),
    "Q_env": (("time", "particle"), "J", "cumulative heat from the environment into each particle"),
    "energy_stored": (("time",), "J", "sum_i C_i (T_i - T_i(0)), all particles"),
    "ledger_error": (("time",), "J", "energy_stored - (sum Q_thermostat + sum Q_env): zero to round-off"),
    "entropy_production": (("time",), "J/K", "cumulative sum over pairs Q_ij (1/T_i - 1/T_j) (+ environment), midpoint T"),
}


def _stored(p, s, s0) -> float:
    return float(np.sum(p.C * (s.T - s0.T)))


def _supplied(s, s0) -> float:
    return float(np.sum(s.Q_thermostat - s0.Q_thermostat) + np.sum(s.Q_env - s0.Q_env))


#: observables read off the state, without the emission tables: name -> f(params, state, initial)
_STATE_OBSERVABLES = {
    "T": lambda p, s, s0: s.T.copy(), "Q_pair": lambda p, s, s0: s.Q_pair.copy(),
    "Q_thermostat": lambda p, s, s0: s.Q_thermostat.copy(), "Q_env": lambda p, s, s0: s.Q_env.copy(),
    "energy_stored": _stored, "ledger_error": lambda p, s, s0: _stored(p, s, s0) - _supplied(s, s0),
    "entropy_production": lambda p, s, s0: float(s.acc[0] - s0.acc[0]),
}


# ---------------------------------------------------------------------------- tables
def build_tables(net: Network, T_grid: np.ndarray, environment: bool, T_env: float, rtol: float):
    """Phi and G = dPhi/dT tables from one quadrature each (same frequency nodes).

    Returns dict: "P", "G" (N, nT, N) with [j, k, i] = Phi_ij(T_k), dPhi_ij/dT(T_k) (W, W/K:
    source-major for contiguous access); with the environment also "Pout", "Gout" (nT, N)
    (power i radiates away at T_k, and its derivative), "Pin", "Gin" (N,) at T_env.
    """
    Tg = np.asarray(T_grid, float)
    N, nT = net.N, len(Tg)

    def weights(w):
        return np.concatenate([theta(w[None, :], Tg[:, None]), dtheta_dT(w[None, :], Tg[:, None])])

    res = net.spectral_integral("pairs", weights, Tg.max(), rtol)  # (2 nT, N*N), one set of nodes
    val = res.value.reshape(2, nT, N, N)
    out = {"P": np.ascontiguousarray(val[0].transpose(2, 0, 1)), "G": np.ascontiguousarray(val[1].transpose(2, 0, 1)),
           "Pout": np.zeros((nT, N)), "Gout": np.zeros((nT, N)), "Pin": np.zeros(N), "Gin": np.zeros(N),
           "rel_error": res.rel_error}
    if environment:
        Te = np.append(Tg, T_env)
        res = net.spectral_integral("env", lambda w: np.concatenate([theta(w[None, :], Te[:, None]),
                                                              dtheta_dT(w[None, :], Te[:, None])]), Te.max(), rtol)
        v = res.value.reshape(2, nT + 1, 2 * N)
        out.update(Pout=np.ascontiguousarray(v[0, :nT, N:]), Gout=np.ascontiguousarray(v[1, :nT, N:]),
                   Pin=v[0, nT, :N].copy(), Gin=v[1, nT, :N].copy())
        out["rel_error"] = max(out["rel_error"], res.rel_error)
    return out


def auto_grid(params: NetworkParams, spacing: float | None = None) -> np.ndarray:
    """Uniform grid (K) from the lowest to the highest temperature the run can reach, padded.

    Range: thermostat schedule extremes, T_init and (with the environment) T_env; padded by
    max(10 % of the span, 2 K) plus, with noise, 12 standard deviations sqrt(kB T^2 / C).
    Spacing: ``spacing`` or min(1 K, T_low / 300), at least 16 points.
    """
    temps = list(params.T_init)
    for s in params.thermostats:
        temps += list(s.extremes)
    if params.environment:
        temps.append(params.T_env)
    lo, hi = min(temps), max(temps)
    pad = max(0.1 * (hi - lo), 2.0)
    if params.noise:
        pad += 12.0 * math.sqrt(KB * hi**2 / params.C.min())
    lo, hi = max(lo - pad, 0.5 * lo), hi + pad
    h = spacing if spacing is not None else min(1.0, lo / 300.0)
    n = max(16, int(math.ceil((hi - lo) / h)) + 1)
    return np.linspace(lo, hi, n)


# ---------------------------------------------------------------------------- kernels
@njit(cache=True, error_model="numpy", inline="always")
def _hermite_cell(T, T0, dTg, nT):
    """Grid cell k and position s in [0, 1] of temperature T; k = -1 outside the grid (or not finite)."""
    x = (T - T0) / dTg
    if not (x >= 0.0 and x <= nT - 1.0):
        return -1, 0.0
    k = min(int(x), nT - 2)
    return k, x - k


@njit(cache=True, error_model="numpy", inline="always")
def _hermite_basis(s, dTg):
    """Cubic Hermite weights (value: h00, h10, h01, h11; derivative: d00, d10, d01, d11) at s."""
    s2 = s * s
    s3 = s2 * s
    d00 = (6.0 * s2 - 6.0 * s) / dTg
    return (2.0 * s3 - 3.0 * s2 + 1.0, (s3 - 2.0 * s2 + s) * dTg, -2.0 * s3 + 3.0 * s2, (s3 - s2) * dTg,
            d00, 3.0 * s2 - 4.0 * s + 1.0, -d00, 3.0 * s2 - 2.0 * s)


@njit(cache=True, error_model="numpy")
def emission(T, tabP, tabG, T0, dTg, E, Gm):
    """E[i, j] = Phi_ij(T_j) (W), Gm[i, j] = dPhi_ij/dT(T_j) (W/K) by cubic Hermite
    interpolation of tabP/tabG ([j, k, i]). Returns -1, or the first particle whose
    temperature lies outside the grid (or is not finite)."""
    N = T.shape[0]
    for j in range(N):
        k, s = _hermite_cell(T[j], T0, dTg, tabP.shape[1])
        if k < 0:
            return j
        h00, h10, h01, h11, d00, d10, d01, d11 = _hermite_basis(s, dTg)
        for i in range(N):
            p0, p1, g0, g1 = tabP[j, k, i], tabP[j, k + 1, i], tabG[j, k, i], tabG[j, k + 1, i]
            E[i, j] = h00 * p0 + h10 * g0 + h01 * p1 + h11 * g1
            Gm[i, j] = d00 * p0 + d10 * g0 + d01 * p1 + d11 * g1
    return -1


@njit(cache=True, error_model="numpy")
def env_emission(T, tabO, tabGO, T0, dTg, eo, go):
    """eo[i] = Phi_out_i(T_i) (W), go[i] = its T-derivative (W/K), Hermite as ``emission``."""
    for i in range(T.shape[0]):
        k, s = _hermite_cell(T[i], T0, dTg, tabO.shape[0])
        if k < 0:
            return i
        h00, h10, h01, h11, d00, d10, d01, d11 = _hermite_basis(s, dTg)
        p0, p1, g0, g1 = tabO[k, i], tabO[k + 1, i], tabGO[k, i], tabGO[k + 1, i]
        eo[i] = h00 * p0 + h10 * g0 + h01 * p1 + h11 * g1
        go[i] = d00 * p0 + d10 * g0 + d01 * p1 + d11 * g1
    return -1


@njit(cache=True, error_model="numpy")
def _lu(M, n):
    """In-place LU (Doolittle, no pivoting) of the leading n x n block. M = diag(C) + gamma dt L
    with L a weighted Laplacian is column diagonally dominant, so no pivoting is needed."""
    for k in range(n):
        piv = M[k, k]
        for i in range(k + 1, n):
            M[i, k] /= piv
        for i in range(k + 1, n):
            f = M[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    M[i, j] -= f * M[k, j]


@njit(cache=True, error_model="numpy")
def _lu_solve(M, n, b):
    """Solve (LU) x = b in place with the factors ``_lu`` left in M."""
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= M[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= M[i, j] * b[j]
        b[i] = s / M[i, i]


@njit(cache=True, error_model="numpy")
def _solve(M, n, b, dense):
    """b <- M^-1 b: LAPACK on the unfactored M (dense), else with the ``_lu`` factors in M."""
    if dense:
        b[:] = np.linalg.solve(M, b)
    else:
        _lu_solve(M, n, b)


@njit(cache=True, error_model="numpy")
def advance_kernel(T, Qp, Qth, Qenv, acc, step0, nsteps, dt, C, free_idx, sched_kind, sched_p,
                   tabP, tabG, T0, dTg, env, Pin, Gin, tabO, tabGO, T_env, noise, k0, k1, kB):
    """Advance ``nsteps`` ROS2 steps in place (module doc). Returns (steps done, status,
    particle): status 0 ok, 1 a temperature left the tabulated grid (particle given)."""
    N = T.shape[0]
    nf = free_idx.shape[0]
    gam = 1.0 + 1.0 / math.sqrt(2.0)
    npairs = N * (N - 1) // 2
    E = np.zeros((N, N))
    Gm = np.zeros((N, N))
    E2 = np.zeros((N, N))
    G2 = np.zeros((N, N))
    q1 = np.zeros((N, N))
    Q = np.zeros((N, N))
    eo = np.zeros(N)
    go = np.zeros(N)
    eo2 = np.zeros(N)
    go2 = np.zeros(N)
    e1 = np.zeros(N)
    eQ = np.zeros(N)
    D = np.zeros(N)
    kk = np.zeros(N)
    Ts = np.zeros(N)
    b = np.zeros(nf)
    M = np.zeros((nf, nf))
    dense = nf > DENSE_MIN
    for n in range(nsteps):
        step = step0 + n
        t = step * dt
        # thermostat increments over the step
        for i in range(N):
            D[i] = 0.0
            if sched_kind[i] >= 0:
                D[i] = schedule_T(sched_kind[i], sched_p[i], t + dt) - T[i]
        bad = emission(T, tabP, tabG, T0, dTg, E, Gm)
        if bad >= 0:
            return n, 1, bad
        if env:
            bad = env_emission(T, tabO, tabGO, T0, dTg, eo, go)
            if bad >= 0:
                return n, 1, bad
        # M = diag(C) - gamma dt A on the free block
        for a in range(nf):
            i = free_idx[a]
            diag = go[i] if env else 0.0
            for j in range(N):
                if j != i:
                    diag += Gm[j, i]
            for c in range(nf):
                M[a, c] = -gam * dt * Gm[i, free_idx[c]]
            M[a, a] = C[i] + gam * dt * diag
        if not dense:
            _lu(M, nf)
        # stage 1
        for i in range(N):
            kk[i] = D[i]
        for a in range(nf):
            i = free_idx[a]
            r = 0.0
            for j in range(N):
                if j != i:
                    r += dt * (E[i, j] - E[j, i])
                    if sched_kind[j] >= 0:
                        r += gam * dt * Gm[i, j] * D[j]
            if env:
                r += dt * (Pin[i] - eo[i])
            b[a] = r
        _solve(M, nf, b, dense)
        for a in range(nf):
            kk[free_idx[a]] = b[a]
        for i in range(N):
            for j in range(i + 1, N):
                v = dt * (E[i, j] - E[j, i]) + gam * dt * (Gm[i, j] * kk[j] - Gm[j, i] * kk[i])
                q1[i, j] = v
                q1[j, i] = -v
            e1[i] = (dt * (Pin[i] - eo[i]) - gam * dt * go[i] * kk[i]) if env else 0.0
            Ts[i] = T[i] + kk[i]
        # stage 2 at T + k1 (thermostats at T_sched(t + dt))
        bad = emission(Ts, tabP, tabG, T0, dTg, E2, G2)
        if bad >= 0:
            return n, 1, bad
        if env:
            bad = env_emission(Ts, tabO, tabGO, T0, dTg, eo2, go2)
            if bad >= 0:
                return n, 1, bad
        for i in range(N):
            kk[i] = -D[i]
        for a in range(nf):
            i = free_idx[a]
            r = 0.0
            for j in range(N):
                if j != i:
                    r += dt * (E2[i, j] - E2[j, i]) - 2.0 * q1[i, j]
                    if sched_kind[j] >= 0:
                        r -= gam * dt * Gm[i, j] * D[j]
            if env:
                r += dt * (Pin[i] - eo2[i]) - 2.0 * e1[i]
            b[a] = r
        _solve(M, nf, b, dense)
        for a in range(nf):
            kk[free_idx[a]] = b[a]
        for i in range(N):
            for j in range(i + 1, N):
                q2 = dt * (E2[i, j] - E2[j, i]) - 2.0 * q1[i, j] + gam * dt * (Gm[i, j] * kk[j] - Gm[j, i] * kk[i])
                v = 1.5 * q1[i, j] + 0.5 * q2
                Q[i, j] = v
                Q[j, i] = -v
            if env:
                e2 = dt * (Pin[i] - eo2[i]) - 2.0 * e1[i] - gam * dt * go[i] * kk[i]
                eQ[i] = 1.5 * e1[i] + 0.5 * e2
            else:
                eQ[i] = 0.0
        if noise:
            p = 0
            for i in range(N):
                for j in range(i + 1, N):
                    if sched_kind[i] < 0 or sched_kind[j] < 0:
                        gs = 0.5 * (Gm[i, j] + Gm[j, i])
                        if gs > 0.0:
                            z = normal_pair(k0, k1, step, p, 0, 0)[0]
                            xi = math.sqrt(2.0 * kB * T[i] * T[j] * gs * dt) * z
                            Q[i, j] += xi
                            Q[j, i] -= xi
                    p += 1
            if env:
                for i in range(N):
                    if sched_kind[i] < 0:
                        gs = 0.5 * (Gin[i] + go[i])
                        if gs > 0.0:
                            z = normal_pair(k0, k1, step, npairs + i, 0, 0)[0]
                            eQ[i] += math.sqrt(2.0 * kB * T[i] * T_env * gs * dt) * z
        # apply: free particles take their pair flows; thermostats are reset to the schedule
        ds = 0.0
        for i in range(N):
            net = eQ[i]
            for j in range(N):
                if j != i:
                    net += Q[i, j]
            Tn = T[i] + net / C[i] if sched_kind[i] < 0 else T[i] + D[i]
            if sched_kind[i] >= 0:
                Qth[i] += C[i] * D[i] - net
            Ts[i] = 0.5 * (T[i] + Tn)  # midpoint, for the entropy production
            T[i] = Tn
            Qenv[i] += eQ[i]
            if env:
                ds += eQ[i] * (1.0 / Ts[i] - 1.0 / T_env)
        p = 0
        for i in range(N):
            for j in range(i + 1, N):
                Qp[p] += Q[i, j]
                ds += Q[i, j] * (1.0 / Ts[i] - 1.0 / Ts[j])
                p += 1
        acc[0] += ds
        for i in range(N):
            if not np.isfinite(T[i]):
                return n + 1, 1, i
    return nsteps, 0, -1


# ---------------------------------------------------------------------------- the system
class NetworkSystem:
    """A network ready to be stepped (``sim.simulation.Simulation`` protocol).

    Builds the Phi/G tables (``build_tables``) on ``params.T_grid`` or ``auto_grid``, fixes
    dt (``params.dt`` or 1/20 of the slowest relaxation time at T_init) and exposes
    ``initial_state``, ``advance``, ``observe``, ``rates`` and ``relaxation_times``.
    ``self.params`` is the validated parameter set with dt resolved.
    """

    def __init__(self, params: NetworkParams, tables: dict | None = None):
        p = params
        net = p.network
        N = p.N
        if p.T_grid is None:
            Tg = auto_grid(p)
        else:
            g = np.asarray(check_positive("T_grid", p.T_grid, unit="K"), float)
            if g.shape == (2,):
                Tg = np.linspace(g[0], g[1], max(16, int(math.ceil((g[1] - g[0]) / min(1.0, g[0] / 300))) + 1))
            else:
                Tg = g
            if len(Tg) < 2 or not np.all(np.diff(Tg) > 0) or not np.allclose(np.diff(Tg), Tg[1] - Tg[0], rtol=1e-9):
                raise ValueError(f"T_grid = {p.T_grid!r}; allowed: (low, high) in K or an increasing uniform grid")
        self.T_grid = Tg
        lo, hi = Tg[0], Tg[-1]
        reach = list(p.T_init) + [x for s in p.thermostats for x in s.extremes] + ([p.T_env] if p.environment else [])
        if min(reach) < lo or max(reach) > hi:
            raise ValueError(f"T_grid = [{lo:.6g}, {hi:.6g}] K does not cover the run's temperatures "
                             f"[{min(reach):.6g}, {max(reach):.6g}] K (T_init, thermostats, T_env); allowed: a grid covering them")
        self.tables = tables if tables is not None else build_tables(net, Tg, p.environment, p.T_env, p.rtol_spectra)
        self.free_idx = np.nonzero(p.free)[0].astype(np.int64)
        self.sched_kind = np.full(N, -1, np.int64)
        self.sched_p = np.zeros((N, 4))
        it = iter(p.thermostats)
        for i, r in enumerate(p.roles):
            if r == "thermostat":
                self.sched_kind[i], self.sched_p[i] = next(it).encode()
        self.key = seed_key(p.seed)
        iu = np.triu_indices(N, 1)
        self.pairs = np.stack(iu, axis=1)
        self.dims = {"particle": N, "pair": len(self.pairs)}
        self.observables = OBSERVABLES
        self.params = p
        if p.dt is None:
            tau = self.relaxation_times(p.T_init)
            finite = tau[np.isfinite(tau)]
            if finite.size == 0:
                raise ValueError("dt = None needs a finite relaxation time: give dt explicitly "
                                 "(no free particle, or the free network is isolated)")
            self.params = dataclasses.replace(p, dt=float(finite.max() / 20.0))

    def _constants(self) -> tuple:
        """The kernel's arguments after the state's, built once (the loop may call every few steps)."""
        if getattr(self, "_kernel_constants", None) is None:
            p, t = self.params, self.tables
            self._kernel_constants = (
                p.dt, p.C, self.free_idx, self.sched_kind, self.sched_p, t["P"], t["G"], self.T_grid[0],
                self.T_grid[1] - self.T_grid[0], p.environment, t["Pin"], t["Gin"], t["Pout"], t["Gout"], p.T_env,
                p.noise, self.key[0], self.key[1], KB)
        return self._kernel_constants

    # -- tables ------------------------------------------------------------------
    def _emission(self, T):
        N = self.params.N
        t = self.tables
        E, Gm = np.zeros((N, N)), np.zeros((N, N))
        bad = emission(np.asarray(T, float), t["P"], t["G"], self.T_grid[0], self.T_grid[1] - self.T_grid[0], E, Gm)
        if bad >= 0:
            raise RunawayError(self._outside(bad, T[bad]))
        eo, go = np.zeros(N), np.zeros(N)
        if self.params.environment:
            env_emission(np.asarray(T, float), t["Pout"], t["Gout"], self.T_grid[0], self.T_grid[1] - self.T_grid[0], eo, go)
        return E, Gm, eo, go

    def _outside(self, i, Ti) -> str:
        return (f"temperature of particle {i} = {float(Ti):.6g} K left the tabulated range "
                f"[{self.T_grid[0]:.6g}, {self.T_grid[-1]:.6g}] K (or is not finite); pass T_grid=(low, high) covering "
                "the run, or a smaller dt")

    def rates(self, T) -> dict:
        """Powers at temperatures T (N,) K: "P" (N,) W net into each particle, "pair" (N, N)
        W into i from j, "env" (N,) W from the environment, "A" (N, N) W/K = dP_i/dT_j."""
        T = np.asarray(T, float)
        E, Gm, eo, go = self._emission(T)
        f = E - E.T
        env = (self.tables["Pin"] - eo) if self.params.environment else np.zeros(len(T))
        A = Gm.copy()
        np.fill_diagonal(A, 0.0)
        A[np.diag_indices(len(T))] = -Gm.sum(axis=0) + np.diag(Gm) - go
        return {"P": f.sum(axis=1) + env, "pair": f, "env": env, "A": A}

    def relaxation_times(self, T) -> np.ndarray:
        """Relaxation times 1/|Re lambda| (s), descending, of the linearised free dynamics
        C^-1 A (free block) at temperatures T (N,); inf for a conserved mode."""
        fi = self.free_idx
        if fi.size == 0:
            return np.array([])
        A = self.rates(T)["A"][np.ix_(fi, fi)] / self.params.C[fi][:, None]
        lam = np.abs(np.linalg.eigvals(A).real)
        scale = np.abs(A).max() if A.size else 0.0
        with np.errstate(divide="ignore"):
            tau = np.where(lam > 1e-12 * scale, 1.0 / np.maximum(lam, 1e-300), np.inf)
        return np.sort(tau)[::-1]

    def stiffness_dt(self, T=None) -> float:
        """a_max dt: the fastest relaxation rate of the free block times dt (noise accuracy)."""
        tau = self.relaxation_times(self.params.T_init if T is None else T)
        return float(self.params.dt / tau.min()) if tau.size else 0.0

    # -- protocol ----------------------------------------------------------------
    def initial_state(self) -> NetworkState:
        N = self.params.N
        return NetworkState(self.params.T_init.copy(), np.zeros(len(self.pairs)), np.zeros(N), np.zeros(N),
                            np.zeros(1), 0)

    def advance(self, state: NetworkState, nsteps: int) -> None:
        """Advance ``state`` in place by ``nsteps`` steps; RunawayError if a temperature
        leaves the tabulated grid."""
        done, status, bad = advance_kernel(state.T, state.Q_pair, state.Q_thermostat, state.Q_env, state.acc,
                                           state.step, int(nsteps), *self._constants())
        state.step += int(done)
        if status != 0:
            raise RunawayError(f"runaway at step {state.step} (t = {state.step * self.params.dt:.6g} s): "
                               + self._outside(bad, state.T[bad]))

    def observe(self, state: NetworkState, initial: NetworkState, names=None) -> dict:
        """The observables ``names`` (None: all of ``OBSERVABLES``) at ``state`` (``initial``: the
        run's start). The powers (an emission-table lookup) are computed only when asked for."""
        names = OBSERVABLES if names is None else names
        rates = None
        snap = {}
        for name in names:
            if name in _STATE_OBSERVABLES:
                snap[name] = _STATE_OBSERVABLES[name](self.params, state, initial)
            else:
                rates = rates or self.rates(state.T)
                snap[name] = self._power_observable(name, rates)
        return snap

    def _power_observable(self, name: str, rates: dict):
        if name == "pair_power":
            i, j = self.pairs.T
            return rates["pair"][i, j]
        if name == "thermostat_power":
            return np.where(self.params.free, 0.0, -rates["P"])
        return rates[{"P_net": "P", "env_power": "env"}[name]]

    def file_attrs(self) -> dict:
        """HDF5 attributes for an animation renderer: system, geometry, roles, pair list."""
        p = self.params
        return {"system": "network", "positions": p.network.positions, "radii": p.network.radii,
                "materials": [m.name for m in p.network.materials], "roles": list(p.roles),
                "pairs": self.pairs, "params": p.to_dict()}


def simulate_network(params: NetworkParams, nsteps: int, record_every: int, path=None, progress: bool = False,
                     desc: str = "network", ctx=None, system: NetworkSystem | None = None, observables=None,
                     start=None) -> dict:
    """Run ``params`` for ``nsteps`` steps recording every ``record_every`` (HDF5 at ``path``,
    or in memory when None) through ``sim.simulation.run_recorded``: with a run context ``ctx``
    it checkpoints, stops at the wall time and resumes. observables: the names recorded (None:
    all); start: a callable giving the state to begin from (default: the initial state).
    Returns {"system", "state" (None if ``path`` was completed earlier), "info", "recorder"}."""
    system = system or NetworkSystem(params)
    out = run_recorded(system, nsteps, record_every, path=path, progress=progress, desc=desc, ctx=ctx,
                       attrs=system.file_attrs(), time_units="s", observables=observables, start=start)
    return {"system": system} | out


class SteadyCriterion:
    """max_free |dT_i/dt| tau_relax / T_i < rtol at the loop's state (``steady_state``), with the
    memory that tells a criterion stalled on its round-off floor (kept in checkpoints)."""

    def __init__(self, system: NetworkSystem, rtol: float, round_off_floor: float):
        self.system, self.rtol, self.round_off_floor = system, rtol, round_off_floor
        self.best, self.best_step, self.limited = math.inf, -1, False
        self.value = self.tau = self.rates = None

    def evaluate(self, state) -> float:
        s = self.system
        free, C = s.free_idx, s.params.C
        self.tau = s.relaxation_times(state.T)[0]
        self.rates = s.rates(state.T)
        self.value = float(np.max(np.abs(self.rates["P"][free] / C[free]) * self.tau / state.T[free]))
        return self.value

    def __call__(self, sim) -> bool:
        step = sim.state.step
        if self.evaluate(sim.state) < self.rtol:
            return True
        if self.value < 0.5 * self.best:
            self.best, self.best_step = self.value, step
        elif step - self.best_step > max(50, 5.0 * self.tau / self.system.params.dt):
            # no progress for 5 relaxation times: the criterion sits on its round-off floor
            # (~ eps * stiffness); accept it if that floor is still small, say so
            if self.best > self.round_off_floor:
                raise RuntimeError(f"steady_state: criterion stalled at {self.best:.3g} > round_off_floor = "
                                   f"{self.round_off_floor:g} (rtol = {self.rtol:g}); the dynamics does not settle")
            self.limited = True
            return True
        return False

    def extra(self) -> dict:
        return {"best": self.best, "best_step": self.best_step}

    def restore(self, extra: dict) -> None:
        self.best = float(extra.get("best", self.best))
        self.best_step = int(extra.get("best_step", self.best_step))


def steady_state(params: NetworkParams, rtol: float = 1e-6, max_steps: int = 1_000_000, check_every: int = 1,
                 system: NetworkSystem | None = None, state: NetworkState | None = None,
                 round_off_floor: float = 1e-9, checkpoint_path=None, ctx=None, progress: bool = False,
                 desc: str = "steady state") -> dict:
    """Run the (noise-free) dynamics until max_free |dT_i/dt| tau_relax / T_i < rtol.

    tau_relax: the slowest relaxation time of the free block at the current state
    (``NetworkSystem.relaxation_times``). Returns {"state", "T" (N,) K, "time" (s),
    "steps", "criterion" (the final value), "tau_relax" (s), "dt" (s), "rates" (see
    ``NetworkSystem.rates`` at the final state), "system"}. Raises ValueError for a noisy
    run, a network without free particles, or a free network that is isolated (no
    thermostat, no environment: its energy is conserved and nothing drives it);
    RuntimeError if max_steps pass first. An rtol below the criterion's round-off floor
    (~ 1e-16 x the stiffness ratio) is met as far as it can be: when the criterion stops
    falling for 5 relaxation times while below ``round_off_floor``, the run stops with
    "round_off_limited": True (else RuntimeError).

    The search runs in the shared loop (``sim.simulation``) with the criterion as its stop
    condition. checkpoint_path: where it checkpoints (every ``ctx.checkpoint_every`` steps
    and when stopped early, e.g. by ``ctx``'s wall-time deadline); the steady state found
    is kept there too, so with ``ctx.resume`` a search resumes where it stopped, or returns
    the state it found, identically.
    """
    from sim import checkpoint

    check_positive("rtol", rtol)
    if params.noise:
        raise ValueError("noise = True; allowed for steady_state: noise = False (a noisy run has no fixed point)")
    if not params.free.any():
        raise ValueError("roles has no 'free' particle: the steady state is the thermostats' prescription")
    if params.free.all() and not params.environment:
        raise ValueError("roles are all 'free' and environment = False: the network is isolated (no thermostat, "
                         "no environment), its energy is conserved and there is no drive or steady state to "
                         "approach; allowed: at least one thermostated particle or environment = True")
    system = system or NetworkSystem(params)
    crit = SteadyCriterion(system, rtol, round_off_floor)
    initial = extra = None
    if checkpoint_path is not None and getattr(ctx, "resume", False) and checkpoint.exists(checkpoint_path):
        state, initial, _, extra = checkpoint.load(checkpoint_path, NetworkState)
    state = state if state is not None else system.initial_state()
    reporters = [StopWhen(crit, check_every, "steady state reached"), ProgressBar(desc, quiet=not progress)]
    if checkpoint_path is not None:
        reporters.append(Checkpointer(checkpoint_path, getattr(ctx, "checkpoint_every", None)))
    if getattr(ctx, "deadline", None) is not None:
        reporters.append(Deadline(ctx.deadline))
    sim = Simulation(system, state=state, initial=initial, reporters=reporters, extra=extra)
    first = sim.state.step
    sim.run_to(sim.initial.step + int(max_steps))
    if ctx is not None:
        ctx.ring_steps += float(sim.state.step - first) * params.N
        ctx.kernel_time += sim.wall_time
    if sim.stop_reason is None:
        if crit.evaluate(sim.state) >= rtol:
            raise RuntimeError(f"steady_state: criterion {crit.value:.3g} >= rtol = {rtol:g} after {max_steps} steps "
                               f"(dt = {system.params.dt:.4g} s, tau_relax = {crit.tau:.4g} s); raise max_steps")
    if checkpoint_path is not None:  # the steady state found is kept: a resumed scenario returns it
        sim.save_checkpoint()
    steps = sim.state.step - sim.initial.step
    return {"state": sim.state, "T": sim.state.T.copy(), "time": steps * system.params.dt, "steps": steps,
            "criterion": crit.value, "round_off_limited": crit.limited, "tau_relax": crit.tau, "dt": system.params.dt,
            "rates": crit.rates, "system": system}
