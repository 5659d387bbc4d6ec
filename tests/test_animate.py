"""Animations: tiny rod and particle-network runs rendered to MP4 and GIF, the GIF fallback without ffmpeg,
bad input."""

import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from sim.io import TimeSeriesWriter
from sim.radiative import Network
from sim.radiative.dynamics import NetworkParams, simulate_network
from sim.radiative.geometry import ring, ring_radius_for_spacing
from sim.rod.model import RodParams
from sim.rod.runner import simulate
from sim.rod.system import Rod
from sim.viz import animate as anim


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory holding one 6-ring noisy rod with 21 recorded frames."""
    out = tmp_path_factory.mktemp("run")
    (out / "timeseries").mkdir()
    simulate(
        RodParams(N=6, K=1.0, noise=True, seed=1),
        nsteps=400,
        record_every=20,
        path=out / "timeseries" / "rod.h5",
        progress=False,
    )
    return out


@pytest.fixture(scope="module")
def network_run_dir(tmp_path_factory):
    """A run directory holding one 4-particle InSb square (B = 5 T, corners 0 and 2 thermostated at
    310 K and 290 K, 1 and 3 free from 300 K) with 21 recorded frames."""
    out = tmp_path_factory.mktemp("netrun")
    (out / "timeseries").mkdir()
    net = Network(
        ring(4, ring_radius_for_spacing(4, 300e-9)),
        100e-9,
        "InSb",
        B=5.0,
        cache_dir=tmp_path_factory.mktemp("cache"),
        model="dipole",
    )
    params = NetworkParams(
        net,
        roles=["thermostat", "free", "thermostat", "free"],
        thermostats=[310.0, 290.0],
        T_init=300.0,
        environment=False,
    )
    simulate_network(params, nsteps=400, record_every=20, path=out / "timeseries" / "network.h5")
    return out


@pytest.fixture(params=["rod", "network"])
def system_run(request):
    """(run directory, time-series stem) of each system with a renderer."""
    return (request.getfixturevalue("run_dir" if request.param == "rod" else "network_run_dir"), request.param)


def _assert_not_blank(rgb: np.ndarray):
    """A rendered frame has contrast and many colours (rings, dots, colorbar, panels)."""
    assert rgb.std() > 20.0
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50


def test_mp4_has_the_requested_frame_count_and_is_not_blank(system_run):
    run_dir, stem = system_run
    movie = anim.animate(run_dir / "timeseries" / f"{stem}.h5", frames=5, fmt="mp4", quiet=True)
    assert movie == run_dir / "animations" / f"{stem}.mp4" and movie.stat().st_size > 0
    assert imageio_ffmpeg.count_frames_and_secs(str(movie))[0] == 5
    reader = imageio_ffmpeg.read_frames(str(movie))
    meta = next(reader)
    w, h = meta["size"]
    frames = [np.frombuffer(buf, np.uint8).reshape(h, w, 3) for buf in reader]
    assert len(frames) == 5
    _assert_not_blank(frames[-1])
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 0.5  # the picture moves


def test_forced_gif_has_the_requested_frame_count_and_is_not_blank(system_run, tmp_path):
    run_dir, stem = system_run
    movie = anim.animate(run_dir, frames=5, fmt="gif", out=tmp_path / f"{stem}.gif", quiet=True)
    assert movie == tmp_path / f"{stem}.gif"
    with Image.open(movie) as im:
        assert im.n_frames == 5
        im.seek(2)
        _assert_not_blank(np.asarray(im.convert("RGB")))


def test_network_arrows_point_the_way_heat_flows_and_scale_with_it(network_run_dir):
    import h5py

    with h5py.File(network_run_dir / "timeseries" / "network.h5", "r") as f:
        r = anim.NetworkRenderer(f, np.arange(f["time"].shape[0]), "net")
        r.update(0)
        flows = f["pair_power"][0]
    try:
        arrows = dict(zip(map(int, r.shown), r.arrows))
        k01 = [tuple(p) for p in r.pairs].index((0, 1))  # the 310 K corner heats the free corner 1
        assert flows[k01] < 0  # heat into 0 from 1 is negative
        start, _ = arrows[k01]._posA_posB  # matplotlib has no public getter for the end points
        assert np.linalg.norm(np.subtract(start, r.xy[0])) < np.linalg.norm(np.subtract(start, r.xy[1]))
        strongest = int(np.argmax(np.abs(flows)))
        assert arrows[strongest].get_linewidth() == max(a.get_linewidth() for a in r.arrows)
    finally:
        anim.plt.close(r.fig)


def test_a_driven_noisy_rod_movie_shows_the_dc_twist_and_supercurrent(tmp_path):
    """Snapshots far apart are thermal noise; the movie's block means show the mean twist
    asin(J/(omega0 K)) (m = 1) and the supercurrent J of model §A4.1-A4.2."""
    p = RodParams(N=16, C=50.0, K=5.0, k_L=0.5, k_R=0.5, T_L=1.1, T_R=0.9, dt=0.5, noise=True, seed=2)
    simulate(p, 200_000, 50, path=tmp_path / "rod.h5", progress=False)
    J = (1.1 - 0.9) / (1 / p.k_L + 1 / p.k_R)
    twist = np.arcsin(J / (1.0 * 5.0))  # omega0(T = 1) = 1 for the default linear law, K = 5
    with anim.h5py.File(tmp_path / "rod.h5") as f:
        idx = np.unique(np.round(np.linspace(0, f["time"].shape[0] - 1, 24)).astype(int))
        shown = {}
        for average in ("auto", "none"):
            r = anim.RodRenderer(f, idx, "rod", average=average)
            shown[average] = np.array(
                [[r.frame(j)["twist"].mean(), r.frame(j)["supercurrent"].mean()] for j in range(1, len(idx))]
            )
            anim.plt.close(r.fig)
        assert r.average == "none"
    means = shown["auto"]
    n = len(means)
    for k, expected in ((0, twist), (1, J)):
        assert abs(means[:, k].mean() - expected) < 4 * means[:, k].std(ddof=1) / np.sqrt(n)
        assert means[:, k].mean() > 0.5 * expected  # the sign and size are visible
        assert shown["none"][:, k].std() > 5 * means[:, k].std()  # what the snapshots would show instead


def test_a_closed_rod_is_drawn_without_reservoirs(tmp_path):
    simulate(
        RodParams(N=6, K=1.0, k_L=0.0, k_R=0.0, noise=True, seed=1),
        200,
        20,
        path=tmp_path / "closed.h5",
        progress=False,
    )
    with anim.h5py.File(tmp_path / "closed.h5") as f:
        r = anim.RodRenderer(f, np.arange(11), "closed")
        try:
            assert r.bath_blocks == [] and r.open_ends == [False, False]
            r.update(3)
            assert len(r.bath_marks.get_offsets()) == 0
        finally:
            anim.plt.close(r.fig)


def test_a_movie_of_few_frames_lasts_at_least_the_minimum(run_dir, tmp_path):
    movie = anim.animate(run_dir, frames=12, out=tmp_path / "short.mp4", quiet=True)
    nframes, secs = imageio_ffmpeg.count_frames_and_secs(str(movie))
    assert nframes == 12 and secs >= anim.MIN_SECONDS - 0.1


@pytest.mark.parametrize(
    "positions",
    [
        [[0, 0, 0], [300e-9, 0, 0], [0, 500e-9, 0], [300e-9, 500e-9, 0]],  # drag dimers, one plane
        np.concatenate([ring(4, 212e-9), ring(4, 212e-9) + [0, 0, 200e-9]]).tolist(),  # two stacked rings
        [[k * 300e-9, 0, 0] for k in range(5)],  # a chain
    ],
)
def test_the_network_camera_hides_no_particle(tmp_path, positions):
    N = len(positions)
    with anim.h5py.File(tmp_path / "net.h5", "w") as f:
        f.attrs.update(
            {
                "positions": np.asarray(positions, float),
                "radii": np.full(N, 100e-9),
                "roles": ["free"] * N,
                "pairs": np.stack(np.triu_indices(N, 1), axis=1),
            }
        )
        f["time"], f["step"] = np.arange(2.0), np.arange(2)
        f["T"] = np.full((2, N), 300.0) + np.arange(N)
        f["pair_power"] = np.ones((2, N * (N - 1) // 2))
        f["P_net"] = np.zeros((2, N))
    with anim.h5py.File(tmp_path / "net.h5") as f:
        r = anim.NetworkRenderer(f, np.arange(2), "net")
        anim.plt.close(r.fig)
    d = np.linalg.norm(r.xy[:, None] - r.xy[None, :], axis=-1) - (r.r2d[:, None] + r.r2d[None, :])
    assert (d + np.diag(np.full(N, np.inf))).min() > 0.02 * np.ptp(r.xy, axis=0).max()


def test_duration_sets_the_frame_rate(run_dir, tmp_path):
    movie = anim.animate(run_dir, frames=4, duration=2.0, out=tmp_path / "d.mp4", quiet=True)
    nframes, secs = imageio_ffmpeg.count_frames_and_secs(str(movie))
    assert nframes == 4 and secs == pytest.approx(2.0, abs=0.1)


def test_without_ffmpeg_a_gif_is_written_instead(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # the import fails
    assert not anim.ffmpeg_available()
    movie = anim.animate(run_dir, frames=3, fmt="mp4", out=tmp_path / "rod.mp4")
    assert movie == tmp_path / "rod.gif"
    assert "ffmpeg is unavailable" in capsys.readouterr().out
    with Image.open(movie) as im:
        assert im.n_frames == 3


def test_more_frames_than_recorded_shows_every_recorded_frame(run_dir, tmp_path):
    movie = anim.animate(run_dir, frames=500, fmt="gif", out=tmp_path / "all.gif", quiet=True)
    with Image.open(movie) as im:
        assert im.n_frames == 21


def test_a_run_with_no_recorded_frames_is_a_clear_error(tmp_path):
    rod = Rod(RodParams(N=4, K=1.0))
    path = tmp_path / "empty.h5"
    TimeSeriesWriter(path, rod.dims, rod.observables, attrs={"system": "rod", "params": rod.params.to_dict()}).close()
    with pytest.raises(ValueError, match=r"empty\.h5 has no recorded frames"):
        anim.animate(path, quiet=True)


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"frames": 0}, "frames = 0 is out of range; allowed: frames >= 1"),
        ({"fps": -1.0}, "fps = -1.0 is out of range"),
        ({"frames": 5, "fps": 2.0, "duration": 1.0}, "at most two of them"),
        ({"fmt": "avi"}, "fmt = 'avi' is unknown; allowed: 'auto', 'mp4', 'gif'"),
        ({"file": "nope"}, "file = 'nope' is not in"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(run_dir, kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        anim.animate(run_dir, quiet=True, **kw)


def test_cli_animate_writes_the_movie(run_dir, tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "sim", "animate", str(run_dir), "--frames", "3", "--format", "gif", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    with Image.open(run_dir / "animations" / "rod.gif") as im:
        assert im.n_frames == 3
    res = subprocess.run(
        [sys.executable, "-m", "sim", "animate", str(tmp_path / "missing")], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 2 and "error:" in res.stderr and "does not exist" in res.stderr


def test_run_with_animate_flag_animates_the_run_directory(tmp_path, monkeypatch):
    """`run --animate` hands the finished run directory to animate_run (stubbed: rendering is tested above)."""
    from sim.cli import main

    calls = []
    monkeypatch.setattr(anim, "animate_run", lambda run_dir, **kw: calls.append((run_dir, kw)) or [])
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "rod-dc",
                "--quick",
                "--quiet",
                "--out",
                str(out),
                "--set",
                "N=[4]",
                "--set",
                "t_measure=2000",
                "--set",
                "record_every=200",
                "--set",
                "t_deterministic=500",
                "--animate",
            ]
        )
        == 0
    )
    assert calls == [(out, {"quiet": True})]
