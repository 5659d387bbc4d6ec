"""The heat-superconducting rod: stacked time-crystal rings in reduced units (k_B = 1).

    from sim.rod import RodParams, simulate, load
    run = simulate(RodParams(N=64, K=5.0, T_L=1.1, T_R=0.9), nsteps=100_000, record_every=1000, path="rod.h5")

Modules: model (clock laws, RodParams), kernels (Numba) and reference (NumPy twin), system
(the Rod: state, observables), runner (simulate, load), analysis (spectral peaks, slips,
Adler), linear (small disturbances), junction (the weak link as a Josephson junction), keys
(configuration keys shared by the rod scenarios). Benchmarks: ``sim.bench``.
"""

from sim.rod.model import Linear, Power, RodParams, Rotor, Table, make_law
from sim.rod.runner import load, simulate
from sim.rod.system import Rod

__all__ = ["Linear", "Power", "Rod", "RodParams", "Rotor", "Table", "load", "make_law", "simulate"]
