"""Plain NumPy twins of the Numba kernels: one frequency at a time, numpy.linalg.solve.

Slow and simple on purpose; the tests hold the fast path (``transmission_kernels`` + batched
solve) to these at rtol ~1e-10, and ``sim.bench.spectra`` times the fast path against ``transmission``.
The environment terms follow docs/model.md §B3 literally (explicit inverses M and D).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants as sc

from sim.radiative import tmatrix
from sim.radiative.green import block_green
from sim.radiative.polarizability import emission_absorption, polarizability

if TYPE_CHECKING:
    from sim.radiative.network import Network


def system(k: float, positions: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Twin of ``kernels.assemble_system`` for one frequency: (G, M = 1 - k^2 G A), each (3N, 3N).

    k in 1/m; positions (N, 3) m; alpha (N, 3, 3) m^3.
    """
    G = block_green(k, positions)
    A = _block_diag(alpha)
    return G, np.eye(len(G)) - k**2 * G @ A


def pair_transmission(k: float, Gd: np.ndarray, chi_abs: np.ndarray, chi_em: np.ndarray) -> np.ndarray:
    """Twin of ``kernels.pair_transmission`` for one frequency: T (N, N), zero diagonal.

    Gd (3N, 3N) 1/m; chi_abs, chi_em (N, 3, 3) m^3.
    """
    N = len(chi_abs)
    blocks = Gd.reshape(N, 3, N, 3).transpose(0, 2, 1, 3)
    T = 4 * k**4 * np.einsum("iab,ijbc,jcd,ijad->ij", chi_abs, blocks, chi_em, blocks.conj()).real
    np.fill_diagonal(T, 0.0)
    return T


def particle_response(network: Network, omega: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, chi_em, chi_abs), each (N, 3, 3) m^3, of every particle of ``network`` at one omega (rad/s)."""
    w = np.array([omega])
    alpha = np.stack(
        [polarizability(m.permittivity(w, network.B), R, w)[0] for m, R in zip(network.materials, network.radii)]
    )
    chi_em, chi_abs = emission_absorption(alpha, omega)
    return alpha, chi_em, chi_abs


def transmission(
    network: Network, omega: ArrayLike, environment: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """T (n, N, N) for omega (n,) rad/s, and with ``environment`` also (T_in, T_out), each (n, N).

    One frequency per iteration: G and M by ``system``, Gd = solve(M, G), T by
    ``pair_transmission``; the environment terms from docs/model.md §B3 with explicit inverses.
    """
    omega = np.atleast_1d(np.asarray(omega, dtype=float))
    N = network.N
    T = np.empty((len(omega), N, N))
    T_in = np.empty((len(omega), N))
    T_out = np.empty((len(omega), N))
    eye = np.eye(3 * N)
    for f, w in enumerate(omega):
        k = w / sc.c
        alpha, chi_em, chi_abs = particle_response(network, w)
        G, M_sys = system(k, network.positions, alpha)
        Gd = np.linalg.solve(M_sys, G)
        T[f] = pair_transmission(k, Gd, chi_abs, chi_em)
        if environment:
            A = _block_diag(alpha)
            M = np.linalg.inv(M_sys)
            D = np.linalg.inv(eye - k**2 * A @ G)
            ImG = (G - G.conj().T) / 2j + k / (6 * np.pi) * eye
            inc = M @ ImG @ M.conj().T
            for i in range(N):
                s = slice(3 * i, 3 * i + 3)
                T_in[f, i] = 4 * k**2 * np.trace(chi_abs[i] @ inc[s, s]).real
                T_out[f, i] = 4 * k**2 * np.trace(ImG @ D[:, s] @ chi_em[i] @ D[:, s].conj().T).real
    return (T, T_in, T_out) if environment else T


def _block_diag(blocks: np.ndarray) -> np.ndarray:
    N = len(blocks)
    out = np.zeros((3 * N, 3 * N), dtype=complex)
    for i in range(N):
        out[3 * i : 3 * i + 3, 3 * i : 3 * i + 3] = blocks[i]
    return out


def multipole_transmission(
    network: Network, omega: ArrayLike, environment: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Twin of the multipole model's spectra (``tmatrix.Cluster.spectra``): T (n, N, N), and with
    ``environment`` (T_in, T_out) (n, N), one frequency at a time in the network's own frame
    (no rotation, no symmetry blocks, no rescaling), with the dense formulas of the ``tmatrix`` docstring and
    explicit inverses: W = C (1 - Tb C)^-1, T_ij = 4 Tr[chi_i W_ij chi_j W_ij^H]."""
    model = network._multipole
    omega = np.atleast_1d(np.asarray(omega, dtype=float))
    N, L = network.N, model.lmax
    T = np.zeros((len(omega), N, N))
    T_in = np.zeros((len(omega), N))
    T_out = np.zeros((len(omega), N))
    for f, w in enumerate(omega):
        k = np.array([w / sc.c])
        resp = model.responses(np.array([w]), L)
        sizes = [len(r.modes) for r in resp]
        off = np.concatenate([[0], np.cumsum(sizes)])
        C = np.zeros((off[-1], off[-1]), dtype=complex)
        for i in range(N):
            for j in range(N):
                if i != j:
                    Cij = tmatrix.pair_translation(k, network.positions[i] - network.positions[j], L)[0][0]
                    C[off[i] : off[i + 1], off[j] : off[j + 1]] = Cij[np.ix_(resp[i].modes, resp[j].modes)]
        Tb = np.diag(np.concatenate([r.t[0] for r in resp]))
        chi_em = -(Tb + Tb.conj().T) / 2 - Tb @ Tb.conj().T
        chi_abs = -(Tb + Tb.conj().T) / 2 - Tb.conj().T @ Tb
        eye = np.eye(len(C))
        W = C @ np.linalg.inv(eye - Tb @ C)
        blocks = [slice(off[i], off[i + 1]) for i in range(N)]
        for i, si in enumerate(blocks):
            for j, sj in enumerate(blocks):
                if i != j:
                    T[f, i, j] = 4 * np.trace(chi_abs[si, si] @ W[si, sj] @ chi_em[sj, sj] @ W[si, sj].conj().T).real
        if environment:
            R = eye + (C + C.conj().T) / 2
            M = np.linalg.inv(eye - C @ Tb)
            D = np.linalg.inv(eye - Tb @ C)
            inc = M @ R @ M.conj().T
            for i, si in enumerate(blocks):
                T_in[f, i] = 4 * np.trace(chi_abs[si, si] @ inc[si, si]).real
                T_out[f, i] = 4 * np.trace(R @ D[:, si] @ chi_em[si, si] @ D[:, si].conj().T).real
    return (T, T_in, T_out) if environment else T


def adapted_gather(
    C_rows: np.ndarray, rep: np.ndarray, factor: np.ndarray, support: np.ndarray, coef: np.ndarray
) -> np.ndarray:
    """Twin of ``kernels.adapted_gather``: diag(factor) C_rows[:, rep] U per frequency, U (K, Kc)
    from support/coef."""
    U = np.zeros((C_rows.shape[2], len(support)))
    for a in range(len(support)):
        for u in range(support.shape[1]):
            U[support[a, u], a] += coef[a, u]
    return factor[:, None] * (C_rows[:, rep] @ U)


def adapted_scatter(Wc: np.ndarray, alpha: np.ndarray, weight: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Twin of ``kernels.adapted_scatter``: the rows ``rows`` of U Wc U^T with U[a, alpha[a]] = weight[a]."""
    U = np.zeros((len(alpha), Wc.shape[1]))
    U[np.arange(len(alpha)), alpha] = weight
    return (U @ Wc @ U.T)[:, rows]


def translation_values(table: np.ndarray, u: np.ndarray, krho: np.ndarray, degree_sum: np.ndarray) -> np.ndarray:
    """Twin of ``kernels.translation_values``: (n, E), grouped by lambda + l, NumPy powers and einsum."""
    vals = np.empty((len(krho), len(table)), dtype=complex)
    p = np.arange(table.shape[1])[:, None]
    for nsum in np.unique(degree_sum):
        sel = np.nonzero(degree_sum == nsum)[0]
        with np.errstate(under="ignore"):
            v = np.where(p <= nsum, u * krho[None, :] ** np.maximum(nsum - p, 0), 0)
        vals[:, sel] = np.einsum("ep,pn->ne", table[sel], v)
    return vals
