"""Free-space Green tensor limits and polarizability identities (docs/model.md §B2, B3)."""

import numpy as np
import pytest
from scipy import constants as sc

from sim.radiative import materials
from sim.radiative.green import block_green, free_space_green
from sim.radiative.polarizability import emission_absorption, polarizability, quasistatic_polarizability

U = np.array([0.3, -0.5, 0.81])
U = U / np.linalg.norm(U)
RR = np.outer(U, U)


@pytest.mark.parametrize("kr", [1e-4, 1e-3])
def test_green_near_field_limit(kr):
    k, r = 2e6, kr / 2e6
    near = (3 * RR - np.eye(3)) / (4 * np.pi * k**2 * r**3)
    G = free_space_green(k, r * U)
    # next order of the expansion is (kr)^2 relative
    assert np.abs(G - near).max() / np.abs(near).max() < 2 * kr**2


@pytest.mark.parametrize("kr", [1e3, 1e4])
def test_green_far_field_limit(kr):
    k, r = 2e6, kr / 2e6
    far = np.exp(1j * kr) / (4 * np.pi * r) * (np.eye(3) - RR)
    G = free_space_green(k, r * U)
    assert np.abs(G - far).max() / np.abs(far).max() < 4 / kr


def test_block_green_structure():
    pos = np.array([[0, 0, 0], [1e-6, 2e-7, 0], [3e-7, -1e-6, 5e-7]])
    G = block_green(3e6, pos)
    np.testing.assert_allclose(G, G.T, rtol=1e-14, atol=0)  # reciprocity of vacuum: G symmetric
    assert np.all(G[0:3, 0:3] == 0)
    np.testing.assert_allclose(G[3:6, 6:9], free_space_green(3e6, pos[1] - pos[2]), rtol=1e-14)


def test_radiative_correction_small_and_isotropic():
    sic = materials.get_material("SiC")
    w = np.array([1.6e14, 1.75e14])
    eps = sic.permittivity(w)
    R = 50e-9
    a0 = quasistatic_polarizability(eps, R)
    e = sic.eps(w)
    np.testing.assert_allclose(a0[:, 0, 0], 4 * np.pi * R**3 * (e - 1) / (e + 2), rtol=1e-13)
    a = polarizability(eps, R, w)
    k3 = (w / sc.c) ** 3 / (6 * np.pi)
    np.testing.assert_allclose(a[:, 0, 0], a0[:, 0, 0] / (1 - 1j * k3 * a0[:, 0, 0]), rtol=1e-13)
    assert np.allclose(a[:, 0, 1], 0)


def test_chi_positive_and_equal_for_reciprocal_particle():
    sic = materials.get_material("SiC")
    w = np.geomspace(1e13, 1e15, 200)
    a = polarizability(sic.permittivity(w), 100e-9, w)
    chi_em, chi_abs = emission_absorption(a, w)
    np.testing.assert_allclose(chi_em, chi_abs, rtol=1e-12, atol=0)
    assert np.all(np.linalg.eigvalsh(chi_abs) > 0)


def test_chi_gyrotropic_hermitian_positive_nonsymmetric():
    insb = materials.get_material("InSb")
    w = np.linspace(2e13, 2.2e14, 300)
    a = polarizability(insb.permittivity(w, 5.0), 100e-9, w)
    chi_em, chi_abs = emission_absorption(a, w)
    for chi in (chi_em, chi_abs):
        np.testing.assert_allclose(chi, np.conj(chi.swapaxes(-1, -2)), rtol=1e-12, atol=1e-40)
        assert np.all(np.linalg.eigvalsh(chi) >= -1e-12 * np.abs(chi).max())
    # nonreciprocal: complex Hermitian, not real symmetric (Im off-diagonal from e2)
    assert np.abs(chi_abs - chi_abs.swapaxes(-1, -2)).max() > 1e-3 * np.abs(chi_abs).max()
    # B -> -B transposes the response
    a_rev = polarizability(insb.permittivity(w, -5.0), 100e-9, w)
    np.testing.assert_allclose(a_rev, a.swapaxes(-1, -2), rtol=1e-12, atol=1e-40)
