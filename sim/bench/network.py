"""Benchmark of the network dynamics (``python -m sim bench network``).

1. Steps per second of the Numba kernel vs the NumPy twin for N = 8 and N = 256 free
   particles (+ 1 thermostat), cubic lattice of SiC spheres, spacing 4R. The Phi tables are
   synthetic (a dipolar 1/r^6 pair law, Phi_ij = g_ij T^2 / 600 K): stepping cost does not
   depend on where the table values came from, and the 257-particle spectra would take
   minutes.
2. Stiff drag system (SiC dimers, d = 2R, h as given, dT = 50 K, real spectra): steps to
   the steady state (criterion rtol = 1e-6) with ROS2 at dt = tau_slow/20, vs explicit Euler
   at 0.9 x its linear stability limit 2/lambda_max: counted by running it where affordable and
   from the linearised spectrum (|1 - lambda_min dt|^n) otherwise.
"""

from __future__ import annotations

import numpy as np

from sim.bench import harness
from sim.radiative.drag import drag_network
from sim.radiative.dynamics import NetworkParams, NetworkSystem, auto_grid, steady_state
from sim.radiative.dynamics.reference import advance_numpy
from sim.radiative.network import Network

R = 100e-9


def lattice_system(n_free: int) -> NetworkSystem:
    """n_free free SiC spheres + 1 thermostat (310 K) on a cubic lattice (spacing 4R), from
    300 K, with the synthetic 1/r^6 tables of the module doc (no spectra computed)."""
    N = n_free + 1
    side = int(np.ceil(N ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)[:N] * 4 * R
    net = Network(grid.astype(float), R, "SiC", cache=False, model="dipole")
    p = NetworkParams(net, ["thermostat"] + ["free"] * n_free, [310.0], T_init=300.0, environment=False)
    Tg = auto_grid(p)
    r = np.linalg.norm(grid[:, None] - grid[None], axis=-1)
    with np.errstate(divide="ignore"):
        g = np.where(r > 0, 2e-12 * (3 * R / np.where(r > 0, r, 1.0)) ** 6, 0.0)  # W/K, ~ SiC at 3R
    P = g.T[:, None, :] * (Tg[None, :, None] ** 2 / 600.0)
    G = g.T[:, None, :] * (Tg[None, :, None] / 300.0)
    z = np.zeros((len(Tg), N))
    tables = {
        "P": np.ascontiguousarray(P),
        "G": np.ascontiguousarray(G),
        "Pout": z,
        "Gout": z,
        "Pin": np.zeros(N),
        "Gin": np.zeros(N),
        "rel_error": 0.0,
    }
    return NetworkSystem(
        NetworkParams(net, p.roles, [310.0], T_init=300.0, environment=False, T_grid=Tg), tables=tables
    )


def speed(n_free: int, min_time: float) -> dict:
    s = lattice_system(n_free)
    st = s.initial_state()
    numba_rate = harness.rate(lambda n: s.advance(st, n), min_time=min_time)
    st2 = s.initial_state()
    numpy_rate = harness.rate(lambda n: advance_numpy(s, st2, n), min_time=min_time)
    return {
        "N_free": n_free,
        "numba_steps_per_s": numba_rate,
        "numpy_steps_per_s": numpy_rate,
        "speedup": harness.ratio(
            numba_rate, numpy_rate, f"network kernel / NumPy twin, {n_free} free", plausible=(1.0, 1e4)
        ),
    }


def stiff_steps(h_over_R: float, run_euler_max: int) -> dict:
    net, _ = drag_network(R, 2 * R, h_over_R * R, "SiC", model="dipole")
    p = NetworkParams(net, ["thermostat", "thermostat", "free", "free"], [350.0, 300.0], environment=False)
    ss = steady_state(p, rtol=1e-6)
    sys_ = ss.system
    T0 = p.T_init
    A = sys_.rates(T0)["A"][2:, 2:] / p.C[2:, None]
    lam = np.sort(np.abs(np.linalg.eigvals(A).real))
    dt_e = 0.9 * 2.0 / lam[-1]  # 0.9: lambda_max grows with T during the transient
    tau = 1 / lam[0]
    crit0 = np.max(np.abs(sys_.rates(T0)["P"][2:] / p.C[2:]) * tau / T0[2:])
    factor = abs(1 - lam[0] * dt_e)
    n_est = int(np.ceil(np.log(1e-6 / crit0) / np.log(factor)))
    n_run = None
    if n_est <= run_euler_max:  # explicit Euler, the same criterion checked every step
        T = T0.copy()
        n_run = 0
        while n_run < 3 * n_est:
            r = sys_.rates(T)
            taus = sys_.relaxation_times(T)[0]
            if np.max(np.abs(r["P"][2:] / p.C[2:]) * taus / T[2:]) < 1e-6:
                break
            T[2:] += dt_e * r["P"][2:] / p.C[2:]
            n_run += 1
    return {
        "h_over_R": h_over_R,
        "stiffness": float(lam[-1] / lam[0]),
        "ros2_steps": ss.steps,
        "ros2_dt_s": ss.dt,
        "euler_dt_s": dt_e,
        "euler_steps_estimated": n_est,
        "euler_steps_run": n_run,
        "ratio": (n_run or n_est) / ss.steps,
    }


def main(quick: bool = False) -> str:
    t = 0.3 if quick else 2.0
    rows = [speed(8, t), speed(64 if quick else 256, t)]
    stiff = [stiff_steps(h, 3000 if quick else 40000) for h in ((8.0, 50.0) if quick else (8.0, 12.6, 50.0))]
    lines = [
        "network dynamics benchmark (ROS2, Numba kernel vs NumPy twin)",
        f"{'N_free':>7} {'numba steps/s':>14} {'numpy steps/s':>14} {'speedup':>8}",
    ]
    lines += [
        f"{r['N_free']:>7d} {r['numba_steps_per_s']:>14.4g} {r['numpy_steps_per_s']:>14.4g} {r['speedup']:>8.1f}"
        for r in rows
    ]
    lines.append("stiff drag system (SiC dimers, d = 2R, dT = 50 K): steps to steady state (rtol 1e-6)")
    lines.append(f"{'h/R':>6} {'stiffness':>10} {'ROS2':>6} {'Euler(run)':>11} {'Euler(est)':>11} {'ratio':>9}")
    lines += [
        f"{s['h_over_R']:>6g} {s['stiffness']:>10.3g} {s['ros2_steps']:>6d} "
        f"{str(s['euler_steps_run']):>11} {s['euler_steps_estimated']:>11d} {s['ratio']:>9.3g}"
        for s in stiff
    ]
    return "\n".join(lines)
