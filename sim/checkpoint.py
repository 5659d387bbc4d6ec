"""Exact checkpoints: the whole dynamic state (RNG position included) written atomically.

A checkpoint is an ``.npz`` holding every field of a state dataclass (and of the run's
initial state, the reference of the ledger), the number of recorded frames, and a SHA-256
checksum over all of it. Writing goes to a temporary file, is fsync'ed, the previous good
checkpoint is kept as ``<name>.prev`` and the new one renamed into place, so a kill at any
moment leaves at least one intact checkpoint. Loading verifies the checksum and falls back
to the previous checkpoint, with a warning, when the newest is truncated or corrupted.
Because the random numbers are counter-based, the step number is the RNG state.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.simulation import State


class CheckpointError(RuntimeError):
    """No usable checkpoint: missing, or every copy failed its checksum."""


def _fields(state) -> dict:
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(path: str | os.PathLike, state: State, initial: State, frames: int, extra: dict | None = None) -> None:
    """Write a checkpoint of ``state`` (and the run's ``initial`` state) atomically.

    frames: frames the recorder holds at this point (on resume the time series is cut back
    to it). extra: small scalars to keep (e.g. wall time so far).
    """
    path = Path(path)
    arrays = {f"state.{k}": np.asarray(v) for k, v in _fields(state).items()}
    arrays |= {f"initial.{k}": np.asarray(v) for k, v in _fields(initial).items()}
    arrays["frames"] = np.asarray(frames)
    for k, v in (extra or {}).items():
        arrays[f"extra.{k}"] = np.asarray(v)
    arrays["checksum"] = np.asarray(_digest(arrays))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    if path.exists():
        os.replace(path, path.with_name(path.name + ".prev"))
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    stored = str(arrays.pop("checksum"))
    if _digest(arrays) != stored:
        raise ValueError("checksum mismatch")
    return arrays


def load(path: str | os.PathLike, state_type: type[State]) -> tuple:
    """(state, initial, frames, extra) from the newest intact checkpoint at ``path``.

    state_type: the state dataclass to rebuild. A corrupted or truncated newest copy is
    refused with a warning and ``<path>.prev`` is used; CheckpointError if none is usable.
    """
    path = Path(path)
    problems = []
    for candidate in (path, path.with_name(path.name + ".prev")):
        if not candidate.exists():
            continue
        try:
            arrays = _read(candidate)
        except Exception as exc:  # a truncated zip, a bad checksum: both mean "do not trust"
            problems.append(f"{candidate.name}: {exc}")
            warnings.warn(f"checkpoint {candidate} is corrupted or truncated ({exc}); refusing it", stacklevel=2)
            continue
        build = {}
        for prefix in ("state", "initial"):
            kw = {}
            for f in dataclasses.fields(state_type):
                value = arrays[f"{prefix}.{f.name}"]
                kw[f.name] = value.item() if value.ndim == 0 else value.copy()
            build[prefix] = state_type(**kw)
        extra = {k.split(".", 1)[1]: arrays[k].item() for k in arrays if k.startswith("extra.")}
        return build["state"], build["initial"], int(arrays["frames"]), extra
    detail = "; ".join(problems) if problems else "no checkpoint file"
    raise CheckpointError(f"no usable checkpoint at {path} ({detail})")


def exists(path: str | os.PathLike) -> bool:
    path = Path(path)
    return path.exists() or path.with_name(path.name + ".prev").exists()


def remove(path: str | os.PathLike) -> None:
    """Delete a checkpoint and its previous copy (once the run they protect is complete)."""
    path = Path(path)
    for p in (path, path.with_name(path.name + ".prev")):
        p.unlink(missing_ok=True)
