"""Radiative heat exchange between nanoparticles: electric dipoles, or converged multipoles
(vector spherical waves; the formulas are in the docstring of ``sim.radiative.tmatrix``).

    from sim.radiative import Network
    net = Network(positions, radii, materials, B=0.0, model="dipole" | "multipole", lmax=None)
    net.transmission(omega); net.conductance(300.0); net.power_table(T_grid)

Modules: materials (dielectric functions), polarizability, green (free-space Green
tensor), transmission_kernels (Numba fast paths) and transmission_reference (their NumPy
twins), tmatrix (vector spherical waves, Mie T-matrices, translations, the cluster solve),
multipole (order choice and limits of the multipole model), spectra (adaptive integration
and disk cache), network (the Network class), distributed (spectra on a Dask cluster), cli;
dynamics/ (the temperature dynamics: model, tables, kernels + reference, system, runner,
steady), drag, geometry, persistent, fluctuations. Benchmarks: ``sim.bench``.
"""

from sim.radiative import materials
from sim.radiative.multipole import GyrotropicMultipoleWarning
from sim.radiative.network import DipoleApproximationWarning, Network

__all__ = ["Network", "materials", "DipoleApproximationWarning", "GyrotropicMultipoleWarning"]
