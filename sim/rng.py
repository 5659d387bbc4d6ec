"""Counter-based random numbers: Philox4x32-10 keyed on (seed, step, site, stream).

A draw is a pure function of its key and counter, so a run is bit-identical whatever the
thread count or the order in which sites are visited, and a checkpoint only has to store
the step number. Layout of the 128-bit counter:

    word 0, 1 : step (low, high 32 bits)
    word 2    : site (ring or link index)
    word 3    : stream << 20 | block   (stream: which use, e.g. left bath 1st half-step;
                                         block: consecutive 128-bit blocks of that use)

The functions below are written once and serve twice: compiled by Numba for the kernels,
and called on NumPy uint64 arrays by the reference twins (the same integer arithmetic).
Known-answer vectors of the Random123 distribution are checked in the tests.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S20 = np.uint64(20)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, error_model="numpy")
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox4x32 rounds on counter (c0..c3) with key (k0, k1); all uint64 holding 32 bits.

    Returns the four 32-bit output words as uint64. ``philox4x32_10.py_func`` runs the same
    code elementwise on uint64 NumPy arrays (the reference twins use it).
    """
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        hi0 = p0 >> _S32
        lo0 = p0 & _MASK32
        hi1 = p1 >> _S32
        lo1 = p1 & _MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return c0, c1, c2, c3


@njit(cache=True, error_model="numpy")
def _unit(hi, lo):
    """Map two 32-bit words to a double in the open interval (0, 1), 53-bit resolution."""
    return ((((hi << _S32) | lo) >> _S11) + 0.5) * _TWO_M53


def seed_key(seed: int) -> tuple[np.uint64, np.uint64]:
    """Split a non-negative 64-bit seed into the two 32-bit Philox key words."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed = {seed!r} is out of range; allowed: integers 0 <= seed < 2**64")
    s = int(seed)
    return np.uint64(s & 0xFFFFFFFF), np.uint64(s >> 32)


@njit(cache=True, error_model="numpy")
def uniform_pair(k0, k1, step, site, stream, block):
    """Two uniforms in (0, 1) from one Philox block keyed on (step, site, stream, block)."""
    st = np.uint64(step)
    w0, w1, w2, w3 = philox4x32_10(st & _MASK32, st >> _S32, np.uint64(site),
                                   (np.uint64(stream) << _S20) | np.uint64(block), k0, k1)
    return _unit(w0, w1), _unit(w2, w3)


@njit(cache=True, error_model="numpy")
def normal_pair(k0, k1, step, site, stream, block):
    """Two independent standard normals (both Box-Muller outputs of one Philox block)."""
    u, v = uniform_pair(k0, k1, step, site, stream, block)
    r = math.sqrt(-2.0 * math.log(u))
    return r * math.cos(2.0 * math.pi * v), r * math.sin(2.0 * math.pi * v)


@njit(cache=True, error_model="numpy")
def normal(k0, k1, step, site, stream, block):
    """One standard normal variate (the first of :func:`normal_pair`)."""
    return normal_pair(k0, k1, step, site, stream, block)[0]


def normal_pair_array(k0, k1, step: int, sites: np.ndarray, stream: int, block: int = 0):
    """NumPy twin of :func:`normal_pair` for many sites at once: identical bits, shape of ``sites``."""
    st = np.uint64(step)
    w0, w1, w2, w3 = philox4x32_10.py_func(st & _MASK32, st >> _S32, sites.astype(np.uint64),
                                           (np.uint64(stream) << _S20) | np.uint64(block), k0, k1)
    u, v = _unit.py_func(w0, w1), _unit.py_func(w2, w3)
    r = np.sqrt(-2.0 * np.log(u))
    return r * np.cos(2.0 * math.pi * v), r * np.sin(2.0 * math.pi * v)


@njit(cache=True, error_model="numpy")
def gamma(shape, k0, k1, step, site, stream):
    """Gamma(shape, scale 1) variate by Marsaglia-Tsang rejection.

    Uses blocks 1, 2, ... of the stream (block 0 is left to the caller). shape < 1 is
    boosted: Gamma(a) = Gamma(a + 1) * U**(1/a). shape == 0 gives 0.
    """
    if shape <= 0.0:
        return 0.0
    boost = 1.0
    block = 1
    a = shape
    if a < 1.0:
        u, _ = uniform_pair(k0, k1, step, site, stream, block)
        block += 1
        boost = u ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        z = normal(k0, k1, step, site, stream, block)
        u, _ = uniform_pair(k0, k1, step, site, stream, block + 1)
        block += 2
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        if math.log(u) < 0.5 * z * z + d - d * v + d * math.log(v):
            return d * v * boost


@njit(cache=True, error_model="numpy")
def cir_coefficients(T_bath, rate_dt):
    """(decay, scale) of :func:`cir_update`'s transition: exp(-rate_dt) and the chi-square scale
    T_b (1 - exp(-rate_dt)) / 2. The same for every replica of a batch: computed once."""
    return math.exp(-rate_dt), -0.5 * T_bath * math.expm1(-rate_dt)


@njit(cache=True, error_model="numpy")
def cir_step(E, C, T_bath, decay, scale, noisy, k0, k1, step, site, stream):
    """:func:`cir_update` with its coefficients (``cir_coefficients``) given."""
    if not noisy:
        return C * T_bath + (E - C * T_bath) * decay
    lam = E * decay / scale
    z = normal(k0, k1, step, site, stream, 0)
    return scale * (z + math.sqrt(lam)) ** 2 + 2.0 * scale * gamma(C - 0.5, k0, k1, step, site, stream)


@njit(cache=True, error_model="numpy")
def cir_update(E, C, T_bath, rate_dt, noisy, k0, k1, step, site, stream):
    """Exact transition of a ring's energy in contact with a reservoir over one sub-step.

    Solves dE = k (T_b - E/C) dt + sqrt(2 k T_b E / C) dW (Ito), a Cox-Ingersoll-Ross
    process whose stationary law is the Gibbs one, E**(C-1) exp(-E/T_b). ``rate_dt`` is
    k*tau/C for a sub-step tau. The transition law is a scaled noncentral chi-square with
    2C degrees of freedom, sampled as c*(Z + sqrt(lam))**2 + 2c*Gamma(C - 1/2): it keeps
    E > 0 for any step. Needs C >= 1/2. With ``noisy`` False it returns the exact mean.

    Units: E, T_b in reduced energy units (k_B = 1); C dimensionless (units of k_B).
    """
    decay, scale = cir_coefficients(T_bath, rate_dt)
    return cir_step(E, C, T_bath, decay, scale, noisy, k0, k1, step, site, stream)


def cir_moments(E0: float, C: float, T_bath: float, rate_dt: float) -> tuple[float, float]:
    """Exact conditional mean and variance of :func:`cir_update` (the yardstick of its test)."""
    decay = math.exp(-rate_dt)
    sigma2_over_a = 2.0 * T_bath  # sigma^2 / a, with a = k/C and sigma^2 = 2 k T_b / C
    mean = C * T_bath + (E0 - C * T_bath) * decay
    var = (E0 * sigma2_over_a * (decay - decay * decay)
           + C * T_bath * 0.5 * sigma2_over_a * (1.0 - decay) ** 2)
    return mean, var
