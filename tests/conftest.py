import numpy as np
import pytest

from sim.rod.model import RodParams


@pytest.fixture
def rod_params():
    """A small driven superconducting rod with the scenario's default material constants."""

    def make(**kw):
        base = dict(N=8, C=50.0, K=5.0, m=1, k_L=0.5, k_R=0.5, T_L=1.1, T_R=0.9, dt=0.5, noise=False, seed=7)
        base.update(kw)
        return RodParams(**base)

    return make


@pytest.fixture
def rng():
    return np.random.default_rng(20261121)
