"""Multipolar (T-matrix) radiative exchange between spheres: vector spherical waves to order L.

Basis. About each sphere, vector spherical waves of degree l = 1..L, order |m| <= l and two
polarisations, TE (magnetic, "M" waves, ``pol = 0``) and TM (electric, "N" waves, ``pol = 1``):
2 L (L + 2) modes per sphere, ordered l, then m, then pol, so the modes of a lower order are a
prefix of those of a higher one. The waves are treams' normalised ones (its parity basis), in
which a lossless sphere's S = 1 + 2T is unitary.

Per-sphere T-matrices (outgoing coefficients = T x regular coefficients):
- isotropic sphere: diagonal, t_l^TM = -a_l, t_l^TE = -b_l (Bohren-Huffman Mie coefficients),
  from ``treams.coeffs.mie``;
- gyrotropic sphere (InSb in a field): its electric-dipole block only,
  T = U^H (i k^3/(6 pi) alpha) U on the TM l = 1 modes, alpha the tensor polarizability of the
  dipole model and U the Cartesian vectors of the l = 1 regular waves at the centre.

Cluster. C: translation matrix, blocks C_ij (regular waves about i made by outgoing waves about
j, zero diagonal), Tb = blockdiag(T_i),

    W = C (1 - Tb C)^-1 = (1 - C Tb)^-1 C              dressed propagator between spheres
    chi_abs_i = -(T_i + T_i^H)/2 - T_i^H T_i,  chi_em_i = -(T_i + T_i^H)/2 - T_i T_i^H
    T_ij(w) = 4 Tr[chi_abs_i W_ij chi_em_j W_ij^H]      (from j to i)

Environment: with the vacuum-field operator R = 1 + (C + C^H)/2 (its off-diagonal blocks are
the regular-to-regular translations), M = 1 + W Tb and D = 1 + Tb W,

    T_i<-env = 4 Tr[chi_abs_i (M R M^H)_ii],   T_env<-i = 4 Tr[R D_:i chi_em_i D_:i^H].

With L = 1 and only the TM channel, the T-matrix of a sphere is i k^3 alpha/(6 pi), C equals
-6 pi i/k G0 and every formula above is exactly the dipole model's (the tests hold it to
round-off).

Translation coefficients. treams' closed forms (Tsang, Kong & Shin) are sums over p of
k-independent factors times h_p(k d) Y_{p, m - mu}(theta, phi). treams evaluates them entry by
entry (~15 us each: 5 s per 21 frequencies for one pair at L = 10), far too slow for adaptive
frequency integration, so this module tabulates the factors once per order (with treams'
Wigner 3j symbols) and per pair direction, and forms C(k) for a whole chunk of frequencies as
one BLAS product of that table with the Hankel functions. The tests hold the result to
``treams.special.tl_vsw_A/B``.

Symmetry. Spheres are isotropic unless gyrotropic, so a cluster whose centres lie on a line
(or in a plane) is first rotated so that the line is the z axis (the plane is z = 0; a
gyrotropic sphere's field axis z allows no rotation, only a check): m is then conserved
(or the mirror parity (-1)^(l + m + [TE]) is), the system is block diagonal and each block
is solved on its own.

Numerical scale. t_l ~ (kR)^(2l+1)/g_l with g_l = (2l+1)!!(2l-1)!!, and C_(lambda l) ~
(2p-1)!!/(kd)^(p+1), so the modes are rescaled by s_l = (kR)^-(l + 1/2) sqrt(g_l) before the
solve (C -> S^-1 C S^-1, T -> S T S); every trace above is invariant under it, and both t_l
and the rescaled translation stay O(1) (the latter is formed scaled, ``scaled_hankel``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import scipy.special as ss
import treams.coeffs
import treams.special

from sim.radiative import transmission_kernels

POL_TE, POL_TM = 0, 1


def mode_count(L: int) -> int:
    """Modes per sphere up to order L: 2 L (L + 2)."""
    return 2 * L * (L + 2)


@cache
def modes(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(l, m, pol) integer arrays, each (2 L (L + 2),), in the module's order."""
    lm = [(l, m) for l in range(1, L + 1) for m in range(-l, l + 1)]
    l = np.repeat([a for a, _ in lm], 2)
    m = np.repeat([b for _, b in lm], 2)
    pol = np.tile([POL_TE, POL_TM], len(lm))
    return l, m, pol


# --------------------------------------------------------------------------- translation tables
def _labels(L: int, kind: str) -> np.ndarray:
    """Symmetry label of each mode in a frame of ``kind``: m (axial), the mirror parity
    (planar) or 0 (none). Translations only couple modes of equal label."""
    l, m, pol = modes(L)
    if kind == "axial":
        return m
    if kind == "planar":
        return (l + m + (pol == POL_TE)) % 2
    return np.zeros_like(l)


@lru_cache(maxsize=16)
def _entries(L: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(a, c): the (row, column) mode pairs of a pair block that can be nonzero in this frame."""
    lab = _labels(L, kind)
    return np.nonzero(lab[:, None] == lab[None, :])


@lru_cache(maxsize=8)
def _gaunt(L: int, kind: str) -> np.ndarray:
    """k- and direction-independent factors G (E, 2L + 1) of the entries of ``_entries``, with

        C_(a c)(x, theta, phi) = sum_p G[e, p] h_p(x) Y_{p, m_c - mu_a}(theta, phi)

    the closed forms of ``treams.special.tl_vsw_A`` (a, c of one polarisation) and
    ``tl_vsw_B`` (of opposite ones), built from treams' Wigner 3j symbols."""
    a, c = _entries(L, kind)
    ll, mm, pol = modes(L)
    lam, mu, l, m = (v[:, None] for v in (ll[a], mm[a], ll[c], mm[c]))
    same = (pol[a] == pol[c])[:, None]
    p = np.arange(2 * L + 1)[None, :]

    def log_fact(x):
        return ss.gammaln(x + 1)

    def gamma(x, y):
        return 1j * np.sqrt((2 * x + 1) / (4 * np.pi * x * (x + 1)) * np.exp(log_fact(x - y) - log_fact(x + y)))

    pref = (
        gamma(l, m)
        / gamma(lam, mu)
        * (-1.0) ** m
        * (2 * lam + 1)
        / (lam * (lam + 1))
        * 1j ** ((lam - l) % 4)
        * np.sqrt(np.pi * np.exp(log_fact(l + m) + log_fact(lam - mu) - log_fact(l - m) - log_fact(lam + mu)))
    )
    common = pref * 1j ** (p % 4) * np.sqrt(2 * p + 1) * treams.special.wigner3j(l, lam, p, m, -mu, mu - m)
    G = np.zeros(common.shape, dtype=complex)
    parity = (lam + l + p) % 2
    ok_a = same & (p >= np.abs(m - mu)) & (parity == 0)
    ok_b = ~same & (p >= np.abs(m - mu)) & (parity == 1) & (p >= 1)
    ia, ib = np.nonzero(ok_a), np.nonzero(ok_b)
    lb, lamb, pb = np.broadcast_to(l, G.shape), np.broadcast_to(lam, G.shape), np.broadcast_to(p, G.shape)
    G[ia] = (
        common[ia]
        * treams.special.wigner3j(lb[ia], lamb[ia], pb[ia], 0, 0, 0)
        * (lb[ia] * (lb[ia] + 1) + lamb[ia] * (lamb[ia] + 1) - pb[ia] * (pb[ia] + 1))
    )
    bracket = ((lb[ib] + lamb[ib] + 1) ** 2 - pb[ib] ** 2) * (pb[ib] ** 2 - (lb[ib] - lamb[ib]) ** 2)
    G[ib] = (
        common[ib] * treams.special.wigner3j(lb[ib], lamb[ib], pb[ib] - 1, 0, 0, 0) * np.sqrt(np.maximum(bracket, 0))
    )
    return G


def _direction_table(L: int, kind: str, theta: float, phi: float) -> np.ndarray:
    """F (E, 2L + 1): the Gaunt factors times Y_{p, m_c - mu_a}(theta, phi). Not cached: it costs
    one product with the Gaunt table, and at high orders a table is large (0.7 GB at L = 25)."""
    a, c = _entries(L, kind)
    _, mm, _ = modes(L)
    # Y_(p, q) on its (2L + 1) x (4L + 1) distinct orders, then looked up per entry
    p = np.arange(2 * L + 1)[:, None]
    q = np.arange(-2 * L, 2 * L + 1)[None, :]
    Y = np.where(np.abs(q) <= p, ss.sph_harm_y(p, np.clip(q, -p, p), theta, phi), 0)
    return _gaunt(L, kind) * Y[:, (mm[c] - mm[a] + 2 * L)].T


@lru_cache(maxsize=16)
def _reversal_sign(L: int, kind: str) -> np.ndarray:
    """(E,) sign taking C_ij's entries to C_ji's: A(-d) = (-1)^(lambda + l) A(d), B(-d) = -(...)."""
    a, c = _entries(L, kind)
    ll, _, pol = modes(L)
    return (-1.0) ** (ll[a] + ll[c]) * np.where(pol[a] == pol[c], 1.0, -1.0)


def spherical_hankel(p_max: int, x: np.ndarray) -> np.ndarray:
    """h_p^(1)(x) for p = 0..p_max, (p_max + 1, n), x (n,) real > 0 (scipy: accurate j_p at small x)."""
    p = np.arange(p_max + 1)[:, None]
    return ss.spherical_jn(p, x[None, :]) + 1j * ss.spherical_yn(p, x[None, :])


def scaled_hankel(p_max: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """h_p^(1)(x) y^(p+1) for p = 0..p_max, (p_max + 1, n), without overflow: y_p ~ (2p-1)!!/x^(p+1)
    overflows at small x and high p, so its scaled form u_p = y_p y^(p+1) follows the (stable,
    upward) recurrence u_(p+1) = (2p+1)(y/x) u_p - y^2 u_(p-1); the regular j_p y^(p+1) is small."""
    n = len(x)
    u = np.empty((p_max + 1, n))
    u[0] = ss.spherical_yn(0, x) * y
    if p_max >= 1:
        u[1] = ss.spherical_yn(1, x) * y**2
    for q in range(1, p_max):
        u[q + 1] = (2 * q + 1) * (y / x) * u[q] - y**2 * u[q - 1]
    p = np.arange(p_max + 1)[:, None]
    with np.errstate(under="ignore"):
        reg = ss.spherical_jn(p, x[None, :]) * y[None, :] ** (p + 1)
    return reg + 1j * u


def pair_table(d: np.ndarray, L: int, kind: str = "none") -> np.ndarray:
    """The k-independent table F (E, 2L + 1) of one pair's translation entries, d = r_i - r_j (3,) m:
    C_ij's entries at k are F @ h_p(k |d|) (``pair_translation_entries``)."""
    dist = float(np.linalg.norm(d))
    theta = math.acos(max(-1.0, min(1.0, d[2] / dist)))
    phi = math.atan2(d[1], d[0])
    return _direction_table(L, kind, round(theta, 14), round(phi, 14))


def pair_translation_entries(
    k: np.ndarray, d: np.ndarray, L: int, kind: str = "none", table: np.ndarray | None = None
) -> np.ndarray:
    """C_ij's entries (``_entries(L, kind)``, or the rows of ``table``) at each k: (n, E) complex;
    d = r_i - r_j (3,) m, k (n,) 1/m. C_ji's entries are these times ``_reversal_sign(L, kind)``."""
    F = pair_table(d, L, kind) if table is None else table
    # einsum, not a BLAS product: each frequency's entries must not depend on which other
    # frequencies share the call (BLAS blocking would round them by their place in the chunk)
    return np.einsum("ep,pn->ne", F, spherical_hankel(2 * L, k * float(np.linalg.norm(d))))


def pair_translation(k: np.ndarray, d: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense translation blocks of one pair: (C_ij, C_ji), each (n, 2M, 2M) complex, M = L (L + 2).

    C_ij maps outgoing waves about j to regular waves about i; d = r_i - r_j (3,) m."""
    a, c = _entries(L, "none")
    vals = pair_translation_entries(k, d, L)
    n, K = len(k), mode_count(L)
    C_ij = np.zeros((n, K, K), dtype=complex)
    C_ji = np.zeros_like(C_ij)
    C_ij[:, a, c] = vals
    C_ji[:, a, c] = vals * _reversal_sign(L, "none")
    return C_ij, C_ji


# --------------------------------------------------------------------------- sphere T-matrices
def mie_tmatrix(eps: np.ndarray, radius: float, k: np.ndarray, L: int) -> np.ndarray:
    """Diagonal T-matrix (n, 2 L (L + 2)) of an isotropic sphere: -b_l (TE), -a_l (TM).

    eps (n,) complex relative permittivity (non-magnetic sphere in vacuum), radius in m, k (n,) 1/m.
    """
    x = (k * radius)[None, :, None]
    eps_layers = np.stack([eps, np.ones_like(eps)], axis=-1)[None]
    ones = np.ones_like(eps_layers)
    t = treams.coeffs.mie(np.arange(1, L + 1)[:, None], x, eps_layers, ones, np.zeros_like(eps_layers))
    # helicity -> parity: t_TM = t_++ + t_+-, t_TE = t_++ - t_+-
    t_tm = (t[..., 0, 0] + t[..., 0, 1]).T  # (n, L)
    t_te = (t[..., 0, 0] - t[..., 0, 1]).T
    # far below the infrared (kR < 1e-5) high orders underflow; a non-finite coefficient there
    # is a vanishing response, not a resonance
    t_tm, t_te = (np.where(np.isfinite(v), v, 0) for v in (t_tm, t_te))
    l, _, pol = modes(L)
    return np.where(pol == POL_TM, t_tm[:, l - 1], t_te[:, l - 1])


@lru_cache(maxsize=1)
def dipole_basis() -> np.ndarray:
    """U (3, 3): column m + 1 is the Cartesian direction of the regular TM l = 1, order m wave at
    its centre (treams' convention): i (x - iy)/sqrt2, i z, -i (x + iy)/sqrt2."""
    s = 1 / math.sqrt(2)
    return np.array([[1j * s, 0, -1j * s], [s, 0, s], [0, 1j, 0]])


def dipole_tmatrix(alpha: np.ndarray, k: np.ndarray) -> np.ndarray:
    """T-matrix (n, 3, 3) on the TM l = 1 modes (m = -1, 0, 1) of a dipole of polarizability
    alpha (n, 3, 3) m^3 (p = eps0 alpha E): U^H (i k^3/(6 pi) alpha) U."""
    U = dipole_basis()
    return (1j * k**3 / (6 * np.pi))[:, None, None] * (U.conj().T @ alpha @ U)


@dataclass
class SphereResponse:
    """One sphere's T-matrix in its kept modes: ``modes`` (indices into ``modes(L)``) and its
    diagonal ``t`` (n, K) complex. Every sphere here has a diagonal T: isotropic spheres in the
    parity basis, gyrotropic ones (field along z) in the circular basis of their dipole block."""

    modes: np.ndarray
    t: np.ndarray


def isotropic_response(eps: np.ndarray, radius: float, k: np.ndarray, L: int) -> SphereResponse:
    """Mie response of an isotropic sphere, all 2 L (L + 2) modes."""
    return SphereResponse(np.arange(mode_count(L)), mie_tmatrix(eps, radius, k, L))


def dipole_response(alpha: np.ndarray, k: np.ndarray) -> SphereResponse:
    """Electric-dipole response (TM l = 1 modes only) from a tensor polarizability.

    Raises ValueError when T is not diagonal in the circular basis (a tensor that is not
    symmetric about z, which the gyrotropic materials here never are)."""
    T = dipole_tmatrix(alpha, k)
    off = np.abs(T[:, ~np.eye(3, dtype=bool)]).max(initial=0.0)
    if off > 1e-12 * np.abs(T).max():
        raise ValueError(
            "the polarizability tensor is not diagonal in the circular basis about z (relative "
            f"off-diagonal {off / np.abs(T).max():.2g}); allowed: isotropic tensors or gyrotropic "
            "ones about the field axis z"
        )
    return SphereResponse(kept_modes(1, gyrotropic=True), np.diagonal(T, axis1=1, axis2=2).copy())


def emission_absorption(t: np.ndarray) -> np.ndarray:
    """chi (same shape as the diagonal T-matrix t): -Re t - |t|^2. For a diagonal T the emission
    and absorption operators -(T + T^H)/2 - T T^H and -(T + T^H)/2 - T^H T coincide."""
    return -t.real - np.abs(t) ** 2


# --------------------------------------------------------------------------- cluster
def symmetry_frame(positions: np.ndarray, rotatable: bool) -> tuple[np.ndarray, str]:
    """(positions in the frame to compute in, symmetry kind: "axial", "planar" or "none").

    rotatable: every sphere is isotropic, so the cluster may be rotated freely; otherwise
    only the given frame's symmetries (about the field axis z) are used."""
    N = len(positions)
    c = positions - positions.mean(axis=0)
    scale = max(np.abs(c).max(), 1e-300)
    if N < 2:
        return positions, "none"
    _, sv, vt = np.linalg.svd(c / scale)
    tol = 1e-10 * max(1, N)
    collinear = N == 2 or (len(sv) > 1 and sv[1] < tol)
    planar = N <= 3 or sv[2] < tol
    if rotatable:
        if collinear:
            p = c @ _rotation_to_z(vt[0]).T
            p[:, :2] = 0.0
            return p, "axial"
        if planar:
            p = c @ _rotation_to_z(vt[2]).T
            p[:, 2] = 0.0
            return p, "planar"
        return c, "none"
    if np.all(np.abs(c[:, :2]) < tol * scale):
        return positions, "axial"
    if np.all(np.abs(c[:, 2]) < tol * scale):
        return positions, "planar"
    return positions, "none"


def _rotation_to_z(u: np.ndarray) -> np.ndarray:
    """A proper rotation matrix taking the unit vector u to +z."""
    from scipy.spatial.transform import Rotation

    rot, _ = Rotation.align_vectors([[0.0, 0.0, 1.0]], [u / np.linalg.norm(u)])
    return rot.as_matrix()


def kept_modes(L: int, gyrotropic: bool) -> np.ndarray:
    """The modes a sphere keeps: all of them (isotropic), or the TM l = 1 ones (gyrotropic:
    the electric-dipole block), as indices into ``modes(L)``."""
    l, _, pol = modes(L)
    return np.nonzero((l == 1) & (pol == POL_TM))[0] if gyrotropic else np.arange(mode_count(L))


def _mode_image(L: int, element: str) -> tuple[np.ndarray, np.ndarray]:
    """(image, sign) of each mode under an in-plane symmetry of a planar frame (z normal):
    a wave (l, m, pol) about a sphere's centre maps to sign x (l, m', pol) about its image.
    "sx" (x -> -x): m' = -m, sign +1 (TM) / -1 (TE); "sy" (y -> -y): m' = -m, sign (-1)^m x
    the same; "c2" (rotation by pi about z, their product): m' = m, sign (-1)^m (checked
    against treams' vector spherical waves in the tests)."""
    l, m, pol = modes(L)
    te = np.where(pol == POL_TE, -1.0, 1.0)
    flip = 2 * (l * l + l - m - 1) + pol
    if element == "sx":
        return flip, te
    if element == "sy":
        return flip, te * (-1.0) ** m
    return np.arange(len(l)), (-1.0) ** m


def in_plane_symmetries(positions: np.ndarray, species: list, isotropic: bool) -> dict[str, np.ndarray]:
    """The in-plane symmetries of a planar cluster (centres in a plane z = const) that map every
    sphere onto one of the same species: {"sx" | "sy" | "c2": the sphere permutation (N,)}.
    Mirrors through planes containing z reverse a field along z, so with a gyrotropic sphere
    (isotropic False) only the rotation c2 qualifies."""
    centre = positions.mean(axis=0)
    scale = max(np.abs(positions - centre).max(), 1e-300)
    found = {}
    for name, flip in (
        ("sx", np.array([-1.0, 1.0, 1.0])),
        ("sy", np.array([1.0, -1.0, 1.0])),
        ("c2", np.array([-1.0, -1.0, 1.0])),
    ):
        if name != "c2" and not isotropic:
            continue
        image = centre + (positions - centre) * flip
        dist = np.linalg.norm(image[:, None, :] - positions[None, :, :], axis=2)
        perm = np.argmin(dist, axis=1)
        if (
            np.all(dist[np.arange(len(perm)), perm] < 1e-9 * scale)
            and len(set(perm.tolist())) == len(perm)
            and all(species[i] == species[j] for i, j in enumerate(perm))
        ):
            found[name] = perm
    return found


def _adapted_basis(
    block: np.ndarray, index: list[np.ndarray], sphere: np.ndarray, local: np.ndarray, group: dict, L: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Symmetry-adapted basis of one parity block under the abelian group {e} + ``group``: per
    irreducible representation, (support (K_chi, |G|), coefficients (K_chi, |G|), factor (K_chi,)):
    basis vector alpha is sum_u coef[alpha, u] e_(support[alpha, u]) in block positions, the
    normalised orbit sum sum_g chi(g) g e_k of its first mode k = support[alpha, 0] (the lowest in
    block order), and factor[alpha] = |G| / |that sum| (then U^T C U = factor e_k^T C U for any C
    that commutes with the group); unused slots point at the dummy position len(block) with
    coefficient 0."""
    names = list(group)
    images = {g: _mode_image(L, g) for g in names}
    pos = {int(k): p for p, k in enumerate(block)}
    gens = [g for g in names if g != "c2"] or names  # generators: the mirrors, else c2
    out = []
    for chars in np.array(np.meshgrid(*[[1, -1]] * len(gens))).reshape(len(gens), -1).T:
        char = dict(zip(gens, chars))
        if "c2" in names and "c2" not in char:
            char["c2"] = char["sx"] * char["sy"]
        seen, sup, coef, factor = set(), [], [], []
        for k in block:
            if int(k) in seen:
                continue
            acc = {pos[int(k)]: 1.0}
            for g in names:
                img, sgn = images[g]
                target = index[group[g][sphere[k]]][img[local[k]]]
                acc[pos[int(target)]] = acc.get(pos[int(target)], 0.0) + char[g] * sgn[local[k]]
                seen.add(int(target))
            seen.add(int(k))
            acc = {p_: c for p_, c in acc.items() if abs(c) > 1e-12}
            if not acc:
                continue
            norm = math.sqrt(sum(c * c for c in acc.values()))
            keys = list(acc)
            sup.append(keys + [len(block)] * (len(names) + 1 - len(keys)))
            coef.append([acc[p_] / norm for p_ in keys] + [0.0] * (len(names) + 1 - len(keys)))
            factor.append((len(names) + 1) / norm)
        if sup:
            out.append((np.array(sup), np.array(coef), np.array(factor)))
    return out


def _log_balance(l: np.ndarray) -> np.ndarray:
    """ln g_l, g_l = (2l + 1)!! (2l - 1)!!: a sphere's t_l ~ (kR)^(2l+1) / g_l at small kR."""
    l = np.asarray(l, dtype=float)

    def log_odd_factorial(n):  # ln((2n - 1)!!) = ln((2n)!) - n ln 2 - ln(n!)
        return ss.gammaln(2 * n + 1) - n * math.log(2) - ss.gammaln(n + 1)

    return log_odd_factorial(l + 1) + log_odd_factorial(l)


class Cluster:
    """The multipole system of N spheres at fixed positions, to order L.

    positions (N, 3) m (already in the symmetry frame); radii (N,) m; kind: "axial" (modes of
    different m decouple), "planar" (mirror parities decouple) or "none"; kept: per sphere the
    modes it keeps (``kept_modes``); species: per sphere a label equal for spheres of the same
    material and radius (None: no symmetry between spheres is used); isotropic: every sphere is
    isotropic, so mirror planes containing z are symmetries (not with a field along z).
    Symmetries used besides the block labels: axial and isotropic, a mirror plane through the
    axis maps the block of m onto that of -m, so only m >= 0 is solved and m > 0 counted twice;
    planar with ``species``, the in-plane mirrors and the rotation by pi that map the cluster
    onto itself (``in_plane_symmetries``) split each parity block further into the
    symmetry-adapted blocks of their irreducible representations (``_adapted_basis``), solved
    alone (a rectangle of equal spheres: 8 blocks in all, each an eighth of the modes).
    Everything that depends on the geometry alone (which translation entries fill which block
    where) is laid out here once; ``spectra`` then works block by block and never forms the
    whole matrix.
    """

    def __init__(
        self,
        positions: np.ndarray,
        radii: np.ndarray,
        L: int,
        kind: str,
        kept: list[np.ndarray],
        species: list | None = None,
        isotropic: bool = False,
    ):
        self.positions, self.radii, self.L, self.kind = positions, radii, L, kind
        self.N = N = len(positions)
        sizes = [len(kp) for kp in kept]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.sphere = np.repeat(np.arange(N), sizes)  # sphere of each kept mode
        self.degree = modes(L)[0][np.concatenate(kept)]  # its l
        label = _labels(L, kind)[np.concatenate(kept)]
        values = np.unique(label)
        if isotropic and kind == "axial":
            values = values[values >= 0]
        self.weights = [2.0 if (isotropic and kind == "axial" and v > 0) else 1.0 for v in values]
        self.blocks = [np.nonzero(label == v)[0] for v in values]
        block_id = np.full(offsets[-1], -1)
        block_pos = np.empty(offsets[-1], dtype=int)
        for b, idx in enumerate(self.blocks):
            block_id[idx], block_pos[idx] = b, np.arange(len(idx))
        index = []  # (sphere, local mode) -> kept index
        for i, kp in enumerate(kept):
            g = np.full(mode_count(L), -1)
            g[kp] = offsets[i] + np.arange(len(kp))
            index.append(g)
        group = in_plane_symmetries(positions, species, isotropic) if (kind == "planar" and species) else {}
        self.symmetries = sorted(group)
        # sphere permutations of the group's elements, the identity first; the spheres whose rows are
        # computed: the lowest of each orbit (every other row is an image of one of theirs)
        self.images = [np.arange(N)] + [group[g] for g in self.symmetries]
        self.rep_spheres = np.array(sorted({min(int(p[i]) for p in self.images) for i in range(N)}))
        is_rep = np.isin(self.sphere, self.rep_spheres)
        self.rows = [np.nonzero(is_rep[b])[0] for b in self.blocks]  # block positions of the rows computed
        row_of = np.full(offsets[-1], -1)  # kept index -> its row among its block's computed rows
        for b, r in zip(self.blocks, self.rows):
            row_of[b[r]] = np.arange(len(r))
        a, c = _entries(L, kind)
        # per unordered pair with a computed row sphere: for C_ij and/or C_ji, per block, (entries,
        # signs, rows, cols) within the block's computed rows
        self.pairs = []
        for i in range(N):
            for j in range(i + 1, N):
                parts = []
                for r, s in ((i, j), (j, i)):
                    rows, cols = index[r][a], index[s][c]
                    e = np.nonzero((rows >= 0) & (cols >= 0))[0] if r in self.rep_spheres else np.zeros(0, int)
                    e = e[block_id[rows[e]] >= 0]  # blocks solved (axial mirror: m >= 0)
                    parts.append((e, block_id[rows[e]], row_of[rows[e]], block_pos[cols[e]]))
                if not (len(parts[0][0]) or len(parts[1][0])):
                    continue
                # only the entries some block needs are evaluated: renumber them
                needed, inverse = np.unique(np.concatenate([parts[0][0], parts[1][0]]), return_inverse=True)
                # modes are rescaled by s_l = (kR)^-(l + 1/2) sqrt(g_l) (``spectra``): entry (lambda, l)
                # of C_ij gets x_i^(lambda+1/2) x_j^(l+1/2) / sqrt(g_lambda g_l) = A (k rho)^(lambda+l+1),
                # rho = sqrt(R_i R_j), A = (R_i/rho)^(lambda+1/2) (R_j/rho)^(l+1/2) / sqrt(g_lambda g_l);
                # C_ji: i and j swapped and the reversal sign of its entries
                ll = modes(L)[0]
                rho = math.sqrt(radii[i] * radii[j])
                lam_e, l_e = ll[a[needed]], ll[c[needed]]
                grouped = []
                for (e, b, rows, cols), local, (r, q), flip in (
                    (parts[0], inverse[: len(parts[0][0])], (i, j), np.ones(len(a))),
                    (parts[1], inverse[len(parts[0][0]) :], (j, i), _reversal_sign(L, kind)),
                ):
                    amp = (
                        (radii[r] / rho) ** (lam_e + 0.5)
                        * (radii[q] / rho) ** (l_e + 0.5)
                        * np.exp(-0.5 * (_log_balance(lam_e) + _log_balance(l_e)))
                    )
                    grouped += [
                        (bb, local[b == bb], flip[e[b == bb]] * amp[local[b == bb]], rows[b == bb], cols[b == bb])
                        for bb in np.unique(b)
                    ]
                table = np.ascontiguousarray(pair_table(positions[i] - positions[j], L, kind)[needed])
                degree_sum = (lam_e + l_e).astype(np.int64)
                nonzero = table != 0
                p_first = np.argmax(nonzero, axis=1).astype(np.int64)
                p_last = np.where(nonzero.any(axis=1), table.shape[1] - 1 - np.argmax(nonzero[:, ::-1], axis=1), -1)
                self.pairs.append((i, j, rho, table, (degree_sum, p_first, p_last.astype(np.int64)), grouped))
        local = np.concatenate(kept)
        self.adapted = [
            _prepare(_adapted_basis(b, index, self.sphere, local, group, L), len(b), r) if group else None
            for b, r in zip(self.blocks, self.rows)
        ]

    def translation_blocks(self, k: np.ndarray) -> list[np.ndarray]:
        """C restricted to each symmetry block's computed rows (those of ``rep_spheres``), in the
        rescaled modes: [(n, len(rows_b), K_b) complex]; the other rows are images of these.

        Entry (lambda, l) of a pair is sum_p F_p h_p(kd) A (k rho)^(lambda + l + 1): formed as
        sum_p F_p [h_p(kd) (k rho)^(p+1)] (k rho)^(lambda + l - p), so nothing overflows however
        high the order or small kR (``scaled_hankel``; the sum: ``transmission_kernels.
        translation_values``, a third of the time of grouped NumPy einsums, its twin)."""
        C = [np.zeros((len(k), len(r), len(b)), dtype=complex) for b, r in zip(self.blocks, self.rows)]
        for i, j, rho, table, (degree_sum, p_first, p_last), parts in self.pairs:
            d = float(np.linalg.norm(self.positions[i] - self.positions[j]))
            krho = k * rho
            u = scaled_hankel(2 * self.L, k * d, krho)  # (P, n)
            vals = np.empty((len(k), len(table)), dtype=complex)
            transmission_kernels.translation_values(table, u, krho, degree_sum, p_first, p_last, vals)
            for b, local, sign, rows, cols in parts:
                transmission_kernels.scatter_entries(vals, local, rows, cols, sign, C[b])
        return C

    def spectra(
        self, k: np.ndarray, responses: Sequence[SphereResponse], environment: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """T (n, N, N) and, with ``environment``, (T_in, T_out) (n, N), at k (n,) 1/m for the
        spheres' responses (``SphereResponse``, kept modes as at construction)."""
        n, N = len(k), self.N
        x = k[:, None] * self.radii[self.sphere][None, :]
        # squared mode scales s_l^2 = g_l (kR)^-(2l+1) (n, K), under which t_l and the translation
        # are both O(1) (balanced: unbalanced, LU pivots on entries 1e30 apart and fails at high
        # l); capped at e^700, where t_l ~ (kR)^(2l+1)/g_l has underflowed to 0 anyway
        s2 = np.exp(np.minimum(_log_balance(self.degree) - (2 * self.degree + 1.0) * np.log(x), 700.0))
        t = np.concatenate([r.t for r in responses], axis=1)
        chi = emission_absorption(t) * s2
        t = t * s2
        T = np.zeros((n, N, N))
        T_in, T_out = np.zeros((n, N)), np.zeros((n, N))
        blocks = zip(self.blocks, self.rows, self.weights, self.adapted, self.translation_blocks(k))
        for b, rows, weight, adapted, Cb in blocks:
            cb = weight * chi[:, b]
            # block modes are sphere-major: per-sphere sums by segments (reduceat, not a BLAS
            # product, so each frequency's result does not depend on the others in the chunk)
            sph = self.sphere[b]
            starts = np.nonzero(np.r_[True, sph[1:] != sph[:-1]])[0]
            present = sph[starts]
            row_starts = np.nonzero(np.r_[True, sph[rows][1:] != sph[rows][:-1]])[0]
            W, incoming, outgoing = self._solve(Cb, t[:, b], 1 / s2[:, b], rows, adapted, environment)
            # T_ij = 4 sum_(a in i, c in j) chi_a |W_ac|^2 chi_c over this block's modes
            flux = cb[:, rows, None] * np.abs(W) ** 2 * cb[:, None, :]
            T[:, sph[rows][row_starts][:, None], present[None, :]] += (
                4 / weight * np.add.reduceat(np.add.reduceat(flux, row_starts, axis=1), starts, axis=2)
            )
            if environment:
                T_in[:, present] += 4 * np.add.reduceat(cb * incoming, starts, axis=1)
                T_out[:, present] += 4 * np.add.reduceat(cb * outgoing, starts, axis=1)
        for image in self.images[1:]:  # the rows not computed: T_(g i)(g j) = T_ij
            T[:, image[self.rep_spheres][:, None], image[None, :]] = T[:, self.rep_spheres, :]
        T[:, np.arange(N), np.arange(N)] = 0.0
        return (T, T_in, T_out) if environment else T

    @staticmethod
    def _solve(
        Cb: np.ndarray, tb: np.ndarray, vacuum: np.ndarray, rows: np.ndarray, adapted, environment: bool
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """One block: the rows ``rows`` of W = (1 - C Tb)^-1 C (n, len(rows), K) and, with
        ``environment``, the diagonals (n, K) of M R M^H and D^H R D (M = 1 + W Tb, D = 1 + Tb W,
        R = (C + C^H)/2 + diag(``vacuum``), the vacuum field in the rescaled modes).

        Cb (n, len(rows), K): the block's computed rows of C (all rows without ``adapted``).
        With ``adapted`` (``_prepare``) each irreducible block is solved alone: C_chi = U^T C U
        from C's computed rows alone (U's columns are orbit sums and C commutes with the group:
        ``transmission_kernels.adapted_gather``), W's rows are sum_chi U W_chi U^T
        (``adapted_scatter``), and each diagonal is sum_chi of U_(a alpha)^2 times that of the
        irreducible block's own M R M^H (every operator here commutes with the group)."""
        n, K = Cb.shape[0], Cb.shape[2]
        irreps = adapted or [(None, None, None, np.arange(K), np.ones(K), None)]
        W = None if adapted is None else np.zeros((n, len(rows), K), dtype=complex)
        incoming, outgoing = (np.zeros((n, K)), np.zeros((n, K))) if environment else (None, None)
        for support, coef, factor, alpha, weight, rep in irreps:
            if adapted is None:
                Cc, tc, vc = Cb, tb, vacuum
            else:
                Cc = np.empty((n, len(rep), len(rep)), dtype=complex)
                transmission_kernels.adapted_gather(Cb, rep, factor, support, coef, Cc)
                tc, vc = tb[:, support[:, 0]], vacuum[:, support[:, 0]]
            Kc = Cc.shape[1]
            Wc = np.linalg.solve(np.eye(Kc) - Cc * tc[:, None, :], Cc)
            if adapted is None:
                W = Wc
            else:
                transmission_kernels.adapted_scatter(Wc, alpha, weight, rows, W)
            if environment:
                Rc = (Cc + np.conj(np.swapaxes(Cc, 1, 2))) / 2
                Rc[:, np.arange(Kc), np.arange(Kc)] += vc
                Mc = np.eye(Kc) + Wc * tc[:, None, :]
                Dc = np.eye(Kc) + tc[:, :, None] * Wc
                diag_in = np.einsum("nab,nab->na", Mc @ Rc, Mc.conj()).real  # diag of M R M^H
                diag_out = np.einsum("nba,nba->na", Dc.conj(), Rc @ Dc).real  # diag of D^H R D
                incoming += weight**2 * diag_in[:, alpha]
                outgoing += weight**2 * diag_out[:, alpha]
        return W, incoming, outgoing


def _prepare(adapted: list[tuple[np.ndarray, np.ndarray, np.ndarray]], K: int, rows: np.ndarray) -> list[tuple]:
    """Per irrep of a block's symmetry-adapted basis (block size K; ``rows``: the block positions
    whose rows of C are computed): (support (K_chi, |G|) with the dummy slots pointed at 0,
    coefficients, factor (K_chi,), alpha (K,): the basis vector holding each mode, weight (K,):
    its coefficient there, 0 for a mode with no vector in this irrep, rep (K_chi,): the computed
    row of each vector's first mode)."""
    row_of = np.full(K + 1, -1)
    row_of[rows] = np.arange(len(rows))
    out = []
    for sup, coef, factor in adapted:
        alpha = np.zeros(K, dtype=np.int64)
        weight = np.zeros(K)
        vec, slots = np.nonzero(sup < K)
        alpha[sup[vec, slots]] = vec
        weight[sup[vec, slots]] = coef[vec, slots]
        rep = row_of[sup[:, 0]]
        if np.any(rep < 0):
            raise AssertionError("an orbit's first mode lies outside the computed rows")
        support = np.where(sup < K, sup, 0).astype(np.int64)
        out.append((support, np.ascontiguousarray(coef), factor, alpha, weight, rep.astype(np.int64)))
    return out
