r"""Quasi-static (electrostatic) heat-transfer spectrum between two coaxial spheres, all
electric multipoles up to l = L, full mutual multiple scattering.

Standalone (numpy/scipy only, nothing from ``sim``): an independent check of the
package's T-matrix engines. SI units, time dependence exp(-i w t).

Geometry and result
-------------------
Sphere 1 (radius R1, permittivity eps1) at the origin, sphere 2 (R2, eps2) at +d z,
d > R1 + R2. ``transmission`` returns T_12(w), the dimensionless spectral transmission
from 2 to 1: the power 2 -> 1 is  int_0^inf dw/(2 pi) Theta(w, T2) T_12(w).
Reciprocal spheres give T_12 = T_21 (checked in the tests, not assumed).

Derivation
----------
1. Multipoles of one sphere. About a sphere's centre write the external (incident)
   potential as sum_lm a_lm r^l Y_lm and the potential the sphere's charge rho sets up
   outside as (1/eps0) sum_lm Q_lm r^-(l+1) Y_lm / (2l+1), Q_lm = int rho r^l Y_lm^* dV
   (from 1/|r-r'| = sum 4 pi/(2l+1) r'^l r^-(l+1) Y*(r') Y(r)). Matching phi and eps
   d phi/dr at r = R gives the induced moment

        Q_lm = -eps0 (2l+1) beta_l R^(2l+1) a_lm,   beta_l = (eps - 1) l / (eps l + l + 1).

2. Absorbed power. With J = -i w P, rho = -div P:
   P_abs = 1/2 Re int J^* . E_ext = (w/2) Im int rho^* phi_ext = (w/2) Im sum_lm a_lm Q_lm^*
         = (w eps0 / 2) sum_lm (2l+1) R^(2l+1) Im(beta_l) |a_lm|^2.
   (The same number follows from (w eps0/2) Im(eps) int |E_inside|^2 dV; a test checks it.)

3. "Energy" normalisation. Put

        a~_lm = sqrt((2l+1)/(4 pi)) a_lm,     q~_lm = -sqrt(4 pi/(2l+1)) Q_lm / eps0,
        t_l   = 4 pi beta_l R^(2l+1)           (m^(2l+1); t_1 = alpha = 4 pi R^3 (eps-1)/(eps+2)).

   Then q~ = t a~, a_lm Q_lm^* = -eps0 a~ q~^*, and P_abs = (w eps0/2) sum_lm Im(t_l) |a~_lm|^2,
   the same form for every l. For l = 1 this is the dipole model: a~_10 = -E_z,
   q~_10 = -p_z/eps0 (and likewise for m = +-1 with the spherical components of E, p), so
   q~ = t a~ is p/eps0 = alpha E and the power is (w eps0/2) Im(alpha) |E|^2.
   The pair (q~, eps0 a~) enters the interaction energy as the dipole pair (p/eps0, eps0 E)
   does, with a diagonal susceptibility t, so the fluctuation-dissipation theorem gives
   <q~_lm q~_l'm'^*> = K(w, T) Im(t_l) delta_ll' delta_mm' with one K for all l (the one
   of the dipole model). Hence the dipole model's T_12 = 4 k^4 Tr[chi_1 Gd_12 chi_2 Gd_12^H]
   (quasi-static: k^2 G -> G~ = (3 zz - 1)/(4 pi d^3)) generalises to

        T_12 = 4 Tr[ Im(t_1) W_12 Im(t_2) W_12^H ],   W_12 = (1 - C_12 t_2 C_21 t_1)^-1 C_12,

   where C_ij maps the normalised source q~ of sphere j to the normalised incident a~ at
   sphere i, and W_12 maps a fluctuating source in 2 to the self-consistent field at 1
   (a~_1 = C_12 q~_2,tot, q~_2,tot = q~_2,fl + t_2 C_21 t_1 a~_1).

4. Coupling (re-expansion along the axis). With r_j = r_i + s d z (s = +1: source centre j
   below target centre i; s = -1: above), for r_i < d, from 1/r_j's Legendre series and
   r^-(l+1) Y_lm being proportional to d^(l-m)/dz^(l-m) of the m = l one:

       r_j^-(l+1) Y_lm(r_j) = sum_l' K_l'l r_i^l' Y_l'm(r_i),
       K_l'l = (-1)^(m + (l' if s = +1 else l)) (l+l')! / sqrt((l+m)!(l-m)!(l'+m)!(l'-m)!)
               * sqrt((2l+1)/(2l'+1)) / d^(l+l'+1)

   (m is conserved; ``reexpansion`` is checked against direct evaluation in the tests).
   The source's potential is (1/eps0) Q/(2l+1) r^-(l+1) Y = -q~ / sqrt(4 pi (2l+1)) r^-(l+1) Y,
   so in the normalised basis

       C_l'l = -(1/(4 pi)) (-1)^(m + (l' or l)) (l+l')! / sqrt((l+m)!(l-m)!(l'+m)!(l'-m)!) / d^(l+l'+1).

   Check l = l' = 1: C(m=0) = 2/(4 pi d^3) = G~_zz, C(m=+-1) = -1/(4 pi d^3) = G~_xx.
   Sphere 1 at the origin, 2 at +d z: C_12 carries (-1)^(m+l) (l: the source's degree, in
   sphere 2, above) and C_21 carries (-1)^(m+l') (l': the target's degree, sphere 2 again),
   so C_21 = C_12^T (reciprocity). The common (-1)^m of a block drops out of T.

5. Weak coupling, dipoles only: T_12 = 4 Im(a1) Im(a2) sum_m C_m^2 =
   4 Im a1 Im a2 (4 + 1 + 1)/(16 pi^2 d^6) = 3 Im a1 Im a2 / (2 pi^2 d^6). Each (l, m)
   channel carries at most 1 (Landauer); with this normalisation the bound is reached at the
   split resonances of two close spheres (a test).

Units and shapes: t_l in m^(2l+1), C_l'l in m^-(l+l'+1), T dimensionless; omega / eps arrays
(n,), results (n,) (``by_m=True``: (L+1, n), row m the sum of +-m).

Extras used only to size the tolerances of the engine tests: ``factors`` multiplies the
coupling of block m (e.g. the exact retarded/static ratio of the dipole Green tensor),
``sensitivity=True`` returns S = sum_ij |C_ij dT/dC_ij| (first-order bound on the effect of a
relative change of every coupling element), and ``transmission_general`` takes any sphere
response (t_l, loss chi_l), e.g. ``mie_electric_responses`` (exact Mie electric coefficients
in this basis; chi_l = Im t_l - kappa_l |t_l|^2 with the radiation loss kappa_l).

Numerics
--------
For each m = 0..L the blocks run over l = max(m, 1)..L (neutral spheres: no l = 0);
m and -m contribute equally. To avoid overflow of (l+l')! and R^(2l+1) at large l the basis
is rescaled by D_i = diag(R_i^(l+1/2)): t^_l = t_l / R^(2l+1) = 4 pi beta_l,
C^_12 = D_1 C_12 D_2 with entries ~ binomial (R1/d)^l' (R2/d)^l (built from gammaln), all
O(1) or smaller, which leaves the trace unchanged (T = 4 Tr[Im t^_1 W^ Im t^_2 W^^H]).
Scaled couplings below 1e-100 are dropped (their share of T is < 1e-200).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

# SiC (6H), Lorentz phonon model
SIC_EPS_INF = 6.7
SIC_WL = 1.825e14
SIC_WT = 1.494e14
SIC_GAMMA = 8.966e11


def sic_permittivity(omega):
    """eps(w) = einf (w^2 - wL^2 + i G w)/(w^2 - wT^2 + i G w), complex, omega in rad/s."""
    w = np.asarray(omega, dtype=float)
    return SIC_EPS_INF * (w**2 - SIC_WL**2 + 1j * SIC_GAMMA * w) / (w**2 - SIC_WT**2 + 1j * SIC_GAMMA * w)


def beta(eps, l):
    """Dimensionless multipole response beta_l = (eps - 1) l / (eps l + l + 1); eps (...,), l int."""
    eps = np.asarray(eps, dtype=complex)
    return (eps - 1) * l / (eps * l + l + 1)


def response(eps, l, R):
    """Normalised multipole response t_l = 4 pi beta_l R^(2l+1), m^(2l+1); t_1 is alpha (m^3)."""
    return 4 * np.pi * beta(eps, l) * R ** (2 * l + 1)


def dipole_weak_coupling(eps1, eps2, R1, R2, d):
    """3 Im(a1) Im(a2) / (2 pi^2 d^6), a = 4 pi R^3 (eps - 1)/(eps + 2)."""
    return 3 * np.imag(response(eps1, 1, R1)) * np.imag(response(eps2, 1, R2)) / (2 * np.pi**2 * d**6)


def quasistatic_responses(eps):
    """Sphere response for ``transmission_general``: l (k,) -> (t^, chi^), each (n, k) complex/real,
    t^_l = 4 pi beta_l (t_l / R^(2l+1)) and its loss chi^ = Im t^ (no radiation in electrostatics)."""
    eps = np.atleast_1d(np.asarray(eps, dtype=complex))

    def resp(l):
        t = 4 * np.pi * beta(eps[:, None], np.asarray(l)[None, :])
        return t, t.imag

    return resp


def _log_binomial_factor(lt, ls, m):
    """log[(l+l')! / sqrt((l+m)!(l-m)!(l'+m)!(l'-m)!)], lt = l' (target), ls = l (source)."""
    return gammaln(lt + ls + 1) - 0.5 * (
        gammaln(ls + m + 1) + gammaln(ls - m + 1) + gammaln(lt + m + 1) + gammaln(lt - m + 1)
    )


def reexpansion(l_target, l_source, m, d, source_below=True):
    """K_l'l: r_j^-(l+1) Y_lm(r_j) = sum_l' K_l'l r_i^l' Y_l'm(r_i), r_j = r_i +- d z.

    source_below=True: the source centre j lies at -d z from the target centre i
    (r_j = r_i + d z); False: at +d z. Y_lm: orthonormal, Condon-Shortley phase
    (scipy.special.sph_harm_y). Unit m^-(l+l'+1).
    """
    lt, ls = np.asarray(l_target), np.asarray(l_source)
    sign = (-1.0) ** (m + (lt if source_below else ls))
    return (
        sign * np.exp(_log_binomial_factor(lt, ls, abs(m))) * np.sqrt((2 * ls + 1) / (2 * lt + 1)) / d ** (lt + ls + 1)
    )


def coupling_scaled(m, L_target, L_source, R_target, R_source, d, source_below):
    """C^ = D_t C D_s, real dimensionless, rows l' = max(m, 1)..L_target, columns
    l = max(m, 1)..L_source (no monopoles: neutral spheres), D = diag(R^(l+1/2))."""
    lt = np.arange(max(m, 1), L_target + 1)[:, None]
    ls = np.arange(max(m, 1), L_source + 1)[None, :]
    sign = (-1.0) ** (m + (lt if source_below else ls))
    logmag = _log_binomial_factor(lt, ls, m) + (lt + 0.5) * np.log(R_target / d) + (ls + 0.5) * np.log(R_source / d)
    return -sign * np.exp(logmag) / (4 * np.pi)


#: scaled couplings below this are dropped: their share of T is < ~_TINY^2 (T^(m) ~ |C|^2)
_TINY = 1e-100


def _block(resp1, resp2, R1, R2, d, m, L1, L2, factor):
    """Per-m pieces: C12 (n, n1, n2) (times factor), t1, chi1 (n, n1), t2, chi2 (n, n2)."""
    l1, l2 = np.arange(max(m, 1), L1 + 1), np.arange(max(m, 1), L2 + 1)
    t1, chi1 = resp1(l1)
    t2, chi2 = resp2(l2)
    n = t1.shape[0]
    # sphere 2 (the source for C12) sits above sphere 1
    C = coupling_scaled(m, L1, L2, R1, R2, d, source_below=False)
    C[np.abs(C) < _TINY] = 0.0  # (entries are <= O(1)): keeps denormals out of the products
    C12 = C[None] * np.broadcast_to(np.asarray(factor, dtype=complex), (n,))[:, None, None]
    return C12, t1, chi1, t2, chi2


def transmission_m_general(resp1, resp2, R1, R2, d, m, L1, L2, factor=1.0, sensitivity=False):
    """T_12^(m)(w) (n,) for one m >= 0 (m and -m are equal), from responses resp_i(l) -> (t^, chi^).

    factor: scalar or (n,) complex multiplying both C_12 and C_21 = C_12^T (default 1, the
    quasi-static coupling); a probe of the sensitivity to the coupling (e.g. retardation).
    sensitivity=True also returns S (n,) = sum_ij |C_ij dT/dC_ij| (C_21 = C_12^T tied), so
    that a relative change |dC_ij / C_ij| <= e of every coupling element changes T^(m) by
    at most e * S to first order.
    """
    C12, t1, chi1, t2, chi2 = _block(resp1, resp2, R1, R2, d, m, L1, L2, factor)
    if not C12.any():  # every coupling of this m below _TINY
        zero = np.zeros(t1.shape[0])
        return (zero, zero.copy()) if sensitivity else zero
    C21 = C12.swapaxes(1, 2)
    M = np.eye(t1.shape[1])[None] - (C12 * t2[:, None, :]) @ (C21 * t1[:, None, :])
    Minv = np.linalg.inv(M)
    W = Minv @ C12
    T = 4 * np.einsum("na,nab,nb->n", chi1, np.abs(W) ** 2, chi2)
    if not sensitivity:
        return T
    # T = 4 Tr[chi1 W chi2 W^H], W = M^-1 C, M = 1 - C t2 C^T t1:
    # dT = 8 Re Tr[dW X], X = chi2 W^H chi1; Tr[dW X] = Tr[dC H] with
    # H = Y + t2 C^T t1 W Y + (t1 W Y C t2)^T, Y = X M^-1
    X = chi2[:, :, None] * np.conj(W.swapaxes(1, 2)) * chi1[:, None, :]
    Y = X @ Minv
    H = (
        Y
        + (t2[:, :, None] * C21 * t1[:, None, :]) @ W @ Y
        + ((t1[:, :, None] * W) @ Y @ (C12 * t2[:, None, :])).swapaxes(1, 2)
    )
    S = 8 * np.abs(C12 * H.swapaxes(1, 2)).sum(axis=(1, 2))
    return T, S


def transmission_general(resp1, resp2, R1, R2, d, L1, L2=None, *, by_m=False, factors=None, sensitivity=False):
    """T_12(w) (n,) from sphere 2 (at +d z) to sphere 1 (origin) for given sphere responses
    resp_i(l) -> (t^, chi^) (see ``quasistatic_responses``); l <= L1 in sphere 1, l <= L2
    (default L1) in sphere 2. by_m=True returns (M+1, n): row m holds the total of +-m.
    factors: optional callable m -> coupling factor of block m (see ``transmission_m_general``).
    sensitivity=True returns (T, S) with S the summed first-order sensitivity (same shape)."""
    L2 = L1 if L2 is None else L2
    if not d > R1 + R2:
        raise ValueError(f"d = {d} must exceed R1 + R2 = {R1 + R2}")
    T, S = [], []
    for m in range(min(L1, L2) + 1):
        out = transmission_m_general(
            resp1, resp2, R1, R2, d, m, L1, L2, 1.0 if factors is None else factors(m), sensitivity
        )
        mult = 1 if m == 0 else 2
        T.append(mult * (out[0] if sensitivity else out))
        if sensitivity:
            S.append(mult * out[1])
    T, S = np.array(T), np.array(S)
    if not by_m:
        T, S = T.sum(axis=0), (S.sum(axis=0) if sensitivity else S)
    return (T, S) if sensitivity else T


def transmission(eps1, eps2, R1, R2, d, L1, L2=None, **kw):
    """Quasi-static T_12(w) (n,), from sphere 2 (at +d z) to sphere 1 (origin), l <= L1 in
    sphere 1 and l <= L2 (default L1) in sphere 2. eps1, eps2: (n,) complex permittivities
    (or scalars, broadcast); R1, R2, d in m. Keywords as ``transmission_general``."""
    e1, e2 = np.broadcast_arrays(
        np.atleast_1d(np.asarray(eps1, dtype=complex)), np.atleast_1d(np.asarray(eps2, dtype=complex))
    )
    return transmission_general(quasistatic_responses(e1), quasistatic_responses(e2), R1, R2, d, L1, L2, **kw)


def transmission_sic(omega, R1, R2, d, L1, L2=None, **kw):
    """T_12(w) (n,) for two SiC spheres at omega (n,) rad/s."""
    eps = sic_permittivity(np.atleast_1d(omega))
    return transmission(eps, eps, R1, R2, d, L1, L2, **kw)


# ----------------------------------------------------------------------------------------------
# Not quasi-static: the exact (Mie) electric multipole response of one sphere, used only to size
# the (kR)^2 corrections the quasi-static model leaves out (coupling kept quasi-static).
def mie_electric_responses(eps, k, R, l_exact=50):
    """Like ``quasistatic_responses`` but with the Mie electric coefficients a_l (Bohren-Huffman,
    exp(-i w t)) mapped to the normalised basis: a_l -> -i kappa_l t_l as kR -> 0 with
    kappa_l = (l+1) k^(2l+1) / (4 pi l (2l+1)!! (2l-1)!!) (kappa_1 = k^3/(6 pi)), so
    t_l = i a_l / kappa_l and the loss (Re a_l - |a_l|^2 per mode) is chi_l = Im t_l - kappa_l |t_l|^2.
    Both scaled by R^-(2l+1); k (n,) 1/m. Written as
        t^_l = i 4 pi l/(l+1) (psi~/xi~) (m D(x) - D(mx)) / (m G(x) - D(mx)),
    D, G the log-derivatives of psi = z j_l, xi = z h1_l, psi~ = j_l (2l+1)!!/x^l -> 1,
    xi~ = x^(l+1) h1_l/(2l-1)!! -> -i, so nothing over- or underflows up to l ~ 50 at kR ~ 1e-2.
    For l > l_exact the quasi-static value is kept (its relative (kR)^2 correction is
    ~ (kR)^2/l there)."""
    from scipy.special import spherical_jn, spherical_yn

    eps = np.atleast_1d(np.asarray(eps, dtype=complex))
    x = np.atleast_1d(np.asarray(k, dtype=float)) * R
    mref = np.sqrt(eps)
    mx = mref * x

    def resp(l):
        l = np.asarray(l)
        t = 4 * np.pi * beta(eps[:, None], l[None, :])
        chi = t.imag.copy()
        for c, ll in enumerate(l):
            if ll > l_exact:
                continue
            j, dj = spherical_jn(ll, x), spherical_jn(ll, x, derivative=True)
            y, dy = spherical_yn(ll, x), spherical_yn(ll, x, derivative=True)
            jm, djm = spherical_jn(ll, mx), spherical_jn(ll, mx, derivative=True)
            Dx = 1 / x + dj / j
            Gx = 1 / x + (dj + 1j * dy) / (j + 1j * y)
            Dmx = 1 / mx + djm / jm
            log_df1 = gammaln(2 * ll + 2) - ll * np.log(2) - gammaln(ll + 1)  # (2l+1)!!
            log_df0 = gammaln(2 * ll + 1) - ll * np.log(2) - gammaln(ll + 1)  # (2l-1)!!
            jt = j * np.exp(log_df1 - ll * np.log(x))
            yt = y * np.exp((ll + 1) * np.log(x) - log_df0)
            small = np.exp((2 * ll + 1) * np.log(x) - log_df1 - log_df0)  # x^(2l+1)/((2l+1)!!(2l-1)!!)
            ratio = jt / (jt * small + 1j * yt)  # psi~/xi~
            tt = 1j * 4 * np.pi * ll / (ll + 1) * ratio * (mref * Dx - Dmx) / (mref * Gx - Dmx)
            kap = (ll + 1) / (4 * np.pi * ll) * small  # kappa_l R^(2l+1)
            t[:, c] = tt
            chi[:, c] = tt.imag - kap * np.abs(tt) ** 2
        return t, chi

    return resp
