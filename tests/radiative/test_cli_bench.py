"""The spectra CLI front and the benchmark's quick mode."""

import h5py
import numpy as np
import pytest

from sim.radiative.cli import spectra_command

CONFIG = """
positions = [[0.0, 0.0, 0.0], [400e-9, 0.0, 0.0], [0.0, 450e-9, 50e-9]]
radii = [100e-9, 100e-9, 80e-9]
materials = ["InSb", "InSb", "SiC"]
B = 2.0
model = "dipole"
temperatures = [300.0]
environment = true
[omega]
min = 2e13
max = 3e14
n = 300
"""


def test_spectra_command_writes_h5_and_png(tmp_path, capsys):
    cfg = tmp_path / "net.toml"
    cfg.write_text(CONFIG)
    assert spectra_command(str(cfg), str(tmp_path / "out")) == 0
    with h5py.File(tmp_path / "out" / "spectra.h5") as f:
        assert f["omega"].attrs["units"] == "rad/s" and f["conductance"].attrs["units"] == "W/K"
        T = f["transmission"][...]
        assert T.shape == (300, 3, 3) and np.all((T >= 0) & (T <= 3))
        assert f["conductance"].shape == (1, 3, 3) and f["conductance"][0, 0, 1] > 0
        assert f["T_in"].shape == (300, 3)
        assert f.attrs["B"] == 2.0 and f.attrs["Conventions"] == "CF-1.10"
    xr = pytest.importorskip("xarray")
    with xr.open_dataset(tmp_path / "out" / "spectra.h5", engine="h5netcdf") as ds:
        assert ds["transmission"].dims == ("omega", "i", "j") and ds["conductance"].dims == ("temperature", "i", "j")
        assert not [d for d in ds.dims if d.startswith("phony_dim")]
        assert np.array_equal(ds["transmission"].values, T)
    assert (tmp_path / "out" / "spectra.png").stat().st_size > 1000
    assert "W/K" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text,match",
    [
        ("radii = 1e-7\nmaterials = 'SiC'", "missing required key 'positions'"),
        (CONFIG.replace("radii = [100e-9, 100e-9, 80e-9]", "radii = -1.0"), "radii = -1.0"),
        ("foo = 1\n" + CONFIG, "unknown key(s) ['foo']"),
        (CONFIG + "\nstep = 1", "in [omega]"),
        (CONFIG.replace("n = 300", "n = 1"), "omega.n = 1"),
        ("positions = [[0,0,0", "sim spectra:"),
    ],
    ids=["missing", "radius", "unknown", "unknown-omega", "n", "toml-syntax"],
)
def test_spectra_command_bad_config(tmp_path, capsys, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    assert spectra_command(str(cfg), str(tmp_path / "out"), quiet=True) == 2
    assert match in capsys.readouterr().err
    assert spectra_command(str(tmp_path / "missing.toml"), str(tmp_path / "out"), quiet=True) == 2
