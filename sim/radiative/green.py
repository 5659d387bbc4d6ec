"""Free-space dyadic Green tensor (docs/model.md §B3), NumPy version.

    G0(r) = exp(ikr)/(4 pi r) [ (1 + i/(kr) - 1/(kr)^2) I - (1 + 3i/(kr) - 3/(kr)^2) r^ r^ ]

in 1/m, so that the field of a dipole p = eps0 a E at the origin is E(r) = k^2 G0(r) a E.
The fast path evaluates the same expression inside ``transmission_kernels.assemble_system``; this module
is its reference and what the tests hold against the near- and far-field limits.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

_I3 = np.eye(3)


def free_space_green(k: ArrayLike, r: ArrayLike) -> np.ndarray:
    """G0 (..., 3, 3) complex in 1/m for wavenumber k (1/m; scalar or broadcasting with the
    leading axes of r) and separation vectors r (..., 3) in m, r != 0."""
    r = np.asarray(r, dtype=float)
    dist = np.linalg.norm(r, axis=-1)
    u = r / dist[..., None]
    kr = np.asarray(np.asarray(k, dtype=float) * dist)[..., None, None]
    pref = np.exp(1j * kr) / (4 * np.pi * dist[..., None, None])
    c_iso = 1 + 1j / kr - 1 / kr**2
    c_rr = 1 + 3j / kr - 3 / kr**2
    return pref * (c_iso * _I3 - c_rr * u[..., :, None] * u[..., None, :])


def block_green(k: float, positions: np.ndarray) -> np.ndarray:
    """The 3N x 3N free-space coupling matrix G (complex, 1/m): block (i, j) = G0(r_i - r_j),
    zero diagonal blocks; positions (N, 3) in m."""
    N = len(positions)
    r = positions[:, None, :] - positions[None, :, :]
    off = ~np.eye(N, dtype=bool)
    blocks = np.zeros((N, N, 3, 3), dtype=complex)
    blocks[off] = free_space_green(k, r[off])
    return blocks.transpose(0, 2, 1, 3).reshape(3 * N, 3 * N)
