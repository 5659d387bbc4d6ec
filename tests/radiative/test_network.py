"""Network inputs, spectral integrals (docs/model.md §B4, B5), adaptive error control, cache."""

import os
import time
import warnings

import numpy as np
import pytest
from scipy import constants as sc
from scipy.integrate import simpson

from sim.radiative import DipoleApproximationWarning, Network, materials
from sim.radiative.polarizability import polarizability
from sim.radiative.spectra import (
    X_MAX,
    PanelStore,
    cache_key,
    cache_usage,
    dtheta_dT,
    integrate,
    prune_cache,
    root_breakpoints,
    theta,
)

R = 100e-9
PAIR = np.array([[0, 0, 0], [500e-9, 0, 0]])


# ----------------------------------------------------------------- bad input
def test_overlapping_spheres_rejected():
    with pytest.raises(ValueError, match="particles 0 and 1 overlap"):
        Network([[0, 0, 0], [150e-9, 0, 0]], R, "SiC", model="dipole")
    with pytest.raises(ValueError, match="overlap"):
        Network([[0, 0, 0], [1e-6, 0, 0], [1.1e-6, 0, 0]], [100e-9, 50e-9, 60e-9], "SiC", model="dipole")


def test_close_spheres_warn():
    with pytest.warns(DipoleApproximationWarning, match="qualitative") as rec:
        Network([[0, 0, 0], [250e-9, 0, 0]], R, "SiC", model="dipole")
    assert issubclass(rec[0].category, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Network([[0, 0, 0], [300e-9, 0, 0]], R, "SiC", model="dipole")  # 3R: no warning


@pytest.mark.parametrize(
    "radii,match",
    [
        (0.0, "radii = 0.0"),
        (-1e-7, "radii = -1e-07"),
        ([1e-7, np.nan], "radii"),
        ([1e-7, 1e-7, 1e-7], "radii has shape"),
    ],
)
def test_bad_radii(radii, match):
    with pytest.raises(ValueError, match=match):
        Network(PAIR, radii, "SiC", model="dipole")


def test_bad_positions_materials_field():
    with pytest.raises(ValueError, match="positions .* contains .*nan"):
        Network([[0, 0, 0], [np.nan, 0, 0]], R, "SiC", model="dipole")
    with pytest.raises(ValueError, match="positions has shape"):
        Network([[0, 0], [1e-6, 0]], R, "SiC", model="dipole")
    with pytest.raises(ValueError, match="material = 'gold' is unknown"):
        Network(PAIR, R, ["SiC", "gold"], model="dipole")
    with pytest.raises(ValueError, match="materials has 3 entries"):
        Network(PAIR, R, ["SiC", "Au", "SiC"], model="dipole")
    with pytest.raises(ValueError, match="B = inf"):
        Network(PAIR, R, "InSb", B=np.inf, model="dipole")


@pytest.mark.parametrize("omega", [0.0, -1e14, np.nan, [1e14, 0.0]])
def test_bad_omega(omega):
    net = Network(PAIR, R, "SiC", cache=False, model="dipole")
    with pytest.raises(ValueError, match="omega"):
        net.transmission(omega)
    with pytest.raises(ValueError, match="omega"):
        net.environment_transmission(omega)


def test_bad_temperature():
    net = Network(PAIR, R, "SiC", cache=False, model="dipole")
    with pytest.raises(ValueError, match="T = -3.0 is out of range; allowed: T > 0 K"):
        net.conductance(-3.0)
    with pytest.raises(ValueError, match="T_grid"):
        net.power_table([300.0, 0.0])


# ----------------------------------------------------------------- integrals
def closed_form_conductance(d, radius, T):
    """docs/model.md §B5: (3/(4 pi^3 d^6)) int dw Im(a1) Im(a2) dTheta/dT, integrated adaptively."""
    sic = materials.get_material("SiC")
    im_a = lambda w: polarizability(sic.permittivity(w), radius, w)[:, 0, 0].imag
    # int dw/(2 pi) * 3/(2 pi^2 d^6) Im^2 = 3/(4 pi^3 d^6) int dw Im^2
    store = PanelStore(lambda w: (3 / (2 * np.pi**2 * d**6) * im_a(w) ** 2)[:, None], 1)
    bp = root_breakpoints(sic.characteristic_frequencies(), (0.0, np.inf), X_MAX * sc.k * T / sc.hbar)
    return integrate(store, bp, lambda w: dtheta_dT(w, T)[None], rtol=1e-7).value[0, 0]


def test_two_particle_conductance_tends_to_closed_form():
    radius, T = 5e-9, 300.0
    ratios = {}
    for n_r in (3, 5, 10):
        net = Network(np.array([[0, 0, 0], [n_r * radius, 0, 0]]), radius, "SiC", cache=False, model="dipole")
        G = net.conductance(T, rtol=1e-7)
        np.testing.assert_allclose(G, G.T, rtol=1e-12)
        ratios[n_r] = G[0, 1] / closed_form_conductance(n_r * radius, radius, T)
    assert ratios[3] < 0.6  # mutual scattering: the weak-coupling form overestimates at 3R
    assert abs(ratios[5] - 1) < abs(ratios[3] - 1)
    assert abs(ratios[10] - 1) < 2e-3


def test_adaptive_integral_agrees_with_brute_force_grid():
    net = Network(
        np.array([[0, 0, 0], [450e-9, 60e-9, 0]]), [100e-9, 80e-9], ["SiC", "Au"], cache=False, model="dipole"
    )
    T = 300.0
    G = net.conductance(T, rtol=1e-3)
    assert G.rel_error <= 1e-3
    w_top = X_MAX * sc.k * T / sc.hbar
    w = np.linspace(0, w_top, 2**17 + 1)[1:]
    f = dtheta_dT(w, T)[:, None, None] * net.transmission(w) / (2 * np.pi)
    brute = simpson(f, x=w, axis=0)
    brute_coarse = simpson(f[1::2], x=w[1::2], axis=0)
    brute_err = np.abs(brute - brute_coarse)  # Simpson at h vs 2h: a generous bound on the fine error
    assert brute_err[0, 1] < 1e-5 * brute[0, 1]
    diff = np.abs(G - brute)
    assert np.all(diff <= G.abs_error + brute_err + 1e-300)
    assert diff[0, 1] <= G.rel_error * G[0, 1] + brute_err[0, 1]


def test_tighter_tolerance_stays_within_stated_error():
    net = Network(
        np.array([[0, 0, 0], [400e-9, 0, 0], [0, 350e-9, 80e-9]]), R, "InSb", B=5.0, cache=False, model="dipole"
    )
    loose = net.conductance(300.0, rtol=1e-3)
    tight = net.conductance(300.0, rtol=1e-8)
    assert tight.rel_error <= 1e-8 and loose.rel_error <= 1e-3
    assert np.all(np.abs(loose - tight) <= loose.abs_error)
    assert tight.n_frequencies > loose.n_frequencies


def test_conductance_is_temperature_derivative_of_power_table():
    net = Network(PAIR, R, "SiC", cache=False, model="dipole")
    dT = 1e-2
    Phi = net.power_table([300 - dT, 300 + dT], rtol=1e-9)
    G = net.conductance(300.0, rtol=1e-9)
    np.testing.assert_allclose((Phi[1] - Phi[0]) / (2 * dT), G, rtol=1e-6, atol=1e-30)


def test_powers_conserve_energy_and_follow_the_gradient():
    pos = np.array([[0, 0, 0], [400e-9, 0, 0], [0, 450e-9, 0]])
    net = Network(pos, R, ["SiC", "SiC", "Au"], cache=False, model="dipole")
    P = net.powers([350.0, 300.0, 300.0])
    assert abs(P.sum()) < 1e-10 * np.abs(P).max()
    assert P[0] < 0 < P[1]
    Phi = net.power_table([300.0, 350.0])
    expected = Phi[1, 1, 0] - Phi[0, 0, 1] + Phi[0, 1, 2] - Phi[0, 2, 1]
    assert P[1] == pytest.approx(expected, rel=1e-12)


def test_powers_with_environment_vanish_in_equilibrium():
    net = Network(
        np.array([[0, 0, 0], [350e-9, 0, 0], [80e-9, 410e-9, 30e-9]]), R, "InSb", B=5.0, cache=False, model="dipole"
    )
    P = net.powers([300.0] * 3, T_env=300.0, rtol=1e-6)
    Phi_in, Phi_out = net.environment_power_table([300.0])
    assert np.all(np.abs(P) < 1e-5 * Phi_out.max())
    hot = net.powers([300.0] * 3, T_env=400.0)
    assert np.all(hot > 0)


def test_persistent_currents_insb_ring():
    pos = np.array([[0, 0, 0], [350e-9, 0, 0], [80e-9, 410e-9, 30e-9]])
    net = Network(pos, R, "InSb", B=5.0, cache=False, model="dipole")
    J = net.persistent_currents(300.0, rtol=1e-6)
    np.testing.assert_allclose(J, -J.T, rtol=0, atol=1e-15 * np.abs(J).max())
    assert np.abs(J).max() > 1e-14
    # every particle balances: what it sends out through pairs it gets net from the environment
    Phi_in, Phi_out = net.environment_power_table([300.0], rtol=1e-8)
    np.testing.assert_allclose(J.sum(axis=1), Phi_in[0] - Phi_out[0], rtol=1e-4, atol=1e-6 * np.abs(J).max())
    # zero at B = 0 and for two identical particles in a field
    J0 = Network(pos, R, "InSb", B=0.0, cache=False, model="dipole").persistent_currents(300.0)
    assert np.abs(J0).max() < 1e-12 * np.abs(J).max()
    Jpair = Network(pos[:2], R, "InSb", B=5.0, cache=False, model="dipole").persistent_currents(300.0)
    assert np.abs(Jpair).max() < 1e-10 * np.abs(J).max()


def test_heat_capacities():
    net = Network(PAIR, [100e-9, 50e-9], ["SiC", "Au"], cache=False, model="dipole")
    V = 4 / 3 * np.pi * np.array([100e-9, 50e-9]) ** 3
    np.testing.assert_allclose(net.heat_capacities, [3210 * 690 * V[0], 19300 * 129 * V[1]])


# ----------------------------------------------------------------- cache
def test_spectra_cached_on_disk_and_reused(tmp_path, monkeypatch):
    net = Network(PAIR, R, "SiC", cache_dir=tmp_path, model="dipole")
    G = net.conductance(300.0)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    again = Network(PAIR, R, "SiC", cache_dir=tmp_path, model="dipole")
    monkeypatch.setattr(again, "_spectra", lambda *a: pytest.fail("spectra recomputed despite the cache"))
    np.testing.assert_array_equal(again.conductance(300.0), G)
    again.power_table([250.0, 300.0])  # other temperatures in the same window: still no new spectra
    # geometry, material and field enter the key
    Network(PAIR * 1.01, R, "SiC", cache_dir=tmp_path, model="dipole").conductance(300.0)
    Network(PAIR, R, "InSb", B=1.0, cache_dir=tmp_path, model="dipole").conductance(300.0)
    Network(PAIR, R, "InSb", B=2.0, cache_dir=tmp_path, model="dipole").conductance(300.0)
    assert len(list(tmp_path.glob("*.npz"))) == 4


def test_cache_dir_from_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / "env-cache"))
    Network(PAIR, R, "SiC", model="dipole").conductance(300.0)
    assert len(list((tmp_path / "env-cache").glob("*.npz"))) == 1
    Network(PAIR, R, "Au", cache=False, model="dipole").conductance(300.0)
    assert len(list((tmp_path / "env-cache").glob("*.npz"))) == 1


def test_prune_cache_removes_least_recently_used_first(tmp_path):
    now = time.time()
    for name, size, days_ago in [("a", 300, 10), ("b", 200, 5), ("c", 100, 1)]:
        f = tmp_path / f"{name}.npz"
        f.write_bytes(b"0" * size)
        os.utime(f, (now - days_ago * 86400, now - days_ago * 86400))
    assert [f.name for f, _, _ in cache_usage(tmp_path)] == ["a.npz", "b.npz", "c.npz"]
    assert prune_cache(max_bytes=600, cache_dir=tmp_path) == []
    assert [f.name for f in prune_cache(max_bytes=350, cache_dir=tmp_path)] == ["a.npz"]
    assert [f.name for f in prune_cache(older_than_days=2, cache_dir=tmp_path)] == ["b.npz"]
    assert [f.name for f in prune_cache(max_bytes=0, cache_dir=tmp_path)] == ["c.npz"]
    assert prune_cache(max_bytes=0, cache_dir=tmp_path / "missing") == []
    # the multipole orders kept beside the spectra count and age like them
    order = tmp_path / "d-order.json"
    order.write_text('{"lmax": 3}')
    os.utime(order, (now - 40 * 86400, now - 40 * 86400))
    assert [f for f, _, _ in cache_usage(tmp_path)] == [order]
    assert prune_cache(older_than_days=30, cache_dir=tmp_path) == [order] and not order.exists()
    for bad in [dict(max_bytes=-1), dict(older_than_days=-2.0), dict(max_bytes=float("nan"))]:
        with pytest.raises(ValueError, match="allowed: >= 0"):
            prune_cache(cache_dir=tmp_path, **bad)


def test_using_cached_spectra_marks_them_recently_used(tmp_path):
    sic_net = Network(PAIR, R, "SiC", cache_dir=tmp_path, model="dipole")
    sic_net.conductance(300.0)
    Network(PAIR, R, "Au", cache_dir=tmp_path, model="dipole").conductance(300.0)
    sic = tmp_path / f"{cache_key(sic_net.description())}-pairs.npz"
    (au,) = {f for f, _, _ in cache_usage(tmp_path)} - {sic}
    old = time.time() - 30 * 86400
    for f in (sic, au):
        os.utime(f, (old, old))
    Network(PAIR, R, "SiC", cache_dir=tmp_path, model="dipole").conductance(300.0)  # read from the cache
    assert [f for f, _, _ in cache_usage(tmp_path)] == [au, sic]
    assert prune_cache(older_than_days=1, cache_dir=tmp_path) == [au]


def test_planck_functions():
    w, T = np.array([1e12, 1e14, 5e15]), 300.0
    x = sc.hbar * w / (sc.k * T)
    np.testing.assert_allclose(theta(w, T), sc.hbar * w / np.expm1(x), rtol=1e-13)
    dT = 1e-3
    np.testing.assert_allclose(dtheta_dT(w, T), (theta(w, T + dT) - theta(w, T - dT)) / (2 * dT), rtol=1e-7)
    assert np.all(np.isfinite(dtheta_dT(np.array([1e17]), 1.0)))


def test_reading_a_kept_multipole_order_counts_as_a_use(tmp_path):
    """The pruning removes the least recently used files: a kept order read again is young."""
    net = Network(PAIR, R, "SiC", cache_dir=tmp_path, model="dipole")
    path = net._order_path(1e-4)
    path.write_text('{"lmax": 3, "order_change": 1e-5}')
    old = time.time() - 40 * 86400
    os.utime(path, (old, old))
    assert net._remembered_order(1e-4)["lmax"] == 3
    assert path.stat().st_mtime > old + 39 * 86400
    assert prune_cache(older_than_days=30, cache_dir=tmp_path) == []
