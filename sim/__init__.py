"""sim: time-stepping simulator of heat superconducting rods and radiative nanoparticle networks.

Two physics packages share one infrastructure (configuration, run loop, recording,
statistics, plotting):

- ``sim.rod``: stacked time-crystal rings (Shi & Cheng, "Heat superconductivity"),
  reduced units with k_B = 1.
- ``sim.radiative``: nanoparticles exchanging heat by thermal photons, dipole or multipole
  model (Ben-Abdallah, "Thermal photon drag in many-body systems"), SI units.

``sim.open_run(RUN_DIR)`` reads a run back (xarray Datasets), ``sim.open_dataset`` one
time-series file, ``sim.open_spectra`` a spectra file; ``sim.current`` turns a cumulative
heat into a current with its error. The Python API reference: docs/pages/api.md.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sim")  # one source: pyproject.toml
except PackageNotFoundError:  # a source tree that was not installed
    __version__ = "0+unknown"

from sim.results import Run, current, open_dataset, open_run, open_spectra  # noqa: E402

__all__ = ["Run", "current", "open_dataset", "open_run", "open_spectra"]
