"""Persistent heat currents in nonreciprocal networks: circulations, spectra, resonances, Hall response.

Conventions (as ``Network.persistent_currents``): J[i, j] is the net heat (W) from i to j,
antisymmetric; at uniform temperature it is int dw/(2 pi) Theta(w, T) [T_ji(w) - T_ij(w)].
B points along z, so rings around the z axis circulate counter-clockwise for I > 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants as sc

from sim.validation import check_finite, check_positive

if TYPE_CHECKING:
    from sim.radiative.materials import Material


def circulation(J: ArrayLike, positions: ArrayLike, phi0: float) -> float:
    """Azimuthal heat current (W) through the half-plane at azimuth ``phi0`` (rad) bounded by the z axis.

    Every pair current J[i, j] (N, N) W whose straight chord from i to j (positions (N, 3), m)
    crosses the half-plane counter-clockwise counts +J[i, j]. Pairs on a line through the
    axis (angular separation pi) are skipped: they cross no half-plane unambiguously, and in
    the symmetric rings of the scenarios their currents vanish by the C2 symmetry. For a
    divergence-free J the result does not depend on phi0 between particles.
    """
    J = check_finite("J", J)
    pos = check_finite("positions", positions)
    if J.shape != (len(pos), len(pos)):
        raise ValueError(f"J has shape {J.shape}; allowed: ({len(pos)}, {len(pos)}) to match positions")
    phi = np.arctan2(pos[:, 1], pos[:, 0])
    span = np.mod(phi[None, :] - phi[:, None], 2 * np.pi)  # ccw angle from i to j
    start = np.mod(float(phi0) - phi, 2 * np.pi)[:, None]  # ccw angle from i to the half-plane
    crosses = (span > 1e-9) & (span < np.pi - 1e-9) & (start < span)
    return float(J[crosses].sum())


def spectral_extent(wavelength: ArrayLike, spectrum: ArrayLike, fraction: float = 0.05) -> tuple[float, float]:
    """(shortest, longest) wavelength (unit of ``wavelength``) where |spectrum| exceeds
    ``fraction`` of its maximum: the band a spectrum occupies, robust to sign changes."""
    lam, s = np.asarray(wavelength, float), np.abs(np.asarray(spectrum, float))
    inside = lam[s > fraction * s.max()]
    return float(inside.min()), float(inside.max())


def principal_resonances(material: Material, radius: float, B: float, wavelength: ArrayLike) -> np.ndarray:
    """Resonance wavelengths (unit of ``wavelength``) of one sphere for its three principal
    polarisations (the two circular ones in the plane normal to B, then the one along B):
    the maxima of Im a0 = Im 4 pi R^3 (eps - 1)/(eps + 2) over the sampled ``wavelength`` (n,) m,
    for each principal permittivity. Shape (3,)."""
    lam = check_positive("wavelength", wavelength, unit="m")
    return lam[np.argmax(single_particle_absorption(material, radius, B, lam), axis=0)]


def single_particle_absorption(material: Material, radius: float, B: float, wavelength: ArrayLike) -> np.ndarray:
    """Im a0 (m^3) of a sphere of ``radius`` (m) for each principal polarisation, (n, 3), at
    ``wavelength`` (n,) m in the field B (T): the quasi-static resonances, without the
    radiative correction (it shifts them by ~(kR)^3, invisible at R = 100 nm)."""
    lam = check_positive("wavelength", wavelength, unit="m")
    omega = 2 * np.pi * sc.c / lam
    eps = material.principal_permittivities(omega, B)
    return (4 * np.pi * float(radius) ** 3 * (eps - 1) / (eps + 2)).imag


def hall_ratio(G_neighbour: float, G_diagonal: float, dJ_dT: float, G_env: float = 0.0) -> float:
    """Linear-response transverse temperature ratio (T_1 - T_3)/(T_0 - T_2) of a C4 square.

    Corners 0..3 counter-clockwise; 0 and 2 held at T +- dT/2, 1 and 3 free. The conductance
    matrix has the symmetric neighbour part G_neighbour and diagonal part G_diagonal (W/K);
    its antisymmetric part is the T-derivative of the persistent current,
    G_ij - G_ji = -dJ[i, j]/dT (Guo, Guo & Fan), with dJ_dT = dJ[0, 1]/dT (W/K) the
    counter-clockwise neighbour current's derivative. G_env (W/K) is each particle's
    conductance to the environment (0 without it). Solving the free particles' balance:

        (T_1 - T_3)/dT = dJ_dT / (2 (G_neighbour + G_diagonal) + G_env).
    """
    return float(dJ_dT / (2 * (G_neighbour + G_diagonal) + G_env))


def currents_from_pair_powers(pairs: ArrayLike, pair_power: ArrayLike, N: int) -> np.ndarray:
    """J (N, N) W, net heat from i to j, from the dynamics' record: ``pairs`` (n_pairs, 2) [i, j]
    with i < j and ``pair_power`` (n_pairs,) W, the heat flowing into i from j."""
    pairs = np.asarray(pairs, int).reshape(-1, 2)
    flow = check_finite("pair_power", pair_power)
    if flow.shape != (len(pairs),):
        raise ValueError(f"pair_power has shape {flow.shape}; allowed: ({len(pairs)},) to match pairs")
    J = np.zeros((N, N))
    J[pairs[:, 1], pairs[:, 0]] = flow
    J[pairs[:, 0], pairs[:, 1]] = -flow
    return J
