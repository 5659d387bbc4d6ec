"""sim: time-stepping simulator of heat superconducting rods and radiative nanoparticle networks.

Two physics packages share one infrastructure (configuration, run loop, recording,
statistics, plotting):

- ``sim.rod``: stacked time-crystal rings (Shi & Cheng, "Heat superconductivity"),
  reduced units with k_B = 1.
- ``sim.radiative``: nanoparticles exchanging heat by thermal photons in the dipole
  approximation (Ben-Abdallah, "Thermal photon drag in many-body systems"), SI units.
"""

__version__ = "0.1.0"
