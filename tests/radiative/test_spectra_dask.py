"""Spectra on a Dask cluster (sim.radiative.distributed): bit-identical to a serial run, and the
``spectra`` command's --workers / --scheduler options and their errors."""

import h5py
import numpy as np
import pytest

pytest.importorskip("dask.distributed")

from sim.cli import main  # noqa: E402
from sim.radiative import distributed  # noqa: E402
from sim.radiative.materials import Drude, Material  # noqa: E402
from sim.radiative.network import Network  # noqa: E402

SQUARE = [[0, 0, 0], [300e-9, 0, 0], [0, 500e-9, 0], [300e-9, 500e-9, 0]]
CONFIG = """positions = [[0,0,0],[300e-9,0,0],[0,500e-9,0],[300e-9,500e-9,0]]
radii = 100e-9
materials = ["SiC", "SiC", "Au", "InSb"]
B = 1.0
model = "dipole"
temperatures = [300.0]
environment = true
[omega]
n = 301
"""


@pytest.fixture(scope="module")
def client():
    c = distributed.connect(workers=2)
    assert list(c.nthreads().values()) == [1, 1]  # two single-threaded worker processes
    assert type(c.cluster).__name__ == "LocalCluster"
    yield c
    distributed.close(c)


def _worker_networks(client) -> list[int]:
    return list(client.run(lambda: len(distributed._NETWORKS)).values())


def _multipole_or_skip(**kw):
    try:
        return Network(SQUARE, 100e-9, "SiC", cache=False, model="multipole", **kw)
    except TypeError:
        pytest.skip("this Network has no multipole model")


def test_sampled_grid_identical_to_serial(client):
    """T_ij and the environment terms of a mixed, gyrotropic network on an odd-sized grid."""
    mats = ["SiC", "Au", "InSb", Drude(1.2e16, 6e13, name="custom")]  # a non-preset travels as an object
    serial = Network(SQUARE, 100e-9, mats, B=1.5, cache=False, model="dipole")
    dist = Network(SQUARE, 100e-9, mats, B=1.5, cache=False, model="dipole")
    omega = np.linspace(1e13, 5e14, 1001)
    with distributed.on_cluster(dist, client) as handle:
        T = dist.transmission(omega)
        T_in, T_out = dist.environment_transmission(omega)
    assert handle.calls == 2 and handle.tasks == 4 and handle.frequencies == 2 * len(omega)
    assert min(_worker_networks(client)) >= 1  # both workers rebuilt the network and computed
    assert "_spectra" not in vars(dist)  # uninstalled: serial again
    assert np.array_equal(T, serial.transmission(omega))
    ref_in, ref_out = serial.environment_transmission(omega)
    assert np.array_equal(T_in, ref_in) and np.array_equal(T_out, ref_out)


def test_conductance_identical_to_serial(client):
    """The adaptive integrals (PanelStore rounds) see the same node values, so the same panels."""
    serial = Network(SQUARE, 100e-9, "SiC", cache=False, model="dipole")
    dist = Network(SQUARE, 100e-9, "SiC", cache=False, model="dipole")
    handle = distributed.install(dist, client)
    G, G_env = dist.conductance(300.0), dist.environment_conductance(300.0)
    ref, ref_env = serial.conductance(300.0), serial.environment_conductance(300.0)
    assert handle.tasks >= 2 * handle.calls >= 4  # every round split over both workers
    assert np.array_equal(G, ref) and np.array_equal(G.abs_error, ref.abs_error)
    assert (G.rel_error, G.n_frequencies) == (ref.rel_error, ref.n_frequencies)
    for a, b in zip(G_env, ref_env):
        assert np.array_equal(a, b) and np.array_equal(a.abs_error, b.abs_error)


def test_local_workers_match_the_client_numerics(client):
    """Same libraries, CPU and BLAS thread counts (Dask alone would give the workers 1 thread)."""
    assert distributed.worker_mismatches(client) == []


def test_chunks_do_not_depend_on_timing(client):
    handle = distributed.DistributedSpectra(
        Network(SQUARE, 100e-9, "SiC", cache=False, model="dipole"), client, check=False
    )
    assert handle.bounds(1001).tolist() == [0, 500, 1001]
    assert handle.bounds(20).tolist() == [0, 20]  # below 2 * min_chunk: one task
    handle.blocks = {False: 7, True: 7}  # a model computed in blocks of 7: cuts on multiples of 7
    assert handle.bounds(100).tolist() == [0, 49, 100]


def test_multipole_identical_to_serial(client):
    """The multipole model's frequencies do not depend on their chunk: any cut reproduces serial."""
    serial, dist = _multipole_or_skip(lmax=2), _multipole_or_skip(lmax=2)
    omega = np.linspace(1e14, 2e14, 707)  # not a multiple of the SIMD width, nor of the model's chunk
    handle = distributed.install(dist, client, min_chunk=1)
    assert handle.blocks[False] == 1 and len(handle.bounds(len(omega))) == 3
    assert np.array_equal(dist.transmission(omega), serial.transmission(omega))
    assert handle.tasks == 2


def test_cli_workers_and_scheduler_write_the_serial_file(tmp_path, monkeypatch, client, capsys):
    from dask.distributed import Client

    address = client.cluster.scheduler_address
    asked = []

    def connect(workers=None, scheduler=None):  # --workers 2 gets the fixture's LocalCluster (as connect makes)
        asked.append((workers, scheduler))
        return Client(address)  # no .cluster: closing it leaves the fixture's cluster running

    cfg = tmp_path / "net.toml"
    cfg.write_text(CONFIG)
    runs = {"serial": [], "scheduler": ["--scheduler", address], "workers": ["--workers", "2"]}
    for name, options in runs.items():
        monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / f"cache-{name}"))  # no run reuses another's spectra
        if name == "workers":
            monkeypatch.setattr(distributed, "connect", connect)
        assert main(["spectra", str(cfg), "--out", str(tmp_path / name), *options]) == 0
    assert asked == [(2, None)]
    assert capsys.readouterr().out.count("spectra on 2 dask worker(s)") == 2
    with h5py.File(tmp_path / "serial" / "spectra.h5") as ref:
        for name in ("workers", "scheduler"):
            with h5py.File(tmp_path / name / "spectra.h5") as f:
                assert sorted(f) == sorted(ref) and "T_in" in f and "conductance" in f
                for key in ref:
                    assert np.array_equal(f[key][()], ref[key][()]), (name, key)
                assert np.array_equal(f["conductance"].attrs["rel_error"], ref["conductance"].attrs["rel_error"])


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"],
            "--workers = 2 and --scheduler = 'tcp://127.0.0.1:8786' exclude each other; allowed: one of them",
        ),
        (["--workers", "0"], "--workers = 0 is out of range; allowed: --workers >= 1"),
        (["--workers", "-3"], "--workers = -3 is out of range; allowed: --workers >= 1"),
        (["--scheduler", ""], "--scheduler = '' is empty; allowed: the address of a running dask scheduler"),
        (["--scheduler", "nonsense"], "--scheduler = 'nonsense' is not a valid address"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler = 'tcp://127.0.0.1:1' is unreachable within 0.5 s"),
    ],
)
def test_bad_cluster_options_refused(tmp_path, monkeypatch, capsys, options, message):
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", 0.5)
    cfg = tmp_path / "net.toml"
    cfg.write_text(CONFIG)
    assert main(["spectra", str(cfg), "--out", str(tmp_path / "out"), "--quiet", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sim spectra: ") and message in err
    assert not (tmp_path / "out").exists()


def test_network_spec_ships_model_attributes_and_rebuilds_exactly():
    net = Network(SQUARE[:2], 100e-9, ["SiC", Drude(1.2e16, 6e13, name="custom")], B=0.5, cache=False, model="dipole")
    spec = distributed.network_spec(net)
    assert spec["materials"][0] == "SiC" and isinstance(spec["materials"][1], Material)
    omega = np.linspace(1e13, 5e14, 50)
    distributed._NETWORKS.clear()
    got = distributed._evaluate_chunk(spec, omega, False, {})  # the worker's task, run here
    assert np.array_equal(got, net._spectra(omega, False))
    net.model, net.lmax = "multipole", 3  # attributes of a multipole Network travel with the spec
    assert distributed.network_spec(net)["kwargs"] == {"model": "multipole", "lmax": 3}
    tampered = dict(spec, description=spec["description"].replace('"B": 0.5', '"B": 0.25'))
    with pytest.raises(RuntimeError, match="differs from the client's"):
        distributed._evaluate_chunk(tampered, omega, False, {})
