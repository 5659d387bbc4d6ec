"""Dielectric functions (docs/model.md §B1): presets against their formulas, custom models, tables."""

import numpy as np
import pytest
from scipy import constants as sc

from sim.radiative import materials
from sim.radiative.materials import Drude, DrudeLorentz, InSb, Lorentz, Tabulated, get_material

W = np.geomspace(1e12, 1e16, 301)


def test_sic_matches_model_formula():
    einf, wL, wT, G = 6.7, 1.825e14, 1.494e14, 8.966e11
    expected = einf * (W**2 - wL**2 + 1j * G * W) / (W**2 - wT**2 + 1j * G * W)
    eps = get_material("SiC").permittivity(W)
    np.testing.assert_allclose(eps[:, 0, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(eps[:, 2, 2], expected, rtol=1e-12)
    assert np.all(eps[:, 0, 1] == 0)


@pytest.mark.parametrize("name,gamma", [("Au", 4.05e13), ("Au-g5.32", 5.32e13)])
def test_au_drude(name, gamma):
    eps = get_material(name).permittivity(W)[:, 1, 1]
    np.testing.assert_allclose(eps, 1 - 1.371e16**2 / (W * (W + 1j * gamma)), rtol=1e-12)


@pytest.mark.parametrize(
    "carriers,n,m,g", [("seed", 1.36e25, 7.29e-32, 1e12), ("Palik", 1.07e23, 0.022 * sc.m_e, 3.39e12)]
)
def test_insb_tensor_formula_and_field_reversal(carriers, n, m, g):
    B = 3.0
    mat = InSb(carriers)
    w = 1.2e14
    einf, wL, wT, Gam = 15.7, 3.62e13, 3.39e13, 5.65e11
    wp2 = n * sc.e**2 / (m * sc.epsilon_0 * einf)
    wc = sc.e * B / m
    L = einf * (1 + (wL**2 - wT**2) / (wT**2 - w**2 - 1j * Gam * w))
    e1 = L + einf * wp2 * (w + 1j * g) / (w * (wc**2 - (w + 1j * g) ** 2))
    e2 = einf * wp2 * wc / (w * ((w + 1j * g) ** 2 - wc**2))
    e3 = L - einf * wp2 / (w * (w + 1j * g))
    expected = np.array([[e1, 1j * e2, 0], [-1j * e2, e1, 0], [0, 0, e3]])
    np.testing.assert_allclose(mat.permittivity(w, B)[0], expected, rtol=1e-12)
    np.testing.assert_allclose(mat.permittivity(W, -B), mat.permittivity(W, B).swapaxes(1, 2), rtol=1e-13)
    eps0 = mat.permittivity(W, 0.0)
    np.testing.assert_allclose(eps0, eps0[:, 2, 2][:, None, None] * np.eye(3), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("name", list(materials.PRESETS))
def test_presets_passive_documented_and_with_heat_capacity(name):
    mat = get_material(name)
    eps = mat.permittivity(W, 5.0)
    loss = (eps - np.conj(eps.swapaxes(1, 2))) / 2j
    assert np.all(np.linalg.eigvalsh(loss) > 0)  # passive: anti-Hermitian part positive
    assert mat.source and mat.density > 0 and mat.specific_heat > 0
    assert mat.heat_capacity(100e-9) == pytest.approx(mat.density * mat.specific_heat * 4 / 3 * np.pi * 1e-21)


def test_sic_froehlich_frequency_found():
    einf, wL, wT = 6.7, 1.825e14, 1.494e14
    wF = np.sqrt((einf * wL**2 + 2 * wT**2) / (einf + 2))  # lossless Re eps = -2
    freqs = get_material("SiC").characteristic_frequencies()
    assert np.min(np.abs(freqs - wF)) / wF < 1e-3
    assert np.any(np.isclose(freqs, wT)) and np.any(np.isclose(freqs, wL))


def test_insb_magnetoplasmon_frequencies_split_with_field():
    mat = get_material("InSb")
    f0, f5 = mat.characteristic_frequencies(0.0), mat.characteristic_frequencies(5.0)
    assert len(f5) > len(f0)
    eps = mat.principal_permittivities(f5, 5.0)
    # every frequency found is a pole/zero of the model or a surface mode Re eps = -2
    modes = f5[~np.isin(f5, mat.poles(5.0))]
    assert np.all(np.min(np.abs(eps[np.isin(f5, modes)].real + 2), axis=1) < 1e-4)


def test_custom_drude_lorentz_sum():
    mat = DrudeLorentz(eps_inf=2.0, drude=[(1e15, 1e13)], lorentz=[(1.5, 1e14, 1e12), (0.5, 3e14, 2e12)])
    expected = (
        2.0 - 1e30 / (W * (W + 1e13j)) + 1.5e28 / (1e28 - W**2 - 1e12j * W) + 0.5 * 9e28 / (9e28 - W**2 - 2e12j * W)
    )
    np.testing.assert_allclose(mat.permittivity(W)[:, 0, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(Drude(1e15, 1e13).eps(W), 1 - 1e30 / (W * (W + 1e13j)), rtol=1e-12)
    np.testing.assert_allclose(
        Lorentz(1.0, [(1.5, 1e14, 1e12)]).eps(W), 1 + 1.5e28 / (1e28 - W**2 - 1e12j * W), rtol=1e-12
    )
    with pytest.raises(ValueError, match="eps_inf"):
        DrudeLorentz(eps_inf=-1.0)


def test_table_three_columns_rad_per_s(tmp_path):
    sic = get_material("SiC")
    w = np.linspace(1e14, 2.5e14, 2001)
    e = sic.eps(w)
    path = tmp_path / "sic.txt"
    np.savetxt(path, np.column_stack([w, e.real, e.imag]), header="w Re Im")
    tab = Tabulated.from_file(path)
    wq = np.linspace(1.1e14, 2.4e14, 37)
    np.testing.assert_allclose(tab.permittivity(wq)[:, 0, 0], sic.eps(wq), rtol=2e-3)
    assert tab.omega_range == (w[0], w[-1])
    with pytest.raises(ValueError, match="omega"):
        tab.permittivity(3e14)


def test_table_two_columns_wavelength_complex(tmp_path):
    lam = np.array([12.0, 11.0, 10.0, 9.0])  # um, decreasing is fine
    path = tmp_path / "t.csv"
    path.write_text("# lambda_um, eps\n" + "\n".join(f"{x}, {-3 + x}+{0.1 * x}j" for x in lam))
    tab = Tabulated.from_file(path, x_unit="um")
    w = 2 * np.pi * sc.c / 11e-6
    np.testing.assert_allclose(tab.eps(w), -3 + 11 + 1.1j, rtol=1e-12)


def test_table_errors(tmp_path):
    with pytest.raises(ValueError, match="unreadable"):
        Tabulated.from_file(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1e14 1 0\n3e14 2 0\n2e14 3 0\n")
    with pytest.raises(ValueError, match="monotone"):
        Tabulated.from_file(bad)
    bad.write_text("1e14 1 0\n2e14 abc 0\n")
    with pytest.raises(ValueError, match="non-numeric"):
        Tabulated.from_file(bad)
    bad.write_text("1e14 1 0 4\n")
    with pytest.raises(ValueError, match="2 or 3 columns"):
        Tabulated.from_file(bad)


def test_unknown_material():
    with pytest.raises(ValueError, match="'Cu' is unknown; allowed: 'SiC'"):
        get_material("Cu")
