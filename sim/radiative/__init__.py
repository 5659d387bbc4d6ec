"""Radiative heat exchange between nanoparticles in the dipole approximation (MODEL.md part B).

    from sim.radiative import Network
    net = Network(positions, radii, materials, B=0.0)
    net.transmission(omega); net.conductance(300.0); net.power_table(T_grid)

Modules: materials (dielectric functions), polarizability, green (free-space Green
tensor), kernels (Numba fast path), reference (NumPy twins), spectra (adaptive
integration and disk cache), network (the Network class), cli, bench.
"""

from sim.radiative import materials
from sim.radiative.network import DipoleApproximationWarning, Network

__all__ = ["Network", "materials", "DipoleApproximationWarning"]
