"""Persistent currents in nonreciprocal (InSb, B != 0) networks, ring geometry, the Hall response,
and the quick runs of the insb-persistent, persistent-drag and hall scenarios."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sim.radiative import Network
from sim.radiative.geometry import neighbour_pairs, ring, ring_radius_for_spacing, stacked_rings
from sim.radiative.materials import get_material
from sim.radiative.persistent import (
    circulation,
    currents_from_pair_powers,
    hall_ratio,
    principal_resonances,
    spectral_extent,
)

R = 100e-9
SQUARE = ring(4, ring_radius_for_spacing(4, 3 * R))


# ----------------------------------------------------------------- geometry
def test_ring_spacing_and_stacking():
    a = ring_radius_for_spacing(4, 3 * R)
    assert a == pytest.approx(3 * R / np.sqrt(2))
    pos = stacked_rings(4, a, 2 * R)
    assert pos.shape == (8, 3)
    i, j = neighbour_pairs(4)
    assert np.allclose(np.linalg.norm(pos[i] - pos[j], axis=1), 3 * R)
    i, j = neighbour_pairs(4, offset=4)
    assert np.allclose(np.linalg.norm(pos[i] - pos[j], axis=1), 3 * R) and np.allclose(pos[4:, 2], 2 * R)
    assert np.allclose(np.linalg.norm(pos[4:] - pos[:4], axis=1), 2 * R)  # particle 4 + k faces k
    assert np.allclose(np.arctan2(pos[:4, 1], pos[:4, 0]), [0, np.pi / 2, np.pi, -np.pi / 2])  # counter-clockwise


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ring(1, R), "n = 1 is out of range"),
        (lambda: ring(4, -R), "radius = -1e-07 is out of range"),
        (lambda: stacked_rings(4, R, 0.0), "h = 0.0 is out of range"),
        (lambda: ring_radius_for_spacing(3, np.nan), "spacing"),
    ],
)
def test_geometry_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------- circulation
def test_circulation_counts_each_crossing_chord_once():
    pos = stacked_rings(4, 1.0, 1.0)
    J = np.zeros((8, 8))
    for off, cur in ((0, 2.0), (4, 3.0)):  # counter-clockwise neighbour currents per ring
        i, j = neighbour_pairs(4, off)
        J[i, j], J[j, i] = cur, -cur
    J[0, 5], J[5, 0] = 0.5, -0.5  # a helical chord 0 -> 5 crosses the half-plane at pi/4
    assert circulation(J, pos, np.pi / 4) == pytest.approx(5.5)
    assert circulation(J, pos, 3 * np.pi / 4) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="J has shape"):
        circulation(J[:4, :4], pos, 0.1)


def test_currents_from_the_dynamics_pair_record():
    pairs = np.stack(np.triu_indices(3, 1), axis=1)  # (0, 1), (0, 2), (1, 2)
    J = currents_from_pair_powers(pairs, [1.0, -2.0, 0.5], 3)  # heat into i from j
    assert J[1, 0] == 1.0 and J[0, 1] == -1.0 and J[0, 2] == 2.0 and J[2, 1] == 0.5
    with pytest.raises(ValueError, match="pair_power has shape"):
        currents_from_pair_powers(pairs, [1.0, 2.0], 3)


# ----------------------------------------------------------------- persistent currents (docs/model.md §B5)
@pytest.fixture(scope="module")
def square_currents(tmp_path_factory):
    """Counter-clockwise neighbour current J[0, 1] (W) of the C4 InSb square at 300 K for several B."""
    cache = tmp_path_factory.mktemp("cache")
    return {
        B: Network(SQUARE, R, "InSb", B=B, cache_dir=cache, model="dipole").persistent_currents(300.0)
        for B in (-3.0, 0.0, 3.0)
    }


def test_persistent_current_is_odd_in_B_and_zero_at_B0(square_currents):
    J3, Jm3, J0 = square_currents[3.0], square_currents[-3.0], square_currents[0.0]
    assert abs(J3[0, 1]) > 1e-13  # a real current at 3 T (~pW)
    assert J3[0, 1] == pytest.approx(-Jm3[0, 1], rel=1e-6)
    assert np.abs(J0).max() < 1e-12 * abs(J3[0, 1])
    assert circulation(J3, SQUARE, np.pi / 4) == pytest.approx(J3[0, 1])  # only the 0 -> 1 chord crosses


def test_persistent_current_circulates_with_every_particle_balanced(square_currents):
    J = square_currents[3.0]
    i, j = neighbour_pairs(4)
    assert np.allclose(J[i, j], J[0, 1], rtol=1e-9)  # the same current on every side
    assert abs(J[0, 2]) < 1e-9 * abs(J[0, 1])  # diagonal: zero by the C2 symmetry
    assert np.abs(J.sum(axis=1)).max() < 1e-9 * abs(J[0, 1])  # no particle gains or loses


def test_two_identical_particles_carry_no_persistent_current():
    net = Network([[0, 0, 0], [3 * R, 0, 0]], R, "InSb", B=5.0, cache=False, model="dipole")
    J = net.persistent_currents(300.0)
    assert abs(J[0, 1]) < 1e-9 * net.power_table([300.0])[0, 0, 1]


def test_antisymmetric_conductance_is_the_temperature_derivative_of_the_persistent_current():
    """G_ij - G_ji = -dJ[i, j]/dT (Guo, Guo & Fan): the link the Hall response rests on."""
    net = Network(SQUARE, R, "InSb", B=3.0, cache=False, model="dipole")
    G = net.conductance(300.0, rtol=1e-8)
    dT = 0.5
    dJ = (net.persistent_currents(300.0 + dT, rtol=1e-8) - net.persistent_currents(300.0 - dT, rtol=1e-8)) / (2 * dT)
    assert np.allclose(G - G.T, -dJ, rtol=1e-4, atol=1e-6 * np.abs(G).max())
    assert abs(dJ[0, 1]) > 1e-3 * G[0, 1]  # and it is not trivially zero


# ----------------------------------------------------------------- Hall closed form
def test_hall_ratio_matches_the_linear_solve_of_the_free_pair():
    """The closed form against the 2x2 balance of the free corners for a C4 conductance matrix."""
    g, gd, a, genv = 2.0, 0.7, 0.3, 0.4
    G = np.zeros((4, 4))
    for k in range(4):
        G[(k + 1) % 4, k], G[k, (k + 1) % 4] = g + a, g - a  # into k+1 from k: counter-clockwise bias
        G[k, (k + 2) % 4] = gd
    L = G - np.diag(G.sum(axis=0) + genv)  # dP_i/dT_j
    dT = 1.0
    fixed = np.array([dT / 2, -dT / 2])  # corners 0, 2
    free = np.linalg.solve(L[np.ix_([1, 3], [1, 3])], -L[np.ix_([1, 3], [0, 2])] @ fixed)
    dJ_dT = 2 * a  # G_10 - G_01 = dJ[0, 1]/dT
    assert (free[0] - free[1]) / dT == pytest.approx(hall_ratio(g, gd, dJ_dT, genv), rel=1e-12)
    assert hall_ratio(g, gd, -dJ_dT, genv) == -hall_ratio(g, gd, dJ_dT, genv)


@pytest.fixture(scope="module")
def hall_steady_states(tmp_path_factory):
    """Steady T (4,) K of the C4 square, corners 0/2 held at 301/299 K, for B = -3, 0, 3 T (no environment)."""
    from sim.radiative.dynamics import NetworkParams, steady_state

    cache = tmp_path_factory.mktemp("cache")
    out = {}
    for B in (-3.0, 0.0, 3.0):
        net = Network(SQUARE, R, "InSb", B=B, cache_dir=cache, model="dipole")
        params = NetworkParams(
            net,
            roles=["thermostat", "free", "thermostat", "free"],
            thermostats=[301.0, 299.0],
            T_init=300.0,
            environment=False,
        )
        out[B] = (steady_state(params, rtol=1e-10).T, net)
    return out


def test_hall_temperature_difference_is_odd_in_B_and_follows_dJdT(hall_steady_states):
    dT_hall = {B: T[1] - T[3] for B, (T, _) in hall_steady_states.items()}
    assert abs(dT_hall[3.0]) > 1e-3  # tens of mK for dT = 2 K
    assert dT_hall[3.0] == pytest.approx(-dT_hall[-3.0], rel=1e-6)
    assert abs(dT_hall[0.0]) < 1e-9
    net = hall_steady_states[3.0][1]
    G = net.conductance(300.0, rtol=1e-8)
    dJ = (net.persistent_currents(300.5, rtol=1e-8)[0, 1] - net.persistent_currents(299.5, rtol=1e-8)[0, 1]) / 1.0
    predicted = hall_ratio(0.5 * (G[0, 1] + G[1, 0]), 0.5 * (G[0, 2] + G[2, 0]), dJ) * 2.0
    assert dT_hall[3.0] == pytest.approx(predicted, rel=1e-3)


# ----------------------------------------------------------------- single-sphere resonances
def test_resonances_split_by_the_cyclotron_frequency():
    mat = get_material("InSb")
    lam = np.linspace(10e-6, 11.5e-6, 30001)
    r0, r5 = principal_resonances(mat, R, 0.0, lam), principal_resonances(mat, R, 5.0, lam)
    assert np.ptp(r0) < 1e-9  # degenerate at B = 0 (10.76 um)
    assert r5[2] == pytest.approx(r0[2], abs=1e-10)  # the polarisation along B ignores B
    w = 2 * np.pi * 299792458.0 / r5[:2]
    assert abs(w[0] - w[1]) == pytest.approx(abs(mat.cyclotron_frequency(5.0)), rel=0.05)


def test_spectral_extent():
    lam = np.linspace(0.0, 10.0, 101)
    s = np.where((lam > 3) & (lam < 6), -1.0, 0.0) + np.where(np.isclose(lam, 8.0), 0.01, 0.0)
    assert spectral_extent(lam, s) == (3.1, 5.9)


# ----------------------------------------------------------------- scenarios (slow)
def _quick_run(name, tmp_path):
    out = tmp_path / name
    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", name, "--quick", "--quiet", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (out / "figures").is_dir() and any((out / "figures").glob("*.png"))
    return summary


def _failed(checks):
    return [k for k, v in checks.items() if isinstance(v, bool) and not v]


@pytest.mark.slow
def test_insb_persistent_quick_run_meets_every_check(tmp_path):
    summary = _quick_run("insb-persistent", tmp_path)
    assert not _failed(summary["checks"])
    assert abs(summary["J_persistent"]) > 0


@pytest.mark.slow
def test_persistent_drag_quick_run_meets_every_check(tmp_path):
    summary = _quick_run("persistent-drag", tmp_path)
    assert not _failed(summary["checks"])
    assert {c["T"] for c in summary["cases"]} == {100.0, 300.0, 1000.0}


@pytest.mark.slow
def test_hall_quick_run_meets_every_check(tmp_path):
    summary = _quick_run("hall", tmp_path)
    assert not _failed(summary["checks"])
    assert summary["dT_hall_at_max_B"] != 0


def test_hall_checks_the_fields_give_no_case_for_are_not_run():
    """B = [1] alone: no +-B pair, no B = 0: those checks are None (not run), never True."""
    from sim_scenarios.hall import checks

    case = {
        "B": 1.0,
        "environment": False,
        "dT_hall": 1e-3,
        "ratio": 5e-4,
        "ratio_linear": 5e-4,
        "identity_error": 1e-12,
    }
    out = checks([case], {"environment": [False]})
    assert out["odd_in_B_noenv"] is None and out["zero_at_B0_noenv"] is None
    assert out["hall_matches_dJdT_relation_noenv"] is True and out["antisymmetric_conductance_is_dJdT"] is True
    out = checks([case | {"B": 0.0, "dT_hall": 0.0}], {"environment": [False]})
    assert out["hall_matches_dJdT_relation_noenv"] is None and out["antisymmetric_conductance_is_dJdT"] is None
