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
    simulate(RodParams(N=6, noise=True, seed=1), nsteps=400, record_every=20, path=out / "timeseries" / "rod.h5",
             progress=False)
    return out


@pytest.fixture(scope="module")
def network_run_dir(tmp_path_factory):
    """A run directory holding one 4-particle InSb square (B = 5 T, corners 0 and 2 thermostated at
    310 K and 290 K, 1 and 3 free from 300 K) with 21 recorded frames."""
    out = tmp_path_factory.mktemp("netrun")
    (out / "timeseries").mkdir()
    net = Network(ring(4, ring_radius_for_spacing(4, 300e-9)), 100e-9, "InSb", B=5.0,
                  cache_dir=tmp_path_factory.mktemp("cache"))
    params = NetworkParams(net, roles=["thermostat", "free", "thermostat", "free"], thermostats=[310.0, 290.0],
                           T_init=300.0, environment=False)
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
        k01 = [tuple(p) for p in r.pairs].index((0, 1))            # the 310 K corner heats the free corner 1
        assert flows[k01] < 0                                       # heat into 0 from 1 is negative
        start, _ = arrows[k01]._posA_posB  # matplotlib has no public getter for the end points
        assert np.linalg.norm(np.subtract(start, r.xy[0])) < np.linalg.norm(np.subtract(start, r.xy[1]))
        strongest = int(np.argmax(np.abs(flows)))
        assert arrows[strongest].get_linewidth() == max(a.get_linewidth() for a in r.arrows)
    finally:
        anim.plt.close(r.fig)


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
    rod = Rod(RodParams(N=4))
    path = tmp_path / "empty.h5"
    TimeSeriesWriter(path, rod.dims, rod.observables, attrs={"system": "rod", "params": rod.params.to_dict()}).close()
    with pytest.raises(ValueError, match=r"empty\.h5 has no recorded frames"):
        anim.animate(path, quiet=True)


@pytest.mark.parametrize("kw,message", [
    ({"frames": 0}, "frames = 0 is out of range; allowed: frames >= 1"),
    ({"fps": -1.0}, "fps = -1.0 is out of range"),
    ({"frames": 5, "fps": 2.0, "duration": 1.0}, "at most two of them"),
    ({"fmt": "avi"}, "fmt = 'avi' is unknown; allowed: 'auto', 'mp4', 'gif'"),
    ({"file": "nope"}, "file = 'nope' is not in"),
])
def test_bad_input_is_refused_with_a_clear_message(run_dir, kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        anim.animate(run_dir, quiet=True, **kw)


def test_cli_animate_writes_the_movie(run_dir, tmp_path):
    res = subprocess.run([sys.executable, "-m", "sim", "animate", str(run_dir), "--frames", "3", "--format", "gif",
                          "--quiet"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    with Image.open(run_dir / "animations" / "rod.gif") as im:
        assert im.n_frames == 3
    res = subprocess.run([sys.executable, "-m", "sim", "animate", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "error:" in res.stderr and "does not exist" in res.stderr


def test_run_with_animate_flag_animates_the_run_directory(tmp_path, monkeypatch):
    """`run --animate` hands the finished run directory to animate_run (stubbed: rendering is tested above)."""
    from sim.cli import main

    calls = []
    monkeypatch.setattr(anim, "animate_run", lambda run_dir, **kw: calls.append((run_dir, kw)) or [])
    out = tmp_path / "run"
    assert main(["run", "rod-dc", "--quick", "--quiet", "--out", str(out), "--set", "N=[4]", "--set", "t_measure=2000",
                 "--set", "record_every=200", "--set", "t_deterministic=500", "--animate"]) == 0
    assert calls == [(out, {"quiet": True})]
