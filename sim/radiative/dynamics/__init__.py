"""Temperature dynamics of a nanoparticle network (docs/model.md §B4).

    params = NetworkParams(net, roles=["thermostat", "thermostat", "free", "free"],
                           thermostats=[350.0, 300.0], environment=False)
    system = NetworkSystem(params)                 # tables, dt, validation
    out = simulate_network(params, nsteps, record_every, path="run.h5")   # NetworkRun: .state, .info, .recorder
    ss = steady_state(params, rtol=1e-6)           # SteadyState: .T, .time, .steps, .rates, ...

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

from sim.radiative.dynamics.kernels import DENSE_MIN, GAMMA, advance_kernel
from sim.radiative.dynamics.model import (
    KB,
    OBSERVABLES,
    ROLES,
    TABLE_RTOL,
    NetworkParams,
    NetworkState,
)
from sim.radiative.dynamics.runner import NetworkRun, simulate_network
from sim.radiative.dynamics.steady import SteadyCriterion, SteadyState, steady_state
from sim.radiative.dynamics.system import NetworkSystem
from sim.radiative.dynamics.tables import auto_grid, build_tables

__all__ = [
    "DENSE_MIN",
    "GAMMA",
    "KB",
    "OBSERVABLES",
    "ROLES",
    "TABLE_RTOL",
    "NetworkParams",
    "NetworkState",
    "NetworkRun",
    "NetworkSystem",
    "SteadyCriterion",
    "SteadyState",
    "advance_kernel",
    "auto_grid",
    "build_tables",
    "simulate_network",
    "steady_state",
]
