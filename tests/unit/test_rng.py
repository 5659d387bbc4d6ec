"""Philox known answers, stream independence, and the exact reservoir (CIR) update."""

import numpy as np
import pytest
from scipy import stats

from sim import rng

U = np.uint64
# Random123 known-answer vectors for philox4x32-10: counter, key, expected output
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_philox_known_answers_numba_and_numpy(ctr, key, expected):
    out = rng.philox4x32_10(*map(U, ctr), *map(U, key))
    assert tuple(int(w) for w in out) == expected
    out_np = rng.philox4x32_10.py_func(*(np.array([c], dtype=np.uint64) for c in ctr), *map(U, key))
    assert tuple(int(w[0]) for w in out_np) == expected


def test_normal_array_twin_is_bit_identical():
    k0, k1 = rng.seed_key(99)
    sites = np.arange(17)
    z1, z2 = rng.normal_pair_array(k0, k1, 12345, sites, 2)
    for i in sites:
        a, b = rng.normal_pair(k0, k1, 12345, i, 2, 0)
        assert a == z1[i] and b == z2[i]


def test_box_muller_log_and_sincos_match_numpy_and_their_twins():
    """The branch-free log (within 3 ulp of NumPy's) and cos/sin of 2 pi v (within 1e-15, the
    rounding of 2 pi v itself), compiled and as NumPy twins, bit for bit, including the edges
    of the uniforms' range and of the reductions (sqrt(1/2), the quarter turns)."""
    from numba import njit

    @njit(error_model="numpy")
    def compiled(u):
        log, c, s = np.empty_like(u), np.empty_like(u), np.empty_like(u)
        for i in range(u.shape[0]):
            log[i] = rng._log_unit(u[i])
            c[i], s[i] = rng._sincos_2pi(u[i])
        return log, c, s

    edges = [
        2.0**-54,
        2.0**-53,
        2.0**-40,
        0.5**0.5,
        0.5**0.5 + 1e-16,
        0.125,
        0.25,
        0.375,
        0.5,
        0.625,
        0.75,
        0.875,
        1.0 - 2.0**-53,
    ]
    u = np.concatenate([np.random.default_rng(5).random(200_000), edges])
    log, c, s = compiled(u)
    assert np.array_equal(log, rng.log_unit_array(u))
    assert all(np.array_equal(a, b) for a, b in zip((c, s), rng.sincos_2pi_array(u)))
    assert np.all(np.abs(log - np.log(u)) <= 3 * np.spacing(np.abs(np.log(u))))
    assert np.abs(c - np.cos(2 * np.pi * u)).max() < 1e-15 and np.abs(s - np.sin(2 * np.pi * u)).max() < 1e-15


def test_normals_are_standard_and_streams_independent():
    k0, k1 = rng.seed_key(3)
    n = 200_000
    z1, z2 = rng.normal_pair_array(k0, k1, 0, np.arange(n), 0)
    other, _ = rng.normal_pair_array(k0, k1, 0, np.arange(n), 1)
    for z in (z1, z2):
        assert abs(z.mean()) < 4 / np.sqrt(n)
        assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
        assert stats.kstest(z, "norm").pvalue > 1e-3
    for a, b in ((z1, z2), (z1, other)):
        assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(n)


def test_seed_key_rejects_bad_seeds():
    for bad in (-1, 2**64, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            rng.seed_key(bad)


@pytest.mark.parametrize("shape", [0.3, 1.0, 49.5])
def test_gamma_mean_and_variance(shape):
    k0, k1 = rng.seed_key(5)
    n = 40_000
    g = np.array([rng.gamma(shape, k0, k1, s, 0, 4) for s in range(n)])
    # Gamma(a): mean a, variance a; tolerances from the sample count
    assert abs(g.mean() - shape) < 4 * np.sqrt(shape / n)
    fourth = 3 * shape**2 + 6 * shape  # central 4th moment of Gamma(a)
    assert abs(g.var() - shape) < 4 * np.sqrt((fourth - shape**2) / n)


def test_cir_update_exact_law_after_one_large_step():
    """One step much longer than the relaxation time k/C: mean, variance and the whole law."""
    E0, C, T_b, rate_dt = 20.0, 50.0, 1.3, 1.5
    k0, k1 = rng.seed_key(11)
    n = 100_000
    E = np.array([rng.cir_update(E0, C, T_b, rate_dt, True, k0, k1, s, 0, 0) for s in range(n)])
    mean, var = rng.cir_moments(E0, C, T_b, rate_dt)
    assert abs(E.mean() - mean) < 4 * np.sqrt(var / n)
    m4 = np.mean((E - E.mean()) ** 4)
    assert abs(E.var() - var) < 4 * np.sqrt((m4 - var**2) / n)
    # the transition law is a scaled noncentral chi-square with 2C degrees of freedom
    decay = np.exp(-rate_dt)
    scale = 0.5 * T_b * (1 - decay)
    law = stats.ncx2(df=2 * C, nc=E0 * decay / scale, scale=scale)
    assert stats.kstest(E, law.cdf).pvalue > 1e-3
    assert E.min() > 0


def test_cir_update_without_noise_is_the_exact_mean():
    E = rng.cir_update(20.0, 50.0, 1.3, 0.7, False, U(0), U(0), 0, 0, 0)
    assert E == pytest.approx(rng.cir_moments(20.0, 50.0, 1.3, 0.7)[0], rel=1e-15)
