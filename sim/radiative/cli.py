"""``python -m sim spectra CONFIG.toml --out DIR [--workers W | --scheduler ADDRESS]``: transmission
spectra of a network.

``--workers W`` evaluates the frequencies of every spectrum (the written grid and the
adaptive integrals' Gauss-Kronrod nodes) on a local Dask cluster of W single-threaded
worker processes; ``--scheduler ADDRESS`` (e.g. tcp://host:8786) on an existing cluster
instead (its workers must import the same ``sim``; start them with ``--nthreads 1``).
The results are identical, bit for bit, to a serial run: same frequency nodes, same
panels, same numbers (``sim.radiative.distributed`` explains how and when a differing
worker environment could break that; it warns then). Without either option the run is
serial. Both options at once, W < 1 or an unreachable/invalid address are configuration
errors (exit code 2). Dask is the optional extra ``pip install -e '.[dask]'``.

CONFIG.toml (SI units; only ``positions``, ``radii`` and ``materials`` are required)::

    positions = [[0.0, 0.0, 0.0], [500e-9, 0.0, 0.0]]  # particle centres, m, (N, 3)
    radii = 100e-9                 # m: one value for all, or a list of N
    materials = "SiC"              # preset name for all, or a list of N names
                                   # (SiC, Au, Au-g5.32, InSb, InSb-Palik)
    B = 0.0                        # magnetic field along z, T
    model = "multipole"            # (default) vector spherical waves, Mie spheres; or "dipole"
    lmax = 6                       # multipole order (optional: chosen automatically to rtol)
    temperatures = [300.0]         # K: conductances G_ij(T) to compute (optional)
    rtol = 1e-4                    # relative accuracy of the spectral integrals
    environment = false            # also write T_i<-env and T_env<-i

    [omega]                        # sampled grid of the written spectra (optional)
    min = 1e13                     # rad/s (default 1e13)
    max = 5e14                     # rad/s (default 5e14)
    n = 4000                       # points, linear spacing (default 4000)

Writes ``DIR/spectra.h5`` (netCDF-4 layout with named dimensions omega, i, j, temperature:
``omega`` rad/s, ``wavelength`` um, ``transmission`` (omega, i, j) from j to i, optionally
``T_in``/``T_out`` (omega, i), ``temperature`` K and ``conductance`` (temperature, i, j) W/K
with its ``rel_error``; CF units and global attributes, the geometry, materials and field;
``xarray.open_dataset(path, engine="h5netcdf")`` or ``sim.open_spectra`` reads it) and
``DIR/spectra.png`` (T_ij against wavelength for up to 12 pairs).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
from scipy import constants as sc

from sim.radiative import distributed
from sim.radiative.network import Network
from sim.validation import check_int, check_positive

_KNOWN_KEYS = {"positions", "radii", "materials", "B", "model", "lmax", "temperatures", "rtol", "environment", "omega"}


def spectra_command(
    config_path: str, out_dir: str, quiet: bool = False, workers: int | None = None, scheduler: str | None = None
) -> int:
    """Read the TOML config, write spectra.h5 and spectra.png into out_dir; return an exit code
    (0 success, 2 bad configuration or cluster options; the message goes to stderr).

    workers: evaluate the spectra on a local Dask cluster of that many processes; scheduler:
    on the existing cluster at that address instead (at most one of them; None: serial)."""
    try:
        distributed.check_options(workers, scheduler)
        with open(config_path, "rb") as fh:
            cfg = tomllib.load(fh)
        unknown = set(cfg) - _KNOWN_KEYS
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)} in {config_path}; allowed: {sorted(_KNOWN_KEYS)}")
        for key in ("positions", "radii", "materials"):
            if key not in cfg:
                raise ValueError(f"{config_path}: missing required key {key!r}")
        net = Network(
            cfg["positions"],
            cfg["radii"],
            cfg["materials"],
            B=cfg.get("B", 0.0),
            model=cfg.get("model", "multipole"),
            lmax=cfg.get("lmax"),
            rtol=cfg.get("rtol", 1e-4),
        )
        grid = cfg.get("omega", {})
        if set(grid) - {"min", "max", "n"}:
            raise ValueError(
                f"unknown key(s) {sorted(set(grid) - {'min', 'max', 'n'})} in [omega]; allowed: min, max, n"
            )
        w_min = float(check_positive("omega.min", grid.get("min", 1e13), unit="rad/s"))
        w_max = float(check_positive("omega.max", grid.get("max", 5e14), unit="rad/s"))
        if w_max <= w_min:
            raise ValueError(f"omega.max = {w_max!r} must exceed omega.min = {w_min!r}")
        n = check_int("omega.n", grid.get("n", 4000), low=2)
        temps = (
            np.atleast_1d(check_positive("temperatures", cfg.get("temperatures", []), unit="K"))
            if cfg.get("temperatures")
            else np.array([])
        )
        rtol = float(check_positive("rtol", cfg.get("rtol", 1e-4)))
    except (OSError, tomllib.TOMLDecodeError, ValueError) as err:
        print(f"sim spectra: {err}", file=sys.stderr)
        return 2

    client = None
    if workers is not None or scheduler is not None:
        try:
            client = distributed.connect(workers=workers, scheduler=scheduler)
        except ValueError as err:
            print(f"sim spectra: {err}", file=sys.stderr)
            return 2
    try:
        handle = distributed.install(net, client) if client is not None else None
        omega = np.linspace(w_min, w_max, n)
        T = net.transmission(omega)
        env = net.environment_transmission(omega) if cfg.get("environment", False) else None
        G = [net.conductance(t, rtol=rtol) for t in temps]
    finally:
        if client is not None:
            distributed.uninstall(net)
            distributed.close(client)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_h5(out / "spectra.h5", net, omega, T, env, temps, G)
    _plot(out / "spectra.png", net, omega, T)
    if not quiet:
        print(f"wrote {out / 'spectra.h5'} and {out / 'spectra.png'} ({n} frequencies, N = {net.N})")
        if handle is not None:
            print(
                f"spectra on {handle.workers} dask worker(s): {handle.frequencies} frequencies in "
                f"{handle.tasks} tasks ({handle.calls} calls)"
            )
        for t, g in zip(temps, G):
            i, j = np.unravel_index(np.argmax(g), g.shape)
            print(f"T = {t:g} K: largest conductance G[{i},{j}] = {g[i, j]:.4e} W/K (rel. error {g.rel_error:.1e})")
    return 0


def _write_h5(path: Path, net: Network, omega, T, env, temps, G) -> None:
    """spectra.h5 in the netCDF-4 layout: named dimensions omega, i (receiving particle),
    j (emitting particle) and temperature, CF units and global attributes."""
    import h5py

    from sim.io import cf_attributes

    tmp = path.with_suffix(".h5.tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs.update(cf_attributes("transmission spectra and conductances of a nanoparticle network"))
        f.attrs.update(
            {
                "positions": net.positions,
                "positions_units": "m",
                "radii": net.radii,
                "radii_units": "m",
                "materials": [m.name for m in net.materials],
                "B": net.B,
                "B_units": "T",
                "model": net.model,
                "lmax": -1 if net.lmax is None else net.lmax,
                "convention": "transmission[omega, i, j]: from particle j to particle i",
            }
        )
        scales = {}

        def put(name, data, units, dims=None, **attrs):
            ds = f.create_dataset(name, data=data)
            ds.attrs["units"] = units
            ds.attrs.update(attrs)
            if dims is None:  # a coordinate: its own dimension
                ds.make_scale(name)
                scales[name] = ds
            else:
                for axis, d in enumerate(dims):
                    ds.dims[axis].attach_scale(scales[d])

        put("omega", omega, "rad/s", long_name="angular frequency")
        put("i", np.arange(net.N), "1", long_name="receiving particle")
        put("j", np.arange(net.N), "1", long_name="emitting particle")
        put("wavelength", 2 * np.pi * sc.c / omega * 1e6, "um", ("omega",), long_name="vacuum wavelength")
        put("transmission", T, "1", ("omega", "i", "j"), long_name="transmission from particle j to particle i")
        if env is not None:
            put("T_in", env[0], "1", ("omega", "i"), long_name="transmission from the environment to particle i")
            put("T_out", env[1], "1", ("omega", "i"), long_name="transmission from particle i to the environment")
        if len(temps):
            put("temperature", np.asarray(temps, float), "K", long_name="temperature of the conductances")
            put(
                "conductance",
                np.array(G),
                "W/K",
                ("temperature", "i", "j"),
                long_name="conductance into i from j",
                rel_error=np.array([g.rel_error for g in G]),
            )
    tmp.replace(path)


def _plot(path: Path, net: Network, omega, T) -> None:
    """T_ij against wavelength on log axes, over the band where anything is transmitted."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    from sim.viz.plots import plt

    N = T.shape[1]
    lam = 2 * np.pi * sc.c / omega * 1e6
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    pairs = [(i, j) for i in range(N) for j in range(N) if i != j][:12]
    top = float(T.max())
    for i, j in pairs:  # a pair and its reverse coincide at B = 0: solid under dashed
        ax.semilogy(
            lam,
            np.maximum(T[:, i, j], 1e-300),
            lw=2.2 if i < j else 1.2,
            ls="-" if i < j else "--",
            label=f"T[{i},{j}] ({j}->{i})",
        )
    seen = lam[(T.reshape(len(lam), -1) > 1e-6 * top).any(axis=1)] if top > 0 else lam
    lo, hi = seen.min() / 1.05, seen.max() * 1.05
    if hi / lo > 3:  # a wide band: log wavelengths with plain tick labels
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(lo, hi)
    ax.set_ylim(max(top * 1e-6, 1e-300), max(3.0, top) if top > 1 else top * 2)
    ax.set_xlabel("wavelength (um)")
    ax.set_ylabel("transmission T_ij")
    materials = sorted({m.name for m in net.materials})
    order = f", L = {net.lmax}" if net.model == "multipole" else ""
    d = np.linalg.norm(net.positions[:, None] - net.positions[None, :], axis=-1)[np.triu_indices(N, 1)]
    closest = f", closest centres {d.min() * 1e9:.4g} nm" if N > 1 else ""
    ax.set_title(
        f"{N} spheres ({', '.join(materials)}), R = {', '.join(f'{r * 1e9:g}' for r in sorted(set(net.radii)))}"
        f" nm{closest}, B = {net.B:g} T, {net.model} model{order}",
        fontsize=9,
    )
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
