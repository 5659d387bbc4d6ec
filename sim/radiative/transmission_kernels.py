"""Numba kernels of the many-body transmission (docs/model.md §B3), batched over frequency.

The fast path per chunk of frequencies is

    assemble_system   G (free-space blocks) and M = 1 - k^2 G A          [numba, prange over w]
    numpy.linalg.solve(M, G) -> Gd = (1 - k^2 G A)^-1 G                   [batched LAPACK]
    pair_transmission T_ij = 4 k^4 Tr[chi_abs_i Gd_ij chi_em_j Gd_ij^H]  [numba, prange over w]

Gd = (1 - k^2 G A)^-1 G equals docs/model.md's G (1 - k^2 A G)^-1 (push-through identity), so
one LU with 3N right-hand sides gives every dressed block. That solve is the floor; the
kernels around it only fill preallocated arrays. Their NumPy twins are in ``transmission_reference.py``.

Why not LAPACK from inside numba: numba reaches scipy's OpenBLAS, numpy reaches its own;
two thread pools (plus numba's) spinning on 2 cores made timings erratic (10x swings),
and calling it from prange threads oversubscribed. One batched numpy call per chunk is
predictable and within ~10 % of the direct call.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def assemble_system(k: np.ndarray, positions: np.ndarray, alpha: np.ndarray, G: np.ndarray, M: np.ndarray) -> None:
    """Fill G (exactly symmetric) and M = 1 - k^2 G A for each frequency.

    k (n,) 1/m; positions (N, 3) m; alpha (n, N, 3, 3) complex m^3 (polarizabilities);
    G, M (n, 3N, 3N) complex outputs (G in 1/m, M dimensionless).
    """
    n = k.shape[0]
    N = positions.shape[0]
    inv4pi = 1.0 / (4.0 * math.pi)
    for f in prange(n):
        kf = k[f]
        k2 = kf * kf
        for i in range(N):
            for a in range(3):
                for b in range(3):
                    G[f, 3 * i + a, 3 * i + b] = 0.0
            for j in range(i + 1, N):
                dx = positions[i, 0] - positions[j, 0]
                dy = positions[i, 1] - positions[j, 1]
                dz = positions[i, 2] - positions[j, 2]
                d = math.sqrt(dx * dx + dy * dy + dz * dz)
                u = (dx / d, dy / d, dz / d)
                kr = kf * d
                pref = cmath.exp(1j * kr) * inv4pi / d
                c_iso = pref * (1.0 + 1j / kr - 1.0 / (kr * kr))
                c_rr = pref * (1.0 + 3j / kr - 3.0 / (kr * kr))
                for a in range(3):
                    for b in range(3):
                        g = -c_rr * (u[a] * u[b])  # bracketed: exactly symmetric in a, b
                        if a == b:
                            g += c_iso
                        # G0(r) = G0(-r) and each block is symmetric
                        G[f, 3 * i + a, 3 * j + b] = g
                        G[f, 3 * j + a, 3 * i + b] = g
        for i in range(N):
            for j in range(N):
                for a in range(3):
                    for b in range(3):
                        s = 0j
                        for c in range(3):
                            s += G[f, 3 * i + a, 3 * j + c] * alpha[f, j, c, b]
                        M[f, 3 * i + a, 3 * j + b] = (1.0 if (i == j and a == b) else 0.0) - k2 * s


@njit(parallel=True, cache=True)
def pair_transmission(k: np.ndarray, Gd: np.ndarray, chi_abs: np.ndarray, chi_em: np.ndarray, out: np.ndarray) -> None:
    """Fill out[f, i, j] = 4 k^4 Tr[chi_abs_i Gd_ij chi_em_j Gd_ij^H] (j -> i), zero diagonal.

    k (n,) 1/m; Gd (n, 3N, 3N) complex dressed Green matrix (1/m); chi_abs, chi_em
    (n, N, 3, 3) complex m^3; out (n, N, N) float, dimensionless.
    """
    n = k.shape[0]
    N = chi_abs.shape[1]
    W = np.empty((n, 3, 3), dtype=np.complex128)  # per-frequency scratch: no allocation in the loop
    for f in prange(n):
        k4 = 4.0 * k[f] ** 4
        w = W[f]
        for i in range(N):
            out[f, i, i] = 0.0
            for j in range(N):
                if j == i:
                    continue
                # w = chi_abs_i Gd_ij
                for a in range(3):
                    for b in range(3):
                        s = 0j
                        for c in range(3):
                            s += chi_abs[f, i, a, c] * Gd[f, 3 * i + c, 3 * j + b]
                        w[a, b] = s
                # Tr[w chi_em_j Gd_ij^H] = sum_ad (w chi_em_j)_ad conj(Gd_ij)_ad
                t = 0.0
                for a in range(3):
                    for d in range(3):
                        s = 0j
                        for c in range(3):
                            s += w[a, c] * chi_em[f, j, c, d]
                        g = Gd[f, 3 * i + a, 3 * j + d]
                        t += s.real * g.real + s.imag * g.imag
                out[f, i, j] = k4 * t


# --------------------------------------------------------------------------- multipole model
# Gathers and scatters of the multipole model's block matrices (``tmatrix.Cluster``). NumPy's
# fancy indexing moves ~20 ns per element here; these loops move ~1 ns, which is what makes the
# symmetry-adapted solve pay off (the index arithmetic, not the small LAPACK solves, dominated).
# Serial on purpose: each call is short and memory-bound, and a parallel region waits for its
# slowest thread, which on a busy 2-core machine costs a scheduler time slice (8.5 ms per
# scatter_entries call measured under load, against 0.4 ms serial).
@njit(cache=True)
def scatter_entries(
    vals: np.ndarray, local: np.ndarray, rows: np.ndarray, cols: np.ndarray, sign: np.ndarray, out: np.ndarray
) -> None:
    """out[f, rows[e], cols[e]] = sign[e] * vals[f, local[e]] for every frequency f.

    vals (n, E) complex; local, rows, cols (m,) int; sign (m,) float; out (n, K, K) complex."""
    for f in range(vals.shape[0]):
        for e in range(local.shape[0]):
            out[f, rows[e], cols[e]] = sign[e] * vals[f, local[e]]


@njit(cache=True)
def adapted_gather(
    C_rows: np.ndarray, rep: np.ndarray, factor: np.ndarray, support: np.ndarray, coef: np.ndarray, out: np.ndarray
) -> None:
    """out[f, a, b] = factor[a] sum_v coef[b, v] C_rows[f, rep[a], support[b, v]]: U^T C U in a
    symmetry-adapted basis from the rows of C at each vector's first mode alone (C commutes with
    the group; ``tmatrix._adapted_basis``).

    C_rows (n, R, K) complex: C's computed rows; rep (Kc,) int: the row of each vector's first
    mode; factor (Kc,) float; support (Kc, G) int (slots with coef 0 may point anywhere in range);
    coef (Kc, G) float; out (n, Kc, Kc) complex."""
    Kc, G = support.shape
    for f in range(C_rows.shape[0]):
        for a in range(Kc):
            r = rep[a]
            fa = factor[a]
            for b in range(Kc):
                s = 0j
                for v in range(G):
                    cv = coef[b, v]
                    if cv != 0.0:
                        s += cv * C_rows[f, r, support[b, v]]
                out[f, a, b] = fa * s


@njit(cache=True)
def adapted_scatter(Wc: np.ndarray, alpha: np.ndarray, weight: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """out[f, i, c] += weight[a] weight[c] Wc[f, alpha[a], alpha[c]], a = rows[i]: one irreducible
    block's share of the rows ``rows`` of W = sum_chi U W_chi U^T (each mode a lies in at most
    one basis vector alpha[a]).

    Wc (n, Kc, Kc) complex; alpha (K,) int; weight (K,) float (0: no vector); rows (R,) int;
    out (n, R, K) complex."""
    K = alpha.shape[0]
    for f in range(Wc.shape[0]):
        for i in range(rows.shape[0]):
            a = rows[i]
            wa = weight[a]
            if wa == 0.0:
                continue
            for c in range(K):
                wc = weight[c]
                if wc != 0.0:
                    out[f, i, c] += wa * wc * Wc[f, alpha[a], alpha[c]]


@njit(cache=True)
def translation_values(
    table: np.ndarray,
    u: np.ndarray,
    krho: np.ndarray,
    degree_sum: np.ndarray,
    p_first: np.ndarray,
    p_last: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[f, e] = sum_p table[e, p] u[p, f] krho[f]^(n_e - p), n_e = degree_sum[e]: one pair's
    translation entries in the rescaled modes (``tmatrix.Cluster.translation_blocks``).

    table (E, P) complex: the pair's k-independent table; u (P, n) complex: the scaled Hankel
    functions h_p(k d) (k rho)^(p+1); krho (n,); degree_sum (E,) int: lambda + l of each entry;
    p_first, p_last (E,) int: its first and last nonzero p (a row's nonzeros share one parity,
    |lambda - l| <= p <= lambda + l: the sum steps by 2 over a fifth of the table; p_first >
    p_last for a zero row); out (n, E) complex. The (2L + 1)^2 products u_p (k rho)^(n - p)
    are formed once per frequency (8-27 % less time than per term, A/B under load). One
    frequency at a time (its values never depend on the others in the call); a power of k rho
    below the smallest double is 0, as the terms it multiplies are."""
    P = table.shape[1]  # 2 L + 1 >= lambda + l + 1
    pw = np.empty(P)
    v = np.zeros((P, P), dtype=np.complex128)  # v[n, p] = u_p (k rho)^(n - p), p <= n
    for f in range(u.shape[1]):
        pw[0] = 1.0
        for q in range(1, P):
            pw[q] = pw[q - 1] * krho[f]
        for n in range(P):
            for p in range(n + 1):
                v[n, p] = u[p, f] * pw[n - p]
        for e in range(table.shape[0]):
            vn = v[degree_sum[e]]
            s = 0.0j
            for p in range(p_first[e], p_last[e] + 1, 2):
                s += table[e, p] * vn[p]
            out[f, e] = s
