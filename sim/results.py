"""Reading runs back: ``open_run(RUN_DIR)`` gives a run's configuration, metadata, summary and
its time series as xarray Datasets, with the derived quantities a physicist asks for first.

    run = sim.open_run("outputs/rod-dc-20261201-101500")
    ds = run.timeseries["rod_N64_super"]          # xarray.Dataset: dims time, ring, link
    J = sim.current(ds, "Q_L", t_start=1e5)       # {"mean", "stderr", ...}: the left reservoir's heat current
    run.summary["checks"], run.summary["all_pass"]

Network files store pair quantities once per pair i < j ("into i from j", antisymmetric);
``open_run`` adds each as a full (time, i, j) variable (``pair_power`` -> ``pair_power_ij``) so
that ``ds["pair_power_ij"].sel(i=0, j=2)`` reads as the physics does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.stats import rate_from_cumulative

if TYPE_CHECKING:
    import os

    import xarray as xr


@dataclass
class Run:
    """A run directory read back by ``open_run``; use it as a context manager, or call ``close()``.

    Attributes
    ----------
    path : Path
        The run directory.
    config : dict
        The run's configuration (``config.json``).
    metadata : dict
        Its metadata (``metadata.json``; {} when absent).
    summary : dict or None
        Its summary (``summary.json``): None if the run did not finish.
    timeseries : dict
        File stem -> ``xarray.Dataset``, one per ``timeseries/*.h5`` file (see ``open_dataset``).
    """

    path: Path
    config: dict
    metadata: dict
    summary: dict | None
    timeseries: dict = field(default_factory=dict)

    def close(self) -> None:
        """Close every Dataset of ``timeseries``."""
        for ds in self.timeseries.values():
            ds.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _pairs_to_matrix(ds):
    """Add (time, i, j) antisymmetric versions of the (time, pair) variables of a network file."""
    import xarray as xr

    if "pair" not in ds.dims or "pairs" not in ds.attrs:
        return ds
    pairs = np.asarray(json.loads(ds.attrs["pairs"]) if isinstance(ds.attrs["pairs"], str) else ds.attrs["pairs"])
    pairs = pairs.reshape(-1, 2)
    n = int(ds.sizes["particle"])
    for name in [v for v in ds.data_vars if ds[v].dims == ("time", "pair")]:
        full = np.zeros((ds.sizes["time"], n, n))
        values = ds[name].values
        full[:, pairs[:, 0], pairs[:, 1]] = values
        full[:, pairs[:, 1], pairs[:, 0]] = -values
        ds[f"{name}_ij"] = xr.DataArray(
            full,
            dims=("time", "i", "j"),
            coords={"i": np.arange(n), "j": np.arange(n)},
            attrs=ds[name].attrs
            | {"long_name": ds[name].attrs.get("long_name", name) + " (full antisymmetric matrix, into i from j)"},
        )
    return ds


def open_dataset(path: str | os.PathLike) -> xr.Dataset:
    """One time-series file as an xarray.Dataset (read into memory; the file is not held open).

    Works while a run is still writing the file (SWMR read): the rows flushed so far. A network
    file also gets each (time, pair) variable as a full (time, i, j) antisymmetric matrix,
    ``<name>_ij`` (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        An HDF5 time-series file (a run directory's ``timeseries/*.h5``, or the ``path`` of a
        ``simulate`` or ``simulate_network`` call).

    Returns
    -------
    xarray.Dataset
        Dimension "time" and the system's own ("ring", "link"; "particle", "pair", "i", "j").
    """
    import xarray as xr

    try:
        ds = xr.open_dataset(path, engine="h5netcdf", driver_kwds={"swmr": True, "libver": "latest"})
    except (OSError, ValueError):  # a file from before SWMR
        ds = xr.open_dataset(path, engine="h5netcdf")
    with ds:
        return _pairs_to_matrix(ds.load())


def open_spectra(path: str | os.PathLike) -> xr.Dataset:
    """A ``spectra.h5`` written by ``python -m sim spectra`` as an xarray.Dataset.

    Parameters
    ----------
    path : str or os.PathLike
        The ``spectra.h5`` file.

    Returns
    -------
    xarray.Dataset
        Read into memory; the file is closed.
    """
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def open_run(run_dir: str | os.PathLike) -> Run:
    """Read a run directory written by ``python -m sim run`` (see the module docstring).

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run directory (it holds ``config.json``).

    Returns
    -------
    Run
        Its configuration, metadata, summary and time series.

    Raises
    ------
    ValueError
        If ``run_dir`` has no ``config.json``.

    Examples
    --------
    >>> import sim
    >>> run = sim.open_run("outputs/rod-dc-20261201-101500")  # doctest: +SKIP
    >>> ds = run.timeseries["rod_N64_super"]  # doctest: +SKIP
    >>> run.summary["checks"], run.summary["all_pass"]  # doctest: +SKIP
    """
    path = Path(run_dir)
    if not (path / "config.json").exists():
        raise ValueError(f"RUN_DIR = {str(path)!r} has no config.json; allowed: a directory written by `sim run`")
    read = lambda name: json.loads((path / name).read_text()) if (path / name).exists() else None
    series = {p.stem: open_dataset(p) for p in sorted((path / "timeseries").glob("*.h5"))}
    return Run(path, read("config.json"), read("metadata.json") or {}, read("summary.json"), series)


def current(ds: xr.Dataset, name: str, t_start: float = 0.0) -> dict:
    """Mean rate of a cumulative variable (a heat current from ``Q_L``, a link current from
    ``link_heat``) after ``t_start``, with its block-averaged standard error.

    Variables with more than the time dimension are averaged over the others first.

    Parameters
    ----------
    ds : xarray.Dataset
        A time series (``open_dataset``, ``Run.timeseries``) with a "time" coordinate.
    name : str
        The cumulative variable, e.g. "Q_L", "link_heat", "Q_thermostat".
    t_start : float
        Only the frames with time >= t_start are used (the system's time unit).

    Returns
    -------
    dict
        ``sim.stats.rate_from_cumulative``'s: "mean" and "stderr" (units of ``name`` per time
        unit), "tau_int", "n", "converged".

    Raises
    ------
    ValueError
        If fewer than 3 frames have time >= t_start.

    Examples
    --------
    >>> J = sim.current(ds, "Q_L", t_start=1e5)  # doctest: +SKIP
    >>> J["mean"], J["stderr"]  # doctest: +SKIP
    """
    q = ds[name]
    extra = [d for d in q.dims if d != "time"]
    values = q.mean(extra).values if extra else q.values
    return rate_from_cumulative(ds["time"].values, values, t_start=t_start)
