"""A network of nanoparticles exchanging heat by thermal photons (dipoles: the formulas are in
``sim.radiative.polarizability`` and ``green``; multipoles: ``sim.radiative.tmatrix``).

    net = Network(positions, radii, materials, B=0.0, model="multipole" | "dipole", lmax=None)

computes the many-body transmissions T_ij(w) ([i, j]: from j to i), the environment
terms, and their spectral integrals (conductances, powers, persistent currents, and
the Phi_ij(T) tables a time stepper needs). It holds no temperatures: the temperature
dynamics is a separate layer built on ``power_table``.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants as sc

from sim.radiative import transmission_kernels
from sim.radiative.materials import Material, get_material
from sim.radiative.multipole import MultipoleModel
from sim.radiative.polarizability import emission_absorption, polarizability
from sim.radiative.spectra import (
    X_MAX,
    Integral,
    PanelStore,
    cache_key,
    default_cache_dir,
    dtheta_dT,
    integrate,
    root_breakpoints,
    theta,
)
from sim.validation import check_choice, check_finite, check_int, check_positive

#: bumped whenever the formulas change, so stale cached spectra are never reused
SPECTRA_VERSION = 1
#: the same for the multipole model's spectra
MULTIPOLE_VERSION = 2
MODELS = ("dipole", "multipole")
#: memory for the per-chunk (n, 3N, 3N) work arrays of the fast path, bytes
_CHUNK_BYTES = 256e6


class DipoleApproximationWarning(UserWarning):
    """Particles closer than ~3R (centre distance): the dipole model is only qualitative."""


class SpectralResult(np.ndarray):
    """An ndarray (the value of a spectral integral) carrying its estimated error.

    Attributes
    ----------
    rel_error : float
        Relative to each entry, or to 1e-6 of the largest entry for tiny ones.
    abs_error : ndarray
        Same shape and unit as the value.
    n_frequencies : int
        Spectral samples the integral rests on.
    """

    def __new__(cls, value: ArrayLike, abs_error: ArrayLike, rel_error: float, n_frequencies: int) -> SpectralResult:
        obj = np.asarray(value, dtype=float).view(cls)
        obj.abs_error = np.asarray(abs_error, dtype=float)
        obj.rel_error = float(rel_error)
        obj.n_frequencies = int(n_frequencies)
        return obj

    def __array_finalize__(self, obj: np.ndarray | None) -> None:
        if obj is not None:
            self.abs_error = getattr(obj, "abs_error", None)
            self.rel_error = getattr(obj, "rel_error", None)
            self.n_frequencies = getattr(obj, "n_frequencies", None)


class Network:
    """N spheres at arbitrary positions, with arbitrary radii and materials, in a field B along z.

    Parameters
    ----------
    positions : array_like of shape (N, 3)
        Centre positions, m.
    radii : array_like of shape (N,), or float
        Sphere radii R, m (> 0).
    materials : str, Material, or a sequence of N of those
        A preset name (``materials.PRESETS``: "SiC", "Au", "InSb", ...) or a ``Material``,
        one for all spheres or one per sphere (mixed networks).
    B : float
        Magnetic field along +z, tesla (affects magneto-optical materials only).
    model : {"multipole", "dipole"}
        "multipole" (the default): vector spherical waves to order ``lmax`` with Mie
        T-matrices, electric and magnetic (``sim.radiative.tmatrix``); ``lmax=1`` is the
        electric + magnetic dipole model. "dipole": electric dipoles only, exact for small,
        well-separated spheres, qualitative below a centre distance of ~3R, and without gold's
        magnetic dipole. Gyrotropic spheres (InSb in a field) keep their electric-dipole block
        in both.
    lmax : int or None
        Multipole order (>= 1), or None to choose it automatically: an order whose conductances
        at 300 K change by less than ``rtol`` at the next order (the search is in
        ``sim.radiative.multipole``); the order used is ``net.lmax`` and that change
        ``net.order_change``. Dipole model: None.
    rtol : float
        Convergence target of the automatic order (multipole model only).
    cache_dir : str, Path or None
        Where sampled spectra are cached; default $SIM_CACHE_DIR or ~/.cache/sim/spectra.
    cache : bool
        False keeps spectra in memory only.

    Raises
    ------
    ValueError
        For overlapping spheres (centre distance < R_i + R_j), non-finite positions,
        R <= 0, unknown materials or model, lmax < 1, an order whose memory exceeds the
        machine, or a gap too small for any feasible order.

    Warns
    -----
    DipoleApproximationWarning
        Dipole model, a centre distance below 1.5 (R_i + R_j) (3R for equal spheres).
    GyrotropicMultipoleWarning
        Multipole model, a gyrotropic sphere (kept at electric-dipole order) that close to another.

    Notes
    -----
    The environment (vacuum field at T_env) is not part of ``conductance``/``power_table``
    (Ben-Abdallah neglects it); ``environment_transmission`` and ``environment_power_table`` give it.
    """

    def __init__(
        self,
        positions: ArrayLike,
        radii: ArrayLike,
        materials: str | Material | Sequence[str | Material],
        B: float = 0.0,
        *,
        model: str = "multipole",
        lmax: int | None = None,
        rtol: float = 1e-4,
        cache_dir: str | Path | None = None,
        cache: bool = True,
    ):
        pos = check_finite("positions", positions)
        if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) < 1:
            raise ValueError(f"positions has shape {pos.shape}; allowed: (N, 3) with N >= 1, in m")
        N = len(pos)
        R = check_positive("radii", radii, unit="m")
        R = np.broadcast_to(R, (N,)).copy() if R.ndim == 0 else R
        if R.shape != (N,):
            raise ValueError(f"radii has shape {R.shape}; allowed: ({N},) to match positions, or a scalar")
        if isinstance(materials, (str, Material)):
            materials = [materials] * N
        materials = [get_material(m) for m in materials]
        if len(materials) != N:
            raise ValueError(f"materials has {len(materials)} entries; allowed: 1 or N = {N}")
        self.positions, self.radii, self.materials = pos, R, materials
        self._fingerprints = [m.fingerprint() for m in materials]
        self.B = float(check_finite("B", B))
        self.N = N
        self.model = check_choice("model", model, MODELS)
        if lmax is not None:
            lmax = check_int("lmax", lmax, low=1)
            if model == "dipole":
                raise ValueError(
                    f"lmax = {lmax} is given with model = 'dipole'; allowed: lmax = None there, or model = 'multipole'"
                )
        rtol = float(check_positive("rtol", rtol))
        self._check_geometry()
        self.omega_range = (max(m.omega_range[0] for m in materials), min(m.omega_range[1] for m in materials))
        if not self.omega_range[0] < self.omega_range[1]:
            raise ValueError(f"the materials' tabulated frequency ranges do not overlap: {self.omega_range}")
        self._multipole = None
        self.lmax, self.order_change = None, None
        self._cache_dir = None if not cache else (default_cache_dir() if cache_dir is None else cache_dir)
        if model == "multipole":
            remembered = self._remembered_order(rtol) if lmax is None else None
            self._multipole = MultipoleModel(
                pos,
                R,
                materials,
                self.B,
                remembered["lmax"] if remembered else lmax,
                rtol,
                self.characteristic_frequencies(),
                self.omega_range,
            )
            self.lmax = self._multipole.lmax
            self.order_change = remembered["order_change"] if remembered else self._multipole.order_change
            if lmax is None and not remembered:
                self._remember_order(rtol)
        self._stores: dict[str, PanelStore] = {}

    def _check_geometry(self) -> None:
        if self.N < 2:
            return
        i, j = np.triu_indices(self.N, 1)
        d = np.linalg.norm(self.positions[i] - self.positions[j], axis=1)
        contact = self.radii[i] + self.radii[j]
        bad = np.nonzero(d < contact * (1 - 1e-12))[0]
        if bad.size:
            b = bad[0]
            raise ValueError(
                f"particles {i[b]} and {j[b]} overlap: centre distance {d[b]:.4g} m < "
                f"R_{i[b]} + R_{j[b]} = {contact[b]:.4g} m; allowed: distance >= sum of radii"
            )
        close = np.nonzero(d < 1.5 * contact * (1 - 1e-9))[0]  # exactly 3R is fine
        if close.size and self.model == "dipole":
            b = close[0]
            warnings.warn(
                f"particles {i[b]} and {j[b]} are {d[b] / (0.5 * contact[b]):.2f} R apart (centre "
                f"distance, {close.size} pair(s) below 3R): the dipole approximation is only "
                "qualitative there",
                DipoleApproximationWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------------ automatic order, cached
    def _order_path(self, rtol: float) -> Path | None:
        """Where the automatic order of this geometry and rtol is kept (beside its spectra): the
        search costs about as much as the spectra, and a cached spectrum needs its order."""
        if self._cache_dir is None:
            return None
        desc = json.dumps(
            {"geometry": json.loads(self._base_description()), "rtol": rtol, "multipole_version": MULTIPOLE_VERSION},
            sort_keys=True,
        )
        return Path(self._cache_dir) / f"{cache_key(desc)}-order.json"

    def _remembered_order(self, rtol: float) -> dict | None:
        path = self._order_path(rtol)
        try:
            found = json.loads(path.read_text()) if path is not None else None
            if not (isinstance(found, dict) and isinstance(found.get("lmax"), int)):
                return None
            os.utime(path)  # a read is a use: the cache's pruning removes the least recently used
            return found
        except (OSError, ValueError):
            return None  # absent or unreadable: search again

    def _remember_order(self, rtol: float) -> None:
        path = self._order_path(rtol)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".json.tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump({"lmax": self.lmax, "order_change": self.order_change}, fh)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ spectra
    def particle_response(self, omega: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(alpha, chi_em, chi_abs), each (n, N, 3, 3) complex m^3, at omega (n,) rad/s."""
        omega = np.atleast_1d(omega)
        alpha = np.empty((len(omega), self.N, 3, 3), dtype=complex)
        done: dict[tuple[str, float], np.ndarray] = {}
        for i, (mat, fp, R) in enumerate(zip(self.materials, self._fingerprints, self.radii)):
            key = (fp, R)  # equal particles share one polarizability evaluation
            if key not in done:
                done[key] = polarizability(mat.permittivity(omega, self.B), R, omega)
            alpha[:, i] = done[key]
        chi_em, chi_abs = emission_absorption(alpha, omega[:, None])
        return alpha, chi_em, chi_abs

    def _chunk_size(self, arrays: int) -> int:
        """Frequencies per chunk so that ``arrays`` (n, 3N, 3N) complex work arrays fit _CHUNK_BYTES."""
        return max(1, int(_CHUNK_BYTES // (arrays * (3 * self.N) ** 2 * 16)))

    def _spectra(self, omega: np.ndarray, environment: bool):
        """Fast path: T (n, N, N) and, with ``environment``, (T_in, T_out) (n, N).

        Streams over frequency chunks with work arrays allocated once, so memory stays
        O(chunk * (3N)^2) however many frequencies are asked for. The multipole model streams
        its own chunks (``MultipoleModel.spectra``).
        """
        if self._multipole is not None:
            return self._multipole.spectra(omega, environment)
        n, N, m = len(omega), self.N, 3 * self.N
        T = np.empty((n, N, N))
        T_in = np.empty((n, N)) if environment else None
        T_out = np.empty((n, N)) if environment else None
        # G, M and the solve's copies of both plus its result; the environment needs ~4 more
        step = min(n, self._chunk_size(9 if environment else 5))
        G = np.empty((step, m, m), dtype=complex)
        M = np.empty_like(G)
        for start in range(0, n, step):
            c = min(step, n - start)
            sl = slice(start, start + c)
            k = omega[sl] / sc.c
            alpha, chi_em, chi_abs = self.particle_response(omega[sl])
            transmission_kernels.assemble_system(k, self.positions, alpha, G[:c], M[:c])
            Gd = np.linalg.solve(M[:c], G[:c])
            transmission_kernels.pair_transmission(k, Gd, chi_abs, chi_em, T[sl])
            if environment:
                T_in[sl], T_out[sl] = _environment_terms(k, G[:c], Gd, alpha, chi_em, chi_abs)
        return (T, T_in, T_out) if environment else T

    def transmission(self, omega: ArrayLike) -> np.ndarray:
        """T_ij(w), dimensionless, [i, j] from j to i (zero diagonal): (N, N) for a scalar
        omega (rad/s), (n, N, N) for an array. 0 <= T_ij <= 3."""
        w = check_positive("omega", omega, unit="rad/s")
        T = self._spectra(np.atleast_1d(w).ravel(), environment=False)
        return T[0] if w.ndim == 0 else T.reshape(w.shape + (self.N, self.N))

    def environment_transmission(self, omega: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(T_in, T_out): T_i<-env and T_env<-i (docs/model.md §B3), each (N,) for a scalar omega
        (rad/s) or (n, N). Sum rule: sum_j T_ij + T_in_i = sum_j T_ji + T_out_i."""
        w = check_positive("omega", omega, unit="rad/s")
        _, T_in, T_out = self._spectra(np.atleast_1d(w).ravel(), environment=True)
        if w.ndim == 0:
            return T_in[0], T_out[0]
        return T_in.reshape(w.shape + (self.N,)), T_out.reshape(w.shape + (self.N,))

    # ------------------------------------------------------------------ integrals
    def characteristic_frequencies(self) -> np.ndarray:
        """Sorted resonance/pole frequencies (rad/s) of all materials at this field."""
        unique = dict(zip(self._fingerprints, self.materials))
        return np.unique(np.concatenate([m.characteristic_frequencies(self.B) for m in unique.values()]))

    def description(self) -> str:
        """JSON text of everything the spectra depend on (the cache key is its hash)."""
        desc = json.loads(self._base_description())
        if self.model == "multipole":  # the dipole model's keys are unchanged, so its cache stays valid
            desc.update(model="multipole", lmax=self.lmax, multipole_version=MULTIPOLE_VERSION)
        return json.dumps(desc, sort_keys=True)

    def _base_description(self) -> str:
        """JSON text of the geometry, materials and field (the dipole model's cache key text)."""
        return json.dumps(
            {
                "version": SPECTRA_VERSION,
                "positions": self.positions.tolist(),
                "radii": self.radii.tolist(),
                "B": self.B,
                "materials": self._fingerprints,
            },
            sort_keys=True,
        )

    def _store(self, kind: str) -> PanelStore:
        if kind not in self._stores:
            path = None
            if self._cache_dir is not None:
                path = Path(self._cache_dir) / f"{cache_key(self.description())}-{kind}.npz"
            if kind == "pairs":
                store = PanelStore(lambda w: self._spectra(w, False).reshape(len(w), -1), self.N**2, path)
            else:
                store = PanelStore(lambda w: np.concatenate(self._spectra(w, True)[1:], axis=1), 2 * self.N, path)
            self._stores[kind] = store
        return self._stores[kind]

    def spectral_integral(
        self,
        kind: str,
        weights: Callable[[np.ndarray], np.ndarray],
        T_max: float,
        rtol: float,
        combine: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Integral:
        """int_0^inf dw/(2 pi) weights(w) S(w) over the sampled spectra S, adaptively to rtol.

        kind: "pairs" (S = T_ij(w), N*N components, [i, j] flattened) or "env" (S = T_i<-env
        then T_env<-i, 2N components). weights(w) maps (n,) rad/s to (m, n) weights, so one
        set of frequency nodes serves m integrands; T_max (K) sets the top of the range
        (hbar w = 50 kB T_max). Returns the ``sim.radiative.spectra.Integral`` (value (m, n_S)).
        """
        check_positive("rtol", rtol)
        top = X_MAX * sc.k * T_max / sc.hbar
        bp = root_breakpoints(self.characteristic_frequencies(), self.omega_range, top)
        return integrate(self._store(kind), bp, weights, rtol=rtol, combine=combine)

    def conductance(self, T: ArrayLike, rtol: float = 1e-4) -> SpectralResult:
        """G_ij(T) = int_0^inf dw/(2 pi) dTheta/dT(w, T) T_ij(w), (N, N) in W/K, at T in K.

        The heat from j to i grows by G_ij per kelvin that T_j rises (zero diagonal). The
        result carries ``rel_error``, the integration's estimated relative error (<= rtol).
        """
        T = float(check_positive("T", T, unit="K"))
        res = self.spectral_integral("pairs", lambda w: dtheta_dT(w, T)[None], T, rtol)
        N = self.N
        return SpectralResult(
            res.value[0].reshape(N, N), res.abs_error[0].reshape(N, N), res.rel_error, res.n_frequencies
        )

    def environment_conductance(self, T: ArrayLike, rtol: float = 1e-4) -> tuple[SpectralResult, SpectralResult]:
        """(G_in, G_out), each (N,) W/K: int dw/(2 pi) dTheta/dT(w, T) T_i<-env and T_env<-i."""
        T = float(check_positive("T", T, unit="K"))
        res = self.spectral_integral("env", lambda w: dtheta_dT(w, T)[None], T, rtol)
        N = self.N
        return tuple(
            SpectralResult(res.value[0, s], res.abs_error[0, s], res.rel_error, res.n_frequencies)
            for s in (slice(0, N), slice(N, 2 * N))
        )

    def power_table(self, T_grid: ArrayLike, rtol: float = 1e-4) -> SpectralResult:
        """Phi_ij(T) = int dw/(2 pi) Theta(w, T) T_ij(w), (nT, N, N) in W, on T_grid (nT,) in K.

        Net power into particle i: P_i = sum_j [Phi_ij(T_j) - Phi_ji(T_i)] (+ environment
        terms). All temperatures share one set of sampled spectra.
        """
        Tg = np.atleast_1d(check_positive("T_grid", T_grid, unit="K")).ravel()
        res = self.spectral_integral("pairs", lambda w: theta(w[None, :], Tg[:, None]), Tg.max(), rtol)
        shape = (len(Tg), self.N, self.N)
        return SpectralResult(res.value.reshape(shape), res.abs_error.reshape(shape), res.rel_error, res.n_frequencies)

    def environment_power_table(self, T_grid: ArrayLike, rtol: float = 1e-4) -> tuple[SpectralResult, SpectralResult]:
        """(Phi_in, Phi_out), each (nT, N) in W: int dw/(2 pi) Theta(w, T) T_i<-env (power the
        environment at T sends into i) and T_env<-i (power i at T radiates away)."""
        Tg = np.atleast_1d(check_positive("T_grid", T_grid, unit="K")).ravel()
        res = self.spectral_integral("env", lambda w: theta(w[None, :], Tg[:, None]), Tg.max(), rtol)
        N = self.N
        return tuple(
            SpectralResult(res.value[:, s], res.abs_error[:, s], res.rel_error, res.n_frequencies)
            for s in (slice(0, N), slice(N, 2 * N))
        )

    def powers(self, temperatures: ArrayLike, T_env: float | None = None, rtol: float = 1e-4) -> SpectralResult:
        """Net power into each particle (N,) in W at particle temperatures (N,) K (docs/model.md §B4).

        T_env (K) adds the exchange with the environment; None neglects it (as Ben-Abdallah did).
        """
        Ts = check_positive("temperatures", temperatures, unit="K")
        if Ts.shape != (self.N,):
            raise ValueError(f"temperatures has shape {Ts.shape}; allowed: ({self.N},)")
        grid, idx = np.unique(Ts, return_inverse=True)
        Phi = self.power_table(grid, rtol)
        rows = np.arange(self.N)
        # P_i = sum_j Phi_ij(T_j) - sum_j Phi_ji(T_i)
        P = Phi[idx[None, :], rows[:, None], rows[None, :]].view(np.ndarray).sum(axis=1) - Phi[
            idx[:, None], rows[None, :], rows[:, None]
        ].view(np.ndarray).sum(axis=1)
        err = Phi.abs_error[idx[None, :], rows[:, None], rows[None, :]].sum(axis=1) + Phi.abs_error[
            idx[:, None], rows[None, :], rows[:, None]
        ].sum(axis=1)
        rel = Phi.rel_error
        if T_env is not None:
            T_env = float(check_positive("T_env", T_env, unit="K"))
            Phi_in, Phi_out = self.environment_power_table(np.append(grid, T_env), rtol)
            P = P + Phi_in[-1] - Phi_out[idx, rows]
            err = err + Phi_in.abs_error[-1] + Phi_out.abs_error[idx, rows]
            rel = max(rel, Phi_in.rel_error)
        return SpectralResult(P, err, rel, Phi.n_frequencies)

    def persistent_currents(self, T: ArrayLike, rtol: float = 1e-4) -> SpectralResult:
        """Net heat from i to j at uniform temperature T (K), (N, N) in W, antisymmetric:
        [i, j] = int dw/(2 pi) Theta(w, T) [T_ji(w) - T_ij(w)]. Zero for reciprocal networks
        (B = 0); nonzero but divergence-free (every particle's net power is 0) in a
        nonreciprocal one. ``rel_error`` is relative to the largest pair power Phi_ij(T)."""
        T = float(check_positive("T", T, unit="K"))
        N = self.N

        def with_antisymmetric(vals):
            v = vals.reshape(vals.shape[:2] + (N, N))
            return np.concatenate([vals, (v.swapaxes(-1, -2) - v).reshape(vals.shape)], axis=2)

        res = self.spectral_integral("pairs", lambda w: theta(w, T)[None], T, rtol, combine=with_antisymmetric)
        # the floor is set by the pair powers (first half), so tiny currents get an absolute tolerance
        cur, err = res.value[0, N * N :].reshape(N, N), res.abs_error[0, N * N :].reshape(N, N)
        scale = np.abs(res.value[0, : N * N]).max()
        rel = float(err.max() / scale) if scale > 0 else 0.0
        return SpectralResult(cur, err, rel, res.n_frequencies)

    @property
    def heat_capacities(self) -> np.ndarray:
        """C_i = rho c_p V (N,) in J/K from the material defaults."""
        return np.array([m.heat_capacity(R) for m, R in zip(self.materials, self.radii)])


def _environment_terms(k, G, Gd, alpha, chi_em, chi_abs):
    """T_i<-env and T_env<-i (n, N) from docs/model.md §B3, batched NumPy, using the dressed Gd
    for M = (1 - k^2 G A)^-1 = 1 + k^2 Gd A and D = (1 - k^2 A G)^-1 = 1 + k^2 A Gd."""
    n, N = alpha.shape[:2]
    m = 3 * N
    k2 = (k**2)[:, None, None]
    eye = np.eye(m)
    Gd5 = Gd.reshape(n, N, 3, N, 3)
    M = eye + k2 * np.einsum("niajc,njcb->niajb", Gd5, alpha).reshape(n, m, m)
    D = eye + k2 * np.einsum("niac,nicjb->niajb", alpha, Gd5).reshape(n, m, m)
    ImG = (G - np.conj(G.swapaxes(1, 2))) / 2j
    ImG[:, np.arange(m), np.arange(m)] += (k / (6 * np.pi))[:, None]
    # incoming: diagonal blocks of M ImG M^H; outgoing: diagonal blocks of D^H ImG D
    X = np.einsum("nial,nibl->niab", (M @ ImG).reshape(n, N, 3, m), np.conj(M).reshape(n, N, 3, m))
    Y = np.einsum("nlia,nlib->niab", np.conj(D).reshape(n, m, N, 3), (ImG @ D).reshape(n, m, N, 3))
    T_in = 4 * k2[:, :, 0] * np.einsum("niab,niba->ni", chi_abs, X).real
    T_out = 4 * k2[:, :, 0] * np.einsum("niab,niba->ni", chi_em, Y).real
    return T_in, T_out
