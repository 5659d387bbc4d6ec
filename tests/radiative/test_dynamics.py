"""Temperature dynamics of particle networks (sim.radiative.dynamics): exponential relaxation,
order of the integrator, steady states vs the linear solve, the energy ledger, the NumPy
twin, thermal noise (variance kB T^2/C and the fluctuation-dissipation theorem), schedules,
and clear errors for bad input."""

import warnings

import numpy as np
import pytest
from scipy.linalg import expm

from sim.radiative.dynamics import NetworkParams, NetworkSystem, KB, simulate_network, steady_state
from sim.radiative.dynamics_reference import advance_numpy
from sim.radiative.network import Network
from sim.schedule import Schedule
from sim.simulation import RunawayError

R = 100e-9


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("spectra")


@pytest.fixture(scope="module")
def dimer(cache):
    return Network([[0, 0, 0], [3 * R, 0, 0]], R, "SiC", cache_dir=cache)


@pytest.fixture(scope="module")
def quad(cache):
    """Two parallel dimers (drag geometry), d = 3R, h = 5R, SiC/Au crossed."""
    d, h = 3 * R, 5 * R
    return Network([[0, 0, 0], [d, 0, 0], [0, h, 0], [d, h, 0]], R, ["SiC", "Au", "Au", "SiC"], cache_dir=cache)


def test_twin_matches_numpy_reference(quad):
    """Numba kernel == NumPy twin step by step (environment, noise, a moving schedule)."""
    sched = Schedule("sinusoid", T0=320.0, amplitude=5.0, w=300.0)
    p = NetworkParams(quad, ["thermostat", "free", "thermostat", "free"], [sched, 300.0], T_init=[310.0, 305.0],
                      environment=True, noise=True, seed=3, dt=2e-4)
    s = NetworkSystem(p)
    a, b = s.initial_state(), s.initial_state()
    s.advance(a, 40)
    advance_numpy(s, b, 40)
    for f in ("T", "Q_pair", "Q_thermostat", "Q_env", "acc"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-9, atol=1e-9 * np.abs(getattr(b, f)).max(), err_msg=f)
    assert a.step == b.step == 40
