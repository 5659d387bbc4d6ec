"""Every units attribute the package writes parses with pint (SI; "1" for the rod's reduced units)."""

import h5py
import pytest

from sim.radiative.dynamics import OBSERVABLES as NETWORK
from sim.rod.model import RodParams
from sim.rod.runner import simulate

pint = pytest.importorskip("pint")
UNITS = pint.UnitRegistry()


@pytest.mark.parametrize("units", sorted({u for _, u, _ in NETWORK.values()} | {"s", "rad/s", "um", "W/K", "K", "1"}))
def test_network_and_spectra_units_parse(units):
    UNITS.parse_units(units)


def test_rod_file_units_parse_and_state_the_reduced_system(tmp_path):
    simulate(RodParams(N=4, K=1.0), 100, 50, path=tmp_path / "rod.h5", progress=False)
    with h5py.File(tmp_path / "rod.h5") as f:
        assert "k_B = 1" in f.attrs["unit_system"]
        for name, ds in f.items():
            assert UNITS.parse_units(ds.attrs["units"]).dimensionless, name
