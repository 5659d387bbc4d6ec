"""Phi_ij(T) and G_ij(T) = dPhi_ij/dT tables from one spectral quadrature each (same nodes), on
the uniform temperature grid the kernel interpolates (cubic Hermite)."""

from __future__ import annotations

import math

import numpy as np

from sim.radiative.dynamics.model import KB, NetworkParams
from sim.radiative.network import Network
from sim.radiative.spectra import dtheta_dT, theta


def build_tables(net: Network, T_grid: np.ndarray, environment: bool, T_env: float, rtol: float) -> dict:
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
    out = {
        "P": np.ascontiguousarray(val[0].transpose(2, 0, 1)),
        "G": np.ascontiguousarray(val[1].transpose(2, 0, 1)),
        "Pout": np.zeros((nT, N)),
        "Gout": np.zeros((nT, N)),
        "Pin": np.zeros(N),
        "Gin": np.zeros(N),
        "rel_error": res.rel_error,
    }
    if environment:
        Te = np.append(Tg, T_env)
        res = net.spectral_integral(
            "env",
            lambda w: np.concatenate([theta(w[None, :], Te[:, None]), dtheta_dT(w[None, :], Te[:, None])]),
            Te.max(),
            rtol,
        )
        v = res.value.reshape(2, nT + 1, 2 * N)
        out.update(
            Pout=np.ascontiguousarray(v[0, :nT, N:]),
            Gout=np.ascontiguousarray(v[1, :nT, N:]),
            Pin=v[0, nT, :N].copy(),
            Gin=v[1, nT, :N].copy(),
        )
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
