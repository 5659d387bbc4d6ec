"""Particle arrangements shared by the network scenarios: rings, stacked rings, squares.

All positions are (N, 3) arrays in metres; the field B of a ``Network`` points along z, so
rings built here lie in planes of constant z (B perpendicular to them).
"""

from __future__ import annotations

import numpy as np

from sim.validation import check_finite, check_int, check_positive


def ring(n: int, radius: float, z: float = 0.0) -> np.ndarray:
    """n points evenly spaced on a circle of ``radius`` (m) in the plane at height ``z`` (m).

    Point k sits at angle 2 pi k / n from +x, counter-clockwise seen from +z (the sense a
    positive B turns electrons' cyclotron orbits around). Shape (n, 3), m.
    """
    n = check_int("n", n, low=2)
    radius = float(check_positive("radius", radius, unit="m"))
    z = float(check_finite("z", z))
    a = 2 * np.pi * np.arange(n) / n
    return np.column_stack([radius * np.cos(a), radius * np.sin(a), np.full(n, z)])


def ring_radius_for_spacing(n: int, spacing: float) -> float:
    """Radius (m) of the n-particle ring whose neighbours are ``spacing`` (m) apart (centre to centre)."""
    n = check_int("n", n, low=2)
    return float(check_positive("spacing", spacing, unit="m")) / (2 * np.sin(np.pi / n))


def stacked_rings(n: int, radius: float, h: float) -> np.ndarray:
    """Two identical, aligned n-particle rings in the planes z = 0 and z = h (m).

    Particles 0..n-1 form the lower ring, n..2n-1 the upper one; particle n + k faces k
    (centre distance h). Shape (2n, 3), m.
    """
    h = float(check_positive("h", h, unit="m"))
    return np.concatenate([ring(n, radius, 0.0), ring(n, radius, h)])


def neighbour_pairs(n: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (i, j) of the counter-clockwise neighbour pairs k -> k+1 of an n-ring whose
    particles are offset..offset+n-1 (for reading a circulating current out of an (N, N) matrix)."""
    k = np.arange(n)
    return offset + k, offset + (k + 1) % n
