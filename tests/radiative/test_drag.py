"""The sign of the SiC/SiC drag (sim.radiative.drag): negative drag between identical dimers
is a many-body effect of the dressed transmissions, not of the pair law."""

import warnings

import numpy as np
import pytest

from sim.radiative.drag import drag_from_conductances, drag_linear, drag_network
from sim.radiative.network import DipoleApproximationWarning, Network

R = 100e-9
T1, T2 = 301.0, 300.0


def pairwise_conductances(positions, T):
    """G (4, 4) W/K with every pair computed alone (no other particle present)."""
    G = np.zeros((4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DipoleApproximationWarning)
        for i in range(4):
            for j in range(i + 1, 4):
                pair = Network([positions[i], positions[j]], R, "SiC", model="dipole")
                G[i, j] = G[j, i] = float(pair.conductance(T, rtol=1e-8)[0, 1])
    return G


@pytest.mark.parametrize("d_over_R,h_over_R", [(2.0, 2.0), (3.0, 6.0)])
def test_negative_sic_drag_needs_the_many_body_dressing(d_over_R, h_over_R):
    net, _ = drag_network(R, d_over_R * R, h_over_R * R, ["SiC"] * 4, model="dipole")
    # pair law: a conductance falls with distance, so the facing pair (h) beats the diagonal
    # (sqrt(d^2 + h^2)) and Eq. 12 gives R_D > 0 for identical particles at any geometry
    G_pair = pairwise_conductances(net.positions, 0.5 * (T1 + T2))
    assert G_pair[0, 2] > G_pair[0, 3]
    assert drag_from_conductances(G_pair, T1, T2)["R_D"] > 0
    # dressed: the hybridised drive dimer lets the diagonal win, R_D < 0 (drag-sic's deviation)
    dressed = drag_linear(net, T1, T2, rtol=1e-8)
    assert dressed["G"][0, 3] > dressed["G"][0, 2]
    assert dressed["R_D"] < 0


def test_facing_transmission_dips_where_the_diagonal_peaks():
    """d = 3R, h = 5R: at SiC's Froehlich frequency (eps = -2), between the drive dimer's two
    split lines, the diagonal transmission exceeds the facing one; at d = 6R (lines not split
    apart) the facing one wins there by a wide margin."""
    eps_inf, wL, wT = 6.7, 1.825e14, 1.494e14
    w_F = np.sqrt((eps_inf * wL**2 + 2 * wT**2) / (eps_inf + 2))
    T3 = drag_network(R, 3 * R, 5 * R, ["SiC"] * 4, model="dipole")[0].transmission(w_F)
    T6 = drag_network(R, 6 * R, 5 * R, ["SiC"] * 4, model="dipole")[0].transmission(w_F)
    assert T3[3, 0] > T3[2, 0]
    assert T6[2, 0] > 3 * T6[3, 0]


# ---------------------------------------------------------------- bracketing and configuration (fast)


def test_sign_change_roots_brackets_known_roots_to_the_tolerance():
    from sim.radiative.drag import sign_change_roots

    h = np.geomspace(1.0, 100.0, 6)
    f = lambda x: np.log(x / 7.3) * np.log(x / 40.0)  # noqa: E731  roots at 7.3 and 40, f > 0 outside
    roots = sign_change_roots(f, h, f(h), rtol=1e-3)
    assert [r["converged"] for r in roots] == [True, True]
    for r, exact in zip(roots, (7.3, 40.0)):
        assert abs(r["h"] / exact - 1) < 1e-3
        assert r["bracket"][0] < exact < r["bracket"][1]
        assert 0 < r["evaluations"] <= 8
    # no sign change: nothing; a grid value exactly 0 is itself the root
    assert sign_change_roots(f, h[:2], f(h[:2])) == []
    y = np.array([1.0, 0.0, -1.0])
    assert [r["h"] for r in sign_change_roots(lambda x: 1.0 / 0.0, [1.0, 2.0, 3.0], y)] == [2.0]


def test_sign_change_roots_of_a_quantity_spanning_decades_take_few_calls():
    """A drag-like R_D(h) ~ h^-6 - h^-4 / h0^2 falls by decades across the bracket; dividing by the
    geometric interpolation of |y| keeps brentq to a handful of calls, the root to 1e-6."""
    from sim.radiative.drag import sign_change_roots

    h0 = 4.2
    f = lambda x: x**-6.0 - x**-4.0 / h0**2  # noqa: E731
    h = np.geomspace(2.0, 50.0, 5)
    calls = []
    roots = sign_change_roots(lambda x: calls.append(x) or f(x), h, f(h), rtol=1e-6)
    assert len(roots) == 1 and abs(roots[0]["h"] / h0 - 1) < 1e-6
    assert len(calls) == roots[0]["evaluations"] <= 8
    assert all(roots[0]["bracket"][0] < x < roots[0]["bracket"][1] for x in calls)


def test_model_config_validation_names_key_value_and_allowed():
    from sim.radiative.drag import check_model_config

    ok = {"model": "multipole", "lmax": None, "order_rtol": 1e-4}
    assert check_model_config(ok) == ok
    assert check_model_config({**ok, "lmax": 6.0})["lmax"] == 6
    for bad, words in [
        ({"model": "quadrupole"}, ["model = 'quadrupole'", "'dipole', 'multipole'"]),
        ({"lmax": 0}, ["lmax = 0", "lmax >= 1"]),
        ({"lmax": 2.5}, ["lmax = 2.5", "integer"]),
        ({"lmax": "auto"}, ["lmax = 'auto'", "null"]),
        ({"model": "dipole", "lmax": 3}, ["lmax = 3", "model = 'dipole'"]),
        ({"order_rtol": 0.0}, ["order_rtol = 0.0", "order_rtol > 0"]),
        ({"order_rtol": 1.0}, ["order_rtol = 1.0", "order_rtol < 1"]),
        ({"order_rtol": "tight"}, ["order_rtol = 'tight'", "number"]),
    ]:
        with pytest.raises(ValueError) as e:
            check_model_config({**ok, **bad})
        assert all(w in str(e.value) for w in words), str(e.value)


def test_contact_runs_in_the_dipole_model():
    from sim.radiative.drag import PAPER_GEOMETRY, model_at

    assert model_at(2.0, "multipole") == "dipole" and model_at(3.0, "multipole") == "multipole"
    assert model_at(3.0, "dipole") == "dipole"
    assert "no converged multipole answer at contact" in PAPER_GEOMETRY


@pytest.mark.parametrize(
    "scenario_name,bad,words",
    [
        ("drag-sic", {"model": "tmatrix"}, ["model = 'tmatrix'"]),
        ("drag-sic", {"d_map_multipole_over_R": [2.0, 3.0]}, ["d_map_multipole_over_R = 2.0", "> 2"]),
        ("drag-sic-au", {"h_min_multipole_over_R": 2.0}, ["h_min_multipole_over_R = 2.0", "> 2"]),
        ("drag-sic-au", {"n_h_map_multipole": 1}, ["n_h_map_multipole = 1"]),
        ("drag-sic", {"boundary_rtol": 0.5}, ["boundary_rtol = 0.5"]),
        ("drag-sic", {"model": "dipole", "lmax": 4}, ["lmax = 4", "model = 'dipole'"]),
        ("conductance-vs-h", {"lmax": -1}, ["lmax = -1"]),
        ("conductance-vs-h", {"order_rtol": -1e-4}, ["order_rtol = -0.0001"]),
        ("conductance-vs-h", {"n_h_multipole": 0}, ["n_h_multipole = 0"]),
    ],
)
def test_scenarios_refuse_bad_model_keys_before_computing(scenario_name, bad, words):
    """The check every run passes before its run directory exists (keys, then the precheck)."""
    from sim.scenario import get

    sc_ = get(scenario_name)
    with pytest.raises(ValueError) as e:
        sc_.check({**sc_.defaults(True), **bad})
    assert all(w in str(e.value) for w in words), str(e.value)


@pytest.mark.parametrize("name", ["drag-sic", "drag-sic-au"])
def test_a_study_on_two_worker_processes_gives_the_numbers_of_one(name, tmp_path, monkeypatch):
    """The points, by-d rows and bracketed sign changes of a drag study computed on a pool of two
    processes (each from its own cold spectra cache) against the same study in this process:
    drag-sic-au's tiny run brackets a sign change, drag-sic's runs the multipole model."""
    import json

    from sim import cli
    from tests.test_scenario_smoke import TINY

    runs = {}
    for workers in (1, 2):
        monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / f"cache{workers}"))
        out = tmp_path / f"run{workers}"
        args = ["run", name, "--quick", "--quiet", "--out", str(out)] + [x for s in TINY[name] for x in ("--set", s)]
        assert cli.main(args + ["--set", f"workers={workers}"]) == 0  # the last --set of a key wins
        runs[workers] = json.loads((out / "summary.json").read_text())
    one, two = runs[1], runs[2]
    maps = [m for m in ("sign_map", "sign_map_multipole") if one.get(m)]
    for m in maps:
        assert np.allclose(two[m]["R_D"], one[m]["R_D"], rtol=1e-12, atol=0)
        assert np.allclose(
            np.concatenate([[0.0], *two[m]["sign_change_h"]]),
            np.concatenate([[0.0], *one[m]["sign_change_h"]]),
            rtol=1e-9,
        )
    for key, row in one["by_d"].items():
        for q in ("R_D", "R_D_balance", "R_D_linear"):
            assert np.allclose(two["by_d"][key][q], row[q], rtol=1e-12, atol=0)
    if name == "drag-sic-au":  # its bracketing ran on the pool
        assert any(one["sign_map"]["sign_change_h"])


def test_process_pool_stops_its_workers_when_interrupted_or_terminated():
    """A drag study's process pool: one process's pool is None; results come back in order; an
    interrupted pool terminates its workers at once instead of waiting for their current task, and
    a termination request (SIGTERM) while waiting on them raises Terminated."""
    import time

    from sim import simulation
    from sim.radiative.distributed import pool_map, process_pool

    with process_pool(1) as pool:
        assert pool is None and list(pool_map(pool, abs, [-1, 2])) == [1, 2]
    with process_pool(2) as pool:
        assert list(pool_map(pool, abs, [-1, -2, 3])) == [1, 2, 3]
    with pytest.raises(KeyboardInterrupt), process_pool(2) as pool:
        pool.submit(time.sleep, 600)
        time.sleep(1.0)  # the worker has started its task
        workers = list(pool._processes.values())
        raise KeyboardInterrupt
    simulation.request_termination()
    try:
        with pytest.raises(simulation.Terminated), process_pool(2) as pool:
            assert pool.submit(abs, -1).result() == 1  # a worker is up: the sleep below runs in it
            workers += list(pool._processes.values())
            next(pool_map(pool, time.sleep, [600], poll_s=0.2))
    finally:
        simulation.clear_termination()
    for proc in workers:
        proc.join(timeout=30)
        assert not proc.is_alive()
    with pytest.raises(ValueError, match="workers"):
        with process_pool(0):
            pass
