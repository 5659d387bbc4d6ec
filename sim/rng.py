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
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S20 = np.uint64(20)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, error_model="numpy", inline="always")
def philox4x32_10(
    c0: np.uint64 | np.ndarray,
    c1: np.uint64 | np.ndarray,
    c2: np.uint64 | np.ndarray,
    c3: np.uint64 | np.ndarray,
    k0: np.uint64 | np.ndarray,
    k1: np.uint64 | np.ndarray,
) -> tuple[np.uint64 | np.ndarray, np.uint64 | np.ndarray, np.uint64 | np.ndarray, np.uint64 | np.ndarray]:
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


@njit(cache=True, error_model="numpy", inline="always")
def _unit(hi, lo):
    """Map two 32-bit words to a double in the open interval (0, 1), 53-bit resolution."""
    return ((((hi << _S32) | lo) >> _S11) + 0.5) * _TWO_M53


def seed_key(seed: int) -> tuple[np.uint64, np.uint64]:
    """Split a non-negative 64-bit seed into the two 32-bit Philox key words."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed = {seed!r} is out of range; allowed: integers 0 <= seed < 2**64")
    s = int(seed)
    return np.uint64(s & 0xFFFFFFFF), np.uint64(s >> 32)


@njit(cache=True, error_model="numpy", inline="always")
def uniform_pair(k0: np.uint64, k1: np.uint64, step: int, site: int, stream: int, block: int) -> tuple[float, float]:
    """Two uniforms in (0, 1) from one Philox block keyed on (step, site, stream, block)."""
    st = np.uint64(step)
    w0, w1, w2, w3 = philox4x32_10(
        st & _MASK32, st >> _S32, np.uint64(site), (np.uint64(stream) << _S20) | np.uint64(block), k0, k1
    )
    return _unit(w0, w1), _unit(w2, w3)


# Box-Muller's log and sine/cosine, written out so that they are branch-free and the loops
# that draw normals vectorise (Numba calls libm one value at a time): a polynomial on a
# reduced range each, within 3 ulp of NumPy's log and 1e-15 of its sin, cos (tested). Their
# NumPy twins below run the same operations on arrays, bit for bit. A loop that inlines them
# vectorises only when compiled with error_model="numpy" (else the division is checked).
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # ln 2 = hi + lo, hi exact
_SQRT2 = math.sqrt(2.0)
# the series' coefficients, highest power first (Horner's order)
_ATANH = tuple(1.0 / (2 * n + 1) for n in reversed(range(12)))  # 2 atanh(s) = 2 s sum_n s^2n / (2n + 1)
_SIN = (0.0,) * 3 + tuple((-1.0) ** n / math.factorial(2 * n + 1) for n in reversed(range(9)))
_COS = (0.0,) * 2 + tuple((-1.0) ** n / math.factorial(2 * n) for n in reversed(range(10)))
_TWO_PI = 2.0 * math.pi
_MANTISSA, _ONE_BITS = 0xFFFFFFFFFFFFF, 0x3FF0000000000000


@intrinsic
def _bits_of(typingctx, x):
    """The 64 bits of a double as an int64 (a reinterpretation, free)."""
    return types.int64(types.float64), lambda context, builder, sig, args: builder.bitcast(args[0], ir.IntType(64))


@intrinsic
def _double_of(typingctx, b):
    """The double whose 64 bits are the int64 ``b``."""
    return types.float64(types.int64), lambda context, builder, sig, args: builder.bitcast(args[0], ir.DoubleType())


# Horner's rule written out for 12 coefficients (shorter series lead with zeros, which change
# no bit): a loop over a tuple indexed by a variable compiles to a switch, and a loop calling
# it would no longer vectorise
@njit(cache=True, error_model="numpy", inline="always")
def _horner12(x, c):
    a = c[0]
    a = a * x + c[1]
    a = a * x + c[2]
    a = a * x + c[3]
    a = a * x + c[4]
    a = a * x + c[5]
    a = a * x + c[6]
    a = a * x + c[7]
    a = a * x + c[8]
    a = a * x + c[9]
    a = a * x + c[10]
    a = a * x + c[11]
    return a


@njit(cache=True, error_model="numpy", inline="always")
def _log_unit(u):
    """log(u) for 0 < u <= 1 (a normal double): u = 2^e m, m in [sqrt(1/2), sqrt(2)), and
    log m = 2 atanh(s), s = (m - 1)/(m + 1), |s| < 0.172, to s^23 (truncation < 1e-19)."""
    b = _bits_of(u)
    e = (b >> 52) - 1023
    m = _double_of((b & _MANTISSA) | _ONE_BITS)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    fe = float(e + 1) if big else float(e)
    s = (m - 1.0) / (m + 1.0)
    return fe * _LN2_HI + (2.0 * s * _horner12(s * s, _ATANH) + fe * _LN2_LO)


@njit(cache=True, error_model="numpy", inline="always")
def _sincos_2pi(v):
    """(cos 2 pi v, sin 2 pi v) for 0 < v < 1: the quarter turn q nearest 4 v, then the
    Taylor series of t = 2 pi (v - q/4) in [-pi/4, pi/4] (v - q/4 is exact), rotated by q."""
    q = math.floor(4.0 * v + 0.5)
    t = (v - 0.25 * q) * _TWO_PI
    t2 = t * t
    s = t * _horner12(t2, _SIN)
    c = _horner12(t2, _COS)
    k = int(q)  # the quarter turns: odd ones swap sine and cosine, the signs follow
    swap = (k & 1) == 1
    cos_ = s if swap else c
    sin_ = c if swap else s
    cos_ = -cos_ if ((k + 1) & 2) == 2 else cos_
    sin_ = -sin_ if (k & 2) == 2 else sin_
    return cos_, sin_


@njit(cache=True, error_model="numpy", inline="always")
def normal_pair(k0: np.uint64, k1: np.uint64, step: int, site: int, stream: int, block: int) -> tuple[float, float]:
    """Two independent standard normals (both Box-Muller outputs of one Philox block)."""
    u, v = uniform_pair(k0, k1, step, site, stream, block)
    r = math.sqrt(-2.0 * _log_unit(u))
    c, s = _sincos_2pi(v)
    return r * c, r * s


def _series_array(x, coefficients):
    acc = np.zeros_like(x)
    for c in coefficients:
        acc = acc * x + c
    return acc


def log_unit_array(u: np.ndarray) -> np.ndarray:
    """NumPy twin of the kernels' log of a uniform (same operations, same bits)."""
    b = np.ascontiguousarray(u, dtype=np.float64).view(np.int64)
    e = (b >> 52) - 1023
    m = ((b & _MANTISSA) | _ONE_BITS).view(np.float64)
    big = m > _SQRT2
    m = np.where(big, m * 0.5, m)
    fe = np.where(big, e + 1, e).astype(np.float64)
    s = (m - 1.0) / (m + 1.0)
    return fe * _LN2_HI + (2.0 * s * _series_array(s * s, _ATANH) + fe * _LN2_LO)


def sincos_2pi_array(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of the kernels' (cos 2 pi v, sin 2 pi v)."""
    q = np.floor(4.0 * v + 0.5)
    t = (v - 0.25 * q) * _TWO_PI
    t2 = t * t
    s = t * _series_array(t2, _SIN)
    c = _series_array(t2, _COS)
    k = q.astype(np.int64)
    swap = (k & 1) == 1
    cos_, sin_ = np.where(swap, s, c), np.where(swap, c, s)
    return np.where(((k + 1) & 2) == 2, -cos_, cos_), np.where((k & 2) == 2, -sin_, sin_)


@njit(cache=True, error_model="numpy")
def normal(k0: np.uint64, k1: np.uint64, step: int, site: int, stream: int, block: int) -> float:
    """One standard normal variate (the first of :func:`normal_pair`)."""
    return normal_pair(k0, k1, step, site, stream, block)[0]


def normal_pair_array(
    k0: np.uint64, k1: np.uint64, step: int, sites: np.ndarray, stream: int, block: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`normal_pair` for many sites at once: identical bits, shape of ``sites``."""
    st = np.uint64(step)
    w0, w1, w2, w3 = philox4x32_10.py_func(
        st & _MASK32, st >> _S32, sites.astype(np.uint64), (np.uint64(stream) << _S20) | np.uint64(block), k0, k1
    )
    u, v = _unit.py_func(w0, w1), _unit.py_func(w2, w3)
    r = np.sqrt(-2.0 * log_unit_array(u))
    c, s = sincos_2pi_array(v)
    return r * c, r * s


@njit(cache=True, error_model="numpy")
def gamma(shape: float, k0: np.uint64, k1: np.uint64, step: int, site: int, stream: int) -> float:
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
    return gamma_attempts(d, c, boost, k0, k1, step, site, stream, block)


@njit(cache=True, error_model="numpy", inline="always")
def gamma_accepts(d: float, c: float, z: float, u: float) -> tuple[bool, float]:
    """One Marsaglia-Tsang attempt (d = shape - 1/3, c = 1/sqrt(9 d); z normal, u uniform):
    (accepted, its value d v, v = (1 + c z)^3)."""
    v = 1.0 + c * z
    if v <= 0.0:
        return False, 0.0
    v = v * v * v
    return math.log(u) < 0.5 * z * z + d - d * v + d * math.log(v), d * v


@njit(cache=True, error_model="numpy", inline="always")
def gamma_attempts(
    d: float, c: float, boost: float, k0: np.uint64, k1: np.uint64, step: int, site: int, stream: int, block: int
) -> float:
    """``gamma``'s attempts from Philox block ``block`` on (a normal and a uniform: two blocks
    each) until one is accepted; its value times ``boost``."""
    while True:
        z = normal(k0, k1, step, site, stream, block)
        u, _ = uniform_pair(k0, k1, step, site, stream, block + 1)
        block += 2
        accepted, value = gamma_accepts(d, c, z, u)
        if accepted:
            return value * boost


@njit(cache=True, error_model="numpy")
def cir_coefficients(T_bath: float, rate_dt: float) -> tuple[float, float]:
    """(decay, scale) of :func:`cir_update`'s transition: exp(-rate_dt) and the chi-square scale
    T_b (1 - exp(-rate_dt)) / 2. The same for every replica of a batch: computed once."""
    return math.exp(-rate_dt), -0.5 * T_bath * math.expm1(-rate_dt)


@njit(cache=True, error_model="numpy")
def cir_step(
    E: float,
    C: float,
    T_bath: float,
    decay: float,
    scale: float,
    noisy: bool,
    k0: np.uint64,
    k1: np.uint64,
    step: int,
    site: int,
    stream: int,
) -> float:
    """:func:`cir_update` with its coefficients (``cir_coefficients``) given."""
    if not noisy:
        return C * T_bath + (E - C * T_bath) * decay
    lam = E * decay / scale
    z = normal(k0, k1, step, site, stream, 0)
    return scale * (z + math.sqrt(lam)) ** 2 + 2.0 * scale * gamma(C - 0.5, k0, k1, step, site, stream)


@njit(cache=True, error_model="numpy")
def cir_update(
    E: float,
    C: float,
    T_bath: float,
    rate_dt: float,
    noisy: bool,
    k0: np.uint64,
    k1: np.uint64,
    step: int,
    site: int,
    stream: int,
) -> float:
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
    var = E0 * sigma2_over_a * (decay - decay * decay) + C * T_bath * 0.5 * sigma2_over_a * (1.0 - decay) ** 2
    return mean, var
