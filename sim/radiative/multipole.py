"""The multipole model of a network: order choice, memory limits, and spectra to order L.

``Network(..., model="multipole")`` delegates here. The formulas and the basis are in
``sim.radiative.tmatrix``; this module decides what to compute:

- the order L. ``lmax=None`` raises L until every pair conductance G_ij(T_ref = 300 K)
  changes by less than rtol (relative to itself, or to 1e-6 of the largest for tiny ones)
  from L to L + 1, then uses L; the change is reported as ``order_change``. Once two
  successive changes fall, the search extrapolates their geometric decay and jumps to one
  order below where it reaches rtol (so it may settle one order above the smallest that
  qualifies, never below: the returned order's change is always measured). The search starts
  two below the gap estimate below, so far-apart spheres cost two low orders. A cluster of more than two
  spheres starts at the order its closest pair needs alone (cheap: two spheres on an axis
  decouple in m), so its own search usually costs two orders. The conductances
  of the search use a fixed 5-point Gauss-Legendre rule on each of the spectral integrator's
  root panels, the same nodes for every L, so what is compared is the order's effect alone
  (at a gap of R it picks the same order as adaptive integrals to rtol/4, in a third of the time).
- memory. One frequency needs ~10 (N 2L(L+2))^2 complex numbers of work arrays, and each pair
  direction a translation table of 2 (L(L+2))^2 (2L+1); an order whose single-frequency need
  exceeds half the machine's memory is refused, naming the largest that fits.
- gaps. The multipole series of two spheres at centre distance d converges like exp(-mu L),
  cosh mu = d/(R_i + R_j) (bispherical coordinates; measured for SiC: the error falls by
  0.45 per order at a gap of 0.5R, exp(-mu) = 0.50): the order needed for rtol is about
  ln(1/rtol)/mu, and a gap whose estimate exceeds the largest feasible order is refused up
  front, naming the gap and the order. Closer still the estimate falls short (the SiC drag
  rectangle at a gap of 0.25R needs L = 25, the estimate 19), so it only refuses what is
  certainly out of reach and starts the search; the search decides.
- gyrotropic spheres (a permittivity tensor that is not a multiple of 1, e.g. InSb in a field)
  keep only their electric-dipole block; a warning says so when one is closer than 3R
  (centre distance below 1.5 (R_i + R_j)) to another sphere.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants as sc

from sim.radiative import tmatrix
from sim.radiative.polarizability import polarizability
from sim.radiative.spectra import X_MAX, dtheta_dT, root_breakpoints

if TYPE_CHECKING:
    from sim.radiative.materials import Material

#: temperature (K) of the conductances that set the automatic order
T_REF = 300.0
#: work arrays of one chunk of frequencies, bytes
_CHUNK_BYTES = 256e6
#: 16-byte complex work arrays per frequency, in units of K^2 (C, T, chi_em, chi_abs, W, solve
#: copies, and the environment's R, M, D, M R M^H)
_WORK_ARRAYS = 12


class GyrotropicMultipoleWarning(UserWarning):
    """A gyrotropic sphere (electric-dipole block only) is closer than 3R to another sphere."""


def machine_memory() -> float:
    """Physical memory of this machine, bytes."""
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def memory_per_frequency(N: int, L: int, kind: str = "none") -> float:
    """Bytes one frequency of an N-sphere cluster at order L needs: the work arrays of its
    symmetry blocks ("axial": one per m; "planar": two parities; "none": one) and the
    translation tables of its pairs (only the entries the blocks couple)."""
    l, m, pol = tmatrix.modes(L)
    labels = {"axial": m, "planar": (l + m + (pol == tmatrix.POL_TE)) % 2}.get(kind, np.zeros_like(l))
    per_sphere = np.unique(labels, return_counts=True)[1].astype(float)
    work = float(np.sum((N * per_sphere) ** 2))
    entries = float(np.sum(per_sphere**2))
    pairs = N * (N - 1) // 2
    return 16.0 * (_WORK_ARRAYS * work + pairs * entries * (2 * L + 1))


def largest_feasible_order(N: int, kind: str = "none", budget: float | None = None) -> int:
    """The largest L whose single-frequency memory fits ``budget`` (default: half the machine)."""
    budget = 0.5 * machine_memory() if budget is None else budget
    L = 1
    while memory_per_frequency(N, L + 1, kind) <= budget and L < 200:
        L += 1
    return L


def order_estimate(d: float, radius_sum: float, rtol: float) -> int:
    """Order the multipole series of two spheres at centre distance d needs for rtol (module doc)."""
    mu = math.acosh(max(d / radius_sum, 1.0 + 1e-16))
    return max(1, math.ceil(math.log(1.0 / rtol) / mu))


class MultipoleModel:
    """Spectra of a network's spheres in the multipole model (see the module doc).

    positions (N, 3) m, radii (N,) m, materials (N ``Material``), B tesla, lmax (int >= 1 or
    None: automatic), rtol: the order's convergence target. Attributes after construction:
    ``lmax`` (order used), ``order_change`` (last relative change of the conductances, None
    when lmax was given), ``gyrotropic`` (N bools), ``kind`` (symmetry used).
    """

    def __init__(
        self,
        positions: np.ndarray,
        radii: np.ndarray,
        materials: Sequence[Material],
        B: float,
        lmax: int | None,
        rtol: float,
        characteristic: ArrayLike,
        omega_range: tuple[float, float],
    ):
        self.radii, self.materials, self.B = radii, materials, B
        self.N = len(positions)
        self.gyrotropic = [_is_gyrotropic(m, B, characteristic) for m in materials]
        self.frame, self.kind = tmatrix.symmetry_frame(positions, rotatable=not any(self.gyrotropic))
        self._estimate = 1
        self._clusters: dict[int, tmatrix.Cluster] = {}
        self._check_gaps(positions, lmax, rtol)
        self._characteristic, self._omega_range = characteristic, omega_range
        self._root = root_breakpoints(characteristic, omega_range, X_MAX * sc.k * T_REF / sc.hbar)
        if lmax is None:
            self.lmax, self.order_change = self._choose_order(rtol)
        else:
            self.lmax, self.order_change = lmax, None

    def _check_gaps(self, positions, lmax, rtol) -> None:
        L_max = largest_feasible_order(self.N, self.kind)
        if lmax is not None and lmax > L_max:
            need = memory_per_frequency(self.N, lmax, self.kind) / 2**30
            raise ValueError(
                f"lmax = {lmax} needs {need:.3g} GiB per frequency for N = {self.N} spheres, more than "
                f"half this machine's memory; allowed: 1 <= lmax <= {L_max}"
            )
        if self.N < 2:
            return
        i, j = np.triu_indices(self.N, 1)
        d = np.linalg.norm(positions[i] - positions[j], axis=1)
        rsum = self.radii[i] + self.radii[j]
        need = [order_estimate(dd, rs, rtol) for dd, rs in zip(d, rsum)]
        worst = int(np.argmax(need))
        self._estimate = need[worst]
        if lmax is None and need[worst] > L_max:
            gap = d[worst] - rsum[worst]
            raise ValueError(
                f"spheres {i[worst]} and {j[worst]} have a gap of {gap:.4g} m "
                f"({gap / (0.5 * rsum[worst]):.3g} R): converging to rtol = {rtol:g} needs order "
                f"L ~ {need[worst]}, above the largest feasible here, {L_max}; allowed: a larger gap, "
                "a larger rtol, or model='dipole'"
            )
        close = [
            (a, b)
            for a, b, dd, rs in zip(i, j, d, rsum)
            if (self.gyrotropic[a] or self.gyrotropic[b]) and dd < 1.5 * rs * (1 - 1e-9)
        ]
        if close:
            a, b = close[0]
            warnings.warn(
                f"spheres {a} and {b} are closer than 3R and at least one is gyrotropic: its response is "
                "kept at electric-dipole order only (no closed-form multipoles for a gyrotropic sphere)",
                GyrotropicMultipoleWarning,
                stacklevel=4,
            )

    def responses(self, omega: np.ndarray, L: int) -> list[tmatrix.SphereResponse]:
        """Each sphere's T-matrix at omega (n,) rad/s and order L."""
        k = omega / sc.c
        out, done = [], {}
        for mat, R, gyro in zip(self.materials, self.radii, self.gyrotropic):
            key = (mat.fingerprint(), float(R))
            if key not in done:
                eps = mat.permittivity(omega, self.B)
                done[key] = (
                    tmatrix.dipole_response(polarizability(eps, R, omega), k)
                    if gyro
                    else tmatrix.isotropic_response(eps[:, 0, 0], R, k, L)
                )
            out.append(done[key])
        return out

    def cluster(self, L: int) -> tmatrix.Cluster:
        """The cluster's layout at order L, built once per order; the two orders used last are
        kept (the order search compares L with L + 1; a layout at L = 25 holds ~2 GB of tables)."""
        if L not in self._clusters:
            kept = [tmatrix.kept_modes(L, g) for g in self.gyrotropic]
            species = [(m.fingerprint(), float(R)) for m, R in zip(self.materials, self.radii)]
            self._clusters[L] = tmatrix.Cluster(
                self.frame, self.radii, L, self.kind, kept, species=species, isotropic=not any(self.gyrotropic)
            )
            while len(self._clusters) > 2:
                self._clusters.pop(next(iter(self._clusters)))
        return self._clusters[L]

    def spectra(
        self, omega: np.ndarray, environment: bool, L: int | None = None
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """T (n, N, N) and, with ``environment``, (T_in, T_out) (n, N), in chunks of frequency."""
        L = self.lmax if L is None else L
        cluster = self.cluster(L)
        n, N = len(omega), self.N
        work = sum(len(b) ** 2 for b in cluster.blocks)
        step = max(1, int(_CHUNK_BYTES // (16 * _WORK_ARRAYS * work)))
        T = np.empty((n, N, N))
        T_in, T_out = (np.empty((n, N)), np.empty((n, N))) if environment else (None, None)
        for start in range(0, n, step):
            sl = slice(start, min(n, start + step))
            res = cluster.spectra(omega[sl] / sc.c, self.responses(omega[sl], L), environment)
            if environment:
                T[sl], T_in[sl], T_out[sl] = res
            else:
                T[sl] = res
        return (T, T_in, T_out) if environment else T

    def _closest_pair_order(self, rtol: float) -> int:
        """The automatic order of the closest pair alone (smallest d / (R_i + R_j)): the full
        cluster's search starts there, since the closest gap sets the order a cluster needs."""
        i, j = np.triu_indices(self.N, 1)
        d = np.linalg.norm(self.frame[i] - self.frame[j], axis=1) / (self.radii[i] + self.radii[j])
        a, b = i[np.argmin(d)], j[np.argmin(d)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GyrotropicMultipoleWarning)
            pair = MultipoleModel(
                self.frame[[a, b]],
                self.radii[[a, b]],
                [self.materials[a], self.materials[b]],
                self.B,
                None,
                rtol,
                self._characteristic,
                self._omega_range,
            )
        return pair.lmax

    def _choose_order(self, rtol: float) -> tuple[int, float]:
        x, wq = np.polynomial.legendre.leggauss(5)
        a, b = self._root[:-1, None], self._root[1:, None]
        omega = (0.5 * (a + b) + 0.5 * (b - a) * x).ravel()
        weights = ((0.5 * (b - a) * wq).ravel() / (2 * np.pi)) * dtheta_dT(omega, T_REF)
        L_max = largest_feasible_order(self.N, self.kind)
        known: dict[int, np.ndarray] = {}

        def G(L):
            if L not in known:
                known[L] = np.einsum("n,nij->ij", weights, self.spectra(omega, False, L))
            return known[L]

        def change(L):
            hi = G(L + 1)
            scale = np.maximum(np.abs(hi), 1e-6 * np.abs(hi).max()) if hi.any() else np.ones_like(hi)
            return float((np.abs(hi - G(L)) / scale).max())

        L = max(1, min(self._estimate - 2, L_max - 1))
        if self.N > 2:
            L = min(self._closest_pair_order(rtol), L_max - 1)
        history = []
        while L < L_max:
            c = change(L)
            if c < rtol:
                return L, c
            history.append((L, c))
            step = 1
            if len(history) >= 2 and history[-2][0] == L - 1 and 0 < c < history[-2][1]:
                # the changes fall geometrically: jump to one below where they reach rtol
                q = c / history[-2][1]
                step = max(1, int(math.log(rtol / c) / math.log(q)) - 1)
            L = min(L + step, L_max - 1) if L + 1 < L_max else L_max
        raise ValueError(
            f"the multipole order did not converge to rtol = {rtol:g} by L = {L_max}, the largest "
            f"feasible here (last relative change {history[-1][1]:.2g}); allowed: a larger rtol, a "
            "larger gap or model='dipole'"
        )


def _is_gyrotropic(material, B: float, characteristic) -> bool:
    """Whether the permittivity tensor is anything but a multiple of 1 at the probe frequencies."""
    probe = np.concatenate([np.asarray(characteristic, float) * 1.01, [1e13, 1e14, 1e15]])
    eps = material.permittivity(probe, B)
    iso = eps[:, 0, 0][:, None, None] * np.eye(3)
    return not np.allclose(eps, iso, rtol=0, atol=1e-14 * np.abs(eps).max())
