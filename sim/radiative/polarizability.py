"""Dipole polarizability tensors of small spheres with radiative correction (docs/model.md §B2).

Convention: p = eps0 * alpha * E, alpha in m^3, time dependence exp(-i w t), k = w/c.

    a0      = 4 pi R^3 (eps - 1)(eps + 2)^-1                 quasi-static (Clausius-Mossotti)
    a       = (1 - i k^3/(6 pi) a0)^-1 a0                      radiative correction
    chi_em  = (a - a^H)/(2i) - k^3/(6 pi) a a^H               emission (fluctuating dipole)
    chi_abs = (a - a^H)/(2i) - k^3/(6 pi) a^H a               absorption

^H is the conjugate transpose: for a gyrotropic (nonreciprocal) particle the loss is the
anti-Hermitian part of a, not Im(a) elementwise.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants as sc

from sim.validation import check_positive

_I3 = np.eye(3)


def quasistatic_polarizability(eps: np.ndarray, radius: float) -> np.ndarray:
    """a0 (n, 3, 3) complex, m^3, from eps (n, 3, 3) and radius R (m)."""
    R = float(check_positive("radius", radius, unit="m"))
    # (eps - 1) and (eps + 2) commute, so (eps - 1)(eps + 2)^-1 = (eps + 2)^-1 (eps - 1): one solve, no inverse
    return 4 * np.pi * R**3 * np.linalg.solve(eps + 2 * _I3, eps - _I3)


def polarizability(eps: np.ndarray, radius: float, omega: ArrayLike) -> np.ndarray:
    """Radiatively corrected polarizability a (n, 3, 3) complex, m^3.

    eps (n, 3, 3) relative permittivity at omega (n,) rad/s; radius R in m.
    """
    k3 = (np.atleast_1d(np.asarray(omega, dtype=float)) / sc.c) ** 3
    a0 = quasistatic_polarizability(eps, radius)
    return np.linalg.solve(_I3 - 1j * k3[:, None, None] / (6 * np.pi) * a0, a0)


def emission_absorption(alpha: np.ndarray, omega: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(chi_em, chi_abs), each (..., 3, 3) complex Hermitian, m^3, from a (..., 3, 3) at omega.

    omega broadcasts against the leading axes of alpha (e.g. (n,) against (n, N, 3, 3) needs
    omega[:, None]).
    """
    k3 = (np.asarray(omega, dtype=float) / sc.c) ** 3 / (6 * np.pi)
    aH = np.conj(np.swapaxes(alpha, -1, -2))
    loss = (alpha - aH) / 2j
    k3 = np.asarray(k3)[..., None, None]
    return loss - k3 * alpha @ aH, loss - k3 * aH @ alpha
