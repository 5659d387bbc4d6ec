"""Equilibrium temperature fluctuations of a network: linear-response (Ornstein-Uhlenbeck)
predictions, the time-step bias of the noisy integrator, and correlation estimators.

Near equilibrium at temperature T the free temperatures x = T_free - T obey the OU process

    dx/dt = -M x + noise,   M = -C^-1 A   (1/s),   A = dP/dT on the free block (W/K),

whose stationary law is Gibbs: Sigma = kB T^2 C^-1 (K^2, diagonal: the equal-time
covariance of different particles vanishes), and whose lagged covariance is the Onsager
regression C(tau) = <x(t + tau) x(t)^T> = expm(-M tau) Sigma (tau >= 0). The noisy ROS2 run
(``sim.radiative.dynamics``) is, linearised, the recursion x_{n+1} = R x_n + w_n with R the
ROS2 step matrix and cov(w) = (M Sigma + Sigma M^T) dt (the pair noise, FDT), so its
stationary covariance is the discrete Lyapunov solution Sigma_dt = Sigma (1 + O(a dt)):
``discrete_stationary_covariance`` gives that bias exactly (linear order in the deviation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import expm, solve_discrete_lyapunov

from sim.radiative.dynamics import GAMMA, KB
from sim.stats import cross_correlation, peak_times

if TYPE_CHECKING:
    from sim.radiative.dynamics import NetworkSystem


def linear_response(system: NetworkSystem, T: float) -> tuple[np.ndarray, np.ndarray]:
    """(M, Sigma) of a ``NetworkSystem`` at uniform temperature T (K) on its free block:
    M (n_free, n_free) 1/s = -C^-1 A, Sigma (n_free, n_free) K^2 = kB T^2 C^-1."""
    fi = system.free_idx
    N = system.params.N
    A = system.rates(np.full(N, float(T)))["A"][np.ix_(fi, fi)]
    C = system.params.C[fi]
    return -A / C[:, None], np.diag(KB * T**2 / C)


def ros2_step_matrix(M: np.ndarray, dt: float) -> np.ndarray:
    """Step matrix R (n, n) of the kernel's ROS2 step for dx/dt = -M x (dt in s): with
    W = I + gamma dt M, k1 = -W^-1 dt M x, k2 = W^-1 (-dt M (x + k1) - 2 k1),
    x_new = x + 3/2 k1 + 1/2 k2."""
    n = M.shape[0]
    I = np.eye(n)
    Wi = np.linalg.inv(I + GAMMA * dt * M)
    K1 = -Wi @ (dt * M)
    K2 = Wi @ (-dt * M @ (I + K1) - 2.0 * K1)
    return I + 1.5 * K1 + 0.5 * K2


def discrete_stationary_covariance(R: np.ndarray, M: np.ndarray, Sigma: np.ndarray, dt: float) -> np.ndarray:
    """Stationary covariance (K^2) of x_{n+1} = R x_n + w_n, cov(w) = (M Sigma + Sigma M^T) dt:
    noise added after the deterministic step (the kernel's splitting). Equals Sigma as dt -> 0."""
    Q = (M @ Sigma + Sigma @ M.T) * dt
    S = solve_discrete_lyapunov(R, Q)
    return 0.5 * (S + S.T)


def lagged_covariance(M: np.ndarray, Sigma: np.ndarray, taus: ArrayLike) -> np.ndarray:
    """OU prediction C(tau) = expm(-M tau) Sigma, (n_tau, n, n) K^2, [k, a, b] = <x_a(t + tau_k) x_b(t)>;
    taus (n_tau,) s, >= 0."""
    return np.array([expm(-M * float(t)) @ Sigma for t in np.atleast_1d(taus)])


def predicted_peak(M: np.ndarray, Sigma: np.ndarray, a: int, b: int, tau_max: float, n: int = 4001) -> dict:
    """Peak of the normalised OU cross-correlation r_ab(tau) = C_ab(tau) / sqrt(Sigma_aa Sigma_bb)
    over 0 <= tau <= tau_max (s): {"lag" (s), "value"} (grid of n points + parabola)."""
    taus = np.linspace(0.0, tau_max, n)
    lam, V = np.linalg.eig(M)  # expm on a grid through one eigendecomposition (M diagonalisable)
    Vi = np.linalg.inv(V)
    Ct = np.einsum("ij,kj,jl->kil", V, np.exp(-np.outer(taus, lam)), Vi @ Sigma).real
    r = Ct[:, a, b] / np.sqrt(Sigma[a, a] * Sigma[b, b])
    lag = float(peak_times(taus, r[:, None])[0])
    return {"lag": lag, "value": float(lagged_covariance(M, Sigma, lag)[0, a, b] / np.sqrt(Sigma[a, a] * Sigma[b, b]))}


def normalised_peak(x: ArrayLike, y: ArrayLike, dt: float, max_lag: int) -> dict:
    """Peak of r(tau) = c(tau) / sqrt(<x^2> <y^2>) over lags 1 .. max_lag (dt: sample interval, s):
    {"lag" (s), "value"} at the vertex of the parabola through the top three samples (the
    sample itself when the maximum is on the window's edge)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    r = cross_correlation(x, y, max_lag) / np.sqrt(np.mean(x**2) * np.mean(y**2))
    k = int(np.argmax(r[1:])) + 1
    if k == max_lag or r[k - 1] > r[k]:
        return {"lag": k * dt, "value": float(r[k])}
    ym, y0, yp = r[k - 1], r[k], r[k + 1]
    curv = ym - 2.0 * y0 + yp
    shift = 0.5 * (ym - yp) / curv if curv < 0 else 0.0
    return {"lag": (k + shift) * dt, "value": float(y0 - 0.125 * (ym - yp) ** 2 / curv if curv < 0 else y0)}


def batched_peak(x: ArrayLike, y: ArrayLike, dt: float, max_lag: int, n_batches: int) -> dict:
    """``normalised_peak`` of the whole series, with standard errors from batch means: the
    series is cut into n_batches contiguous blocks (each much longer than the slowest
    correlation time, so their peaks are independent) and the spread of the blocks' peaks
    gives stderr = std / sqrt(n_batches). Returns {"lag", "value", "lag_stderr",
    "value_stderr", "n_batches"}."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    whole = normalised_peak(x, y, dt, max_lag)
    m = x.size // n_batches
    if m <= 4 * max_lag:
        raise ValueError(
            f"batched_peak: {n_batches} batches of {m} samples; allowed: batches longer than 4 max_lag = {4 * max_lag}"
        )
    parts = [normalised_peak(x[i * m : (i + 1) * m], y[i * m : (i + 1) * m], dt, max_lag) for i in range(n_batches)]
    sd = lambda key: float(np.std([p[key] for p in parts], ddof=1) / np.sqrt(n_batches))  # noqa: E731
    return {**whole, "lag_stderr": sd("lag"), "value_stderr": sd("value"), "n_batches": n_batches}
