"""Run directories, metadata, atomic JSON, and streaming HDF5 time series.

Time series follow the netCDF-4 data model (HDF5 dimension scales) and the CF conventions,
so they open with ``xarray.open_dataset(path, engine="h5netcdf")`` (or ``sim.open_run``) as
well as with h5py: every variable has named dimensions ("time", "ring", "link", ...), a
``units`` attribute that pint and cf-xarray parse (SI; "1" in the rod's reduced units, the
dimension then in ``reduced_units``) and a ``long_name``; the file carries CF global
attributes (Conventions, title, source, history, references). Frames are buffered and
appended in chunks, so memory stays O(chunk) however long the run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

import sim


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically: temporary file, fsync, rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if np.isfinite(f) else str(f)
    return obj


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Atomically write ``obj`` (NumPy types converted) as indented JSON."""
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=2) + "\n")


def git_hash() -> str | None:
    """The commit of the source tree this package runs from, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(sim.__file__).parent, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def base_metadata(seed: int) -> dict:
    """Provenance of a run: package version, git hash, library versions, seed, host."""
    import numba
    import scipy

    return {
        "package": "sim",
        "version": sim.__version__,
        "git_hash": git_hash(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "h5py": h5py.__version__,
        "platform": platform.platform(),
        "seed": seed,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def make_run_dir(out: str | os.PathLike | None, scenario: str) -> Path:
    """``out`` if given (created), else ``outputs/<scenario>-<timestamp>`` (never reused)."""
    if out is not None:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        return path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("outputs") / f"{scenario}-{stamp}"
    path, i = base, 1
    while path.exists():
        path = base.with_name(f"{base.name}-{i}")
        i += 1
    path.mkdir(parents=True)
    return path


REFERENCES = (
    "J. Shi and X. Cheng, Heat superconductivity, arXiv:1211.3633; "
    "P. Ben-Abdallah, Thermal photon drag in many-body systems, arXiv:1904.10563"
)


def cf_attributes(title: str) -> dict:
    """CF-1.10 global attributes of a file written by this package."""
    return {
        "Conventions": "CF-1.10",
        "title": title,
        "source": f"sim {sim.__version__} (git {git_hash() or 'unknown'})",
        "history": f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} written by sim {sim.__version__}",
        "references": REFERENCES,
    }


class RunLock:
    """Exclusive use of a run directory while a run or resume works in it (``fcntl.flock`` on
    ``RUN_DIR/.lock``, released by the OS however the process ends). A second run on the same
    directory is refused before it touches any other file."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / ".lock"
        self._fd = None

    def __enter__(self):
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ValueError(
                f"RUN_DIR = {str(self.path.parent)!r} is in use by another run (pid {holder}); "
                "allowed: a directory no run is using (wait for it, or choose another --out)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc):
        os.close(self._fd)  # closing releases the lock


def _opened(step: int) -> dict:
    """Attributes by which ``sim status`` tells a live run's rate: when and at which step writing began."""
    return {"writing_since_unix": time.time(), "writing_since_step": int(step)}


def open_live(path: str | os.PathLike) -> h5py.File:
    """An h5py file opened read-only while a run may still write it (SWMR), or as a plain file."""
    try:
        return h5py.File(path, "r", libver="latest", swmr=True)
    except (OSError, ValueError):
        return h5py.File(path, "r")


class StorageFault(OSError):
    """A time-series file could not be written (no space, file too large, I/O error): names the
    file and the system's reason (HDF5 reports the errno only inside its message)."""


_abandoned_hdf5: list[str] = []  # files a write failed on: HDF5 can no longer close them


def _storage_fault(path, exc: BaseException) -> StorageFault:
    found = re.search(r"errno = (\d+), error message = '([^']*)'", str(exc))
    code, reason = (int(found[1]), found[2]) if found else (getattr(exc, "errno", None) or errno.EIO, str(exc))
    _abandoned_hdf5.append(str(path))
    return StorageFault(code, reason, str(path))


@contextlib.contextmanager
def _hdf5_echoes_muted():
    """While HDF5 writes, file descriptor 2 goes to /dev/null: after a failed write h5py prints the
    failure again, from C, each time one of the file's objects is freed (the write itself raises,
    and that is what the user is told); h5py raises every other HDF5 error, so nothing is lost."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def exit_after_storage_fault(code: int) -> None:
    """End the process now, with ``code``, if an HDF5 file could not be written: the HDF5 library
    crashes (segmentation fault) when it tears down such a file at interpreter exit (h5py issue
    914, a bug in the library). Everything the run keeps (metadata, error.txt, checkpoints) is on
    disk by then; only the command-line entry calls this, never a library caller's process."""
    if _abandoned_hdf5:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


#: every time series is written byte-shuffled and deflated (gzip, level 4: standard HDF5, read by
#: h5py, xarray/h5netcdf and netCDF-C alike): constant columns and the step and time coordinates
#: shrink to nearly nothing, noisy doubles by about a third (drag-noise's h = 8R series: 52 MB ->
#: 17 MB, 0.8 s of CPU per million frames)
COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


class TimeSeriesWriter:
    """Append snapshots to an HDF5 file in chunks.

    Coordinates "time" (units of the system's time) and "step" are written alongside.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    dims : dict
        Sizes of the non-time dimensions, e.g. {"ring": 64, "link": 63}.
    variables : dict
        name -> (dims tuple starting with "time", units, description).
    time_units : str
        Units of "time".
    chunk_frames : int, optional
        Frames buffered per write (and the HDF5 chunk length); None: about ``CHUNK_BYTES``
        per write, at least 64 frames (a write costs ~0.2 ms whatever its size, so small
        frames are written many at a time).
    attrs : dict, optional
        File attributes (dicts and lists stored as JSON).
    resume_frames : int, optional
        Continue an existing file after its first ``resume_frames`` frames (rows past them
        are cut): a resumed run.
    unit_system : str, optional
        None for SI units; otherwise a sentence naming a reduced unit system: every ``units``
        attribute is then "1" and the variable's dimension goes to ``reduced_units``.
    title : str
        The file's title attribute.
    """

    CHUNK_BYTES = 1 << 18

    def __init__(
        self,
        path: str | os.PathLike,
        dims: dict,
        variables: dict,
        time_units: str = "s",
        chunk_frames: int | None = None,
        attrs: dict | None = None,
        resume_frames: int | None = None,
        unit_system: str | None = None,
        title: str = "time series",
    ):
        self.path = Path(path)
        self.variables = variables
        if chunk_frames is None:
            frame_bytes = 16 + 8 * sum(math.prod(dims[d] for d in v[0] if d != "time") for v in variables.values())
            chunk_frames = max(64, self.CHUNK_BYTES // frame_bytes)
        self.chunk = int(chunk_frames)
        self._buffer: list = []
        self._broken = False  # a write failed: nothing more is written to this file
        if resume_frames is not None:
            self._reopen(resume_frames)
            return
        self.frames = 0
        self.f = h5py.File(self.path, "w", libver="latest")  # the format SWMR needs
        self.f.attrs["status"] = "running"
        for k, v in (
            cf_attributes(title) | ({"unit_system": unit_system} if unit_system else {}) | (attrs or {}) | _opened(0)
        ).items():
            self.f.attrs[k] = v if not isinstance(v, (dict, list)) else json.dumps(_jsonable(v))

        def set_units(ds, units):
            ds.attrs["units"] = "1" if unit_system else units
            if unit_system:
                ds.attrs["reduced_units"] = units

        t = self.f.create_dataset("time", shape=(0,), maxshape=(None,), dtype="f8", chunks=(self.chunk,), **COMPRESSION)
        set_units(t, time_units)
        t.attrs["standard_name"] = "time"
        t.make_scale("time")
        s = self.f.create_dataset("step", shape=(0,), maxshape=(None,), dtype="i8", chunks=(self.chunk,), **COMPRESSION)
        s.attrs["units"] = "1"
        s.dims[0].attach_scale(t)
        scales = {"time": t}
        for name, size in dims.items():
            d = self.f.create_dataset(name, data=np.arange(size))
            d.attrs["units"] = "1"
            d.make_scale(name)
            scales[name] = d
        for name, (vdims, units, desc) in variables.items():
            shape = tuple(0 if d == "time" else dims[d] for d in vdims)
            ds = self.f.create_dataset(
                name,
                shape=shape,
                maxshape=(None,) + shape[1:],
                dtype="f8",
                chunks=(self.chunk,) + shape[1:],
                **COMPRESSION,
            )
            set_units(ds, units)
            ds.attrs["long_name"] = desc
            for axis, d in enumerate(vdims):
                ds.dims[axis].attach_scale(scales[d])
        self._start_swmr()

    def _start_swmr(self) -> None:
        """From here on readers may open the file while it grows (``open_live``); attributes are
        frozen until ``close`` (SWMR cannot change them). Keeps the datasets' handles for the writes."""
        try:
            self.f.swmr_mode = True
        except (ValueError, RuntimeError, OSError):  # a file from before SWMR (older format): no live reading
            pass
        self._ds = {name: self.f[name] for name in ("step", "time", *self.variables)}

    def _reopen(self, frames: int) -> None:
        """Continue an existing file after its first ``frames`` frames (rows past them are cut)."""
        self.f = h5py.File(self.path, "r+", libver="latest")
        have = self.f["time"].shape[0]
        if have < frames:
            raise ValueError(f"{self.path} holds {have} frames, fewer than the checkpoint's {frames}")
        for name in ("time", "step", *self.variables):
            ds = self.f[name]
            ds.resize((frames,) + ds.shape[1:])
        self.frames = frames
        self.f.attrs["status"] = "running"
        self.f.attrs.update(_opened(int(self.f["step"][frames - 1]) if frames else 0))
        self._start_swmr()

    def append(self, step: int, t: float, snapshot: dict) -> None:
        self._buffer.append((step, t, snapshot))
        if len(self._buffer) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        """Write the buffered frames; a failed write raises ``StorageFault`` and leaves the file
        abandoned (resume recomputes what followed the last checkpoint)."""
        if not self._buffer:
            return
        if self._broken:
            raise StorageFault(errno.EIO, "an earlier write of this time series failed", str(self.path))
        try:
            with _hdf5_echoes_muted():
                self._write_buffer()
        except (OSError, RuntimeError) as exc:
            self._broken = True
            raise _storage_fault(self.path, exc) from exc

    def _write_buffer(self) -> None:
        n0, n = self.frames, len(self._buffer)
        for name, column in (("step", [b[0] for b in self._buffer]), ("time", [b[1] for b in self._buffer])):
            ds = self._ds[name]
            ds.resize((n0 + n,))
            ds[n0:] = column
        for name in self.variables:
            ds = self._ds[name]
            ds.resize((n0 + n,) + ds.shape[1:])
            ds[n0:] = np.stack([np.asarray(b[2][name], dtype=float) for b in self._buffer])
        self.frames += n
        self._buffer.clear()
        for ds in self._ds.values():  # SWMR readers see a dataset's rows once it is flushed
            ds.flush()
        self.f.flush()

    def close(self, status: str = "completed") -> None:
        """Flush, close, and write the run's ``status`` (reopened outside SWMR, which freezes attributes).

        A storage fault raises only when ``status`` is 'completed' (the run must not end so);
        ending any other way, the file is left with status 'running' and the run's own error stands."""
        if not self.f.id.valid:
            return
        try:
            if not self._broken:
                self.flush()
                self.f.close()
                with h5py.File(self.path, "r+") as f:
                    f.attrs["status"] = status
                return
        except (OSError, RuntimeError) as exc:
            fault = exc if isinstance(exc, StorageFault) else _storage_fault(self.path, exc)
            self._broken = True
            if status == "completed":
                raise fault from exc
        with _hdf5_echoes_muted():
            try:
                self.f.close()
            except (OSError, RuntimeError):
                pass  # HDF5 cannot close what it failed to write; exit_after_storage_fault ends the process


class ReplicaRecorders:
    """One recorder per replica of a batch, driven as one: ``append`` hands replica r the r-th
    row of every observable (the batch's snapshots carry a leading replica axis)."""

    def __init__(self, recorders: list):
        self.recorders = list(recorders)

    @property
    def frames(self) -> int:
        return min(r.frames for r in self.recorders)

    def append(self, step: int, t: float, snapshot: dict) -> None:
        for r, rec in enumerate(self.recorders):
            rec.append(step, t, {k: v[r] for k, v in snapshot.items()})

    def flush(self) -> None:
        for rec in self.recorders:
            rec.flush()

    def close(self, status: str = "completed") -> None:
        """Close every file; the first fault is raised once all were tried."""
        fault = None
        for rec in self.recorders:
            try:
                rec.close(status)
            except OSError as exc:
                fault = fault or exc
        if fault is not None:
            raise fault


class MemoryRecorder:
    """Keep snapshots in memory (tests, short analyses): ``data[name]`` is (frames, ...).

    Attributes
    ----------
    steps : list of int
        The step of each frame.
    times : list of float
        The time of each frame (step * dt).
    status : str
        'running' until closed, then the run's status.
    """

    def __init__(self):
        self.steps: list[int] = []
        self.times: list[float] = []
        self._frames: list[dict] = []
        self.status = "running"

    @property
    def frames(self) -> int:
        return len(self.steps)

    def flush(self) -> None:
        pass

    def append(self, step: int, t: float, snapshot: dict) -> None:
        self.steps.append(step)
        self.times.append(t)
        self._frames.append({k: np.array(v, dtype=float, copy=True) for k, v in snapshot.items()})

    def close(self, status: str = "completed") -> None:
        self.status = status

    @property
    def data(self) -> dict:
        """name -> (frames, ...) array of every recorded observable ({} before the first frame)."""
        return {k: np.stack([f[k] for f in self._frames]) for k in self._frames[0]} if self._frames else {}
