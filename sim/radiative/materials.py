"""Dielectric functions of the particle materials (docs/model.md §B1).

Every material returns its relative permittivity as a 3x3 tensor per frequency,
``permittivity(omega, B) -> (n, 3, 3)`` complex, with the time dependence exp(-i w t)
(so Im eps > 0 for a lossy material). The magnetic field B (tesla) points along +z;
only magneto-optical materials (InSb) depend on it.

Each material also carries what the heat capacity needs (``density`` in kg/m^3,
``specific_heat`` in J/(kg K)), a ``source`` line, and ``characteristic_frequencies(B)``:
the poles and surface-mode (Froehlich, magnetoplasmon) frequencies at which the
spectral integration splits its range.

Presets (``get_material(name)``):

- ``"SiC"``: Lorentz phonon model, eps_inf 6.7, wL 1.825e14, wT 1.494e14, G 8.966e11 rad/s
  (Spitzer et al.; Palik's handbook; as used by Ben-Abdallah).
- ``"Au"``: Drude, wp 1.371e16, gamma 4.05e13 rad/s (Ben-Abdallah's values, also Chapuis et
  al., PRB 77, 035431 (2008)); ``"Au-g5.32"`` uses the other common damping 5.32e13.
  Electric dipole only: for metal particles the magnetic (eddy-current) dipole dominates
  the infrared exchange (Chapuis et al. 2008), which this model leaves out, so Au
  results underestimate the true exchange.
- ``"InSb"``: gyrotropic phonon + free-carrier model in a field, Ben-Abdallah's carriers
  (n 1.36e19 cm^-3, m_eff 7.29e-32 kg, gamma 1e12 rad/s; resonances near 11 um).
  ``"InSb-Palik"``: Palik's carriers (n 1.07e17 cm^-3, m_eff 0.022 m_e, gamma 3.39e12).

Custom materials: ``DrudeLorentz`` (sums of Drude and Lorentz terms, with ``Drude`` and
``Lorentz`` shorthands) and ``Tabulated`` (eps(w) read from a file).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants as sc
from scipy.optimize import brentq

from sim.validation import check_choice, check_finite, check_positive, check_range

# Frequency window scanned for surface-mode resonances, rad/s (far IR to UV).
_SCAN_RANGE = (1e11, 1e17)


def _omega_array(omega) -> np.ndarray:
    return np.atleast_1d(check_positive("omega", omega, unit="rad/s"))


class Material:
    """Base class: subclasses implement ``principal_permittivities`` (and, when the tensor
    is not diagonal, ``permittivity``).

    Attributes: ``name``; ``density`` kg/m^3; ``specific_heat`` J/(kg K); ``source``.
    """

    name: str = "material"
    density: float = float("nan")
    specific_heat: float = float("nan")
    source: str = ""
    #: valid frequency range (rad/s); models are valid everywhere, tables only on their range
    omega_range: tuple[float, float] = (0.0, float("inf"))

    def principal_permittivities(self, omega: ArrayLike, B: float = 0.0) -> np.ndarray:
        """Eigen-permittivities for the field's polarisations, (n, 3) complex.

        For an isotropic material all three are eps(w); for a gyrotropic one they are the
        two circular ones and the one along B.
        """
        raise NotImplementedError

    def permittivity(self, omega: ArrayLike, B: float = 0.0) -> np.ndarray:
        """Relative permittivity tensor, (n, 3, 3) complex, for omega (n,) in rad/s and B in T."""
        eps = self.principal_permittivities(omega, B)
        out = np.zeros(eps.shape[:1] + (3, 3), dtype=complex)
        out[:, [0, 1, 2], [0, 1, 2]] = eps
        return out

    @property
    def params(self) -> dict:
        """The parameters that define eps (used for the cache key and the docs)."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """Stable text identifying the dielectric function (cache keys)."""
        return json.dumps({"class": type(self).__name__, "params": self.params}, sort_keys=True)

    def poles(self, B: float = 0.0) -> list[float]:
        """Explicit pole/zero frequencies of the model (rad/s); tables have none."""
        return []

    def characteristic_frequencies(self, B: float = 0.0) -> np.ndarray:
        """Sorted frequencies (rad/s) where spectra have structure: the model's poles and
        zeros plus the sphere's surface modes, Re(eps_principal) = -2 (Froehlich and
        magnetoplasmon resonances), found by a scan over 1e11..1e17 rad/s."""
        lo = max(_SCAN_RANGE[0], self.omega_range[0] * 1.0000001)
        hi = min(_SCAN_RANGE[1], self.omega_range[1] * 0.9999999)
        grid = np.geomspace(lo, hi, 4000)
        f = self.principal_permittivities(grid, B).real + 2.0
        found = [w for w in self.poles(B) if lo <= w <= hi]
        for c in range(3):
            for s in np.nonzero(np.sign(f[:-1, c]) != np.sign(f[1:, c]))[0]:
                # a sign change across a pole of Re eps is not a surface mode
                if abs(f[s, c]) + abs(f[s + 1, c]) > 1e3:
                    continue
                found.append(
                    brentq(
                        lambda w, c=c: self.principal_permittivities(w, B)[0, c].real + 2.0,
                        grid[s],
                        grid[s + 1],
                        xtol=1e-6 * grid[s],
                    )
                )
        return np.unique(np.asarray(found, dtype=float))

    def heat_capacity(self, radius: ArrayLike) -> np.ndarray:
        """Heat capacity rho*c_p*V (J/K) of spheres of the given radius (m)."""
        R = check_positive("radius", radius, unit="m")
        return self.density * self.specific_heat * 4.0 / 3.0 * np.pi * R**3

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


@dataclass(repr=False)
class DrudeLorentz(Material):
    """eps(w) = eps_inf - sum_d wp_d^2 / (w (w + i g_d)) + sum_l f_l w_l^2 / (w_l^2 - w^2 - i g_l w).

    Parameters
    ----------
    eps_inf : high-frequency permittivity (dimensionless, > 0).
    drude : sequence of (wp, gamma) in rad/s: plasma frequency and damping of each free-carrier term.
    lorentz : sequence of (f, w0, gamma): dimensionless strength, resonance and damping in rad/s.
    name, density (kg/m^3), specific_heat (J/(kg K)), source: metadata; density and specific
        heat are needed only for heat capacities.
    """

    eps_inf: float = 1.0
    drude: tuple = ()
    lorentz: tuple = ()
    name: str = "Drude-Lorentz"
    density: float = float("nan")
    specific_heat: float = float("nan")
    source: str = "user defined"
    extra_poles: tuple = field(default=())

    def __post_init__(self):
        check_positive("eps_inf", self.eps_inf)
        self.drude = tuple(
            (
                float(check_positive("wp", wp, "rad/s")),
                float(check_range("gamma", g, 0.0, low_inclusive=True, unit="rad/s")),
            )
            for wp, g in self.drude
        )
        self.lorentz = tuple(
            (
                float(check_range("f", f, 0.0, low_inclusive=True)),
                float(check_positive("w0", w0, "rad/s")),
                float(check_range("gamma", g, 0.0, low_inclusive=True, unit="rad/s")),
            )
            for f, w0, g in self.lorentz
        )

    def eps(self, omega: ArrayLike) -> np.ndarray:
        """Scalar permittivity (n,) complex."""
        w = _omega_array(omega)
        e = np.full(w.shape, self.eps_inf, dtype=complex)
        for wp, g in self.drude:
            e -= wp**2 / (w * (w + 1j * g))
        for f, w0, g in self.lorentz:
            e += f * w0**2 / (w0**2 - w**2 - 1j * g * w)
        return e

    def principal_permittivities(self, omega: ArrayLike, B: float = 0.0) -> np.ndarray:
        return np.repeat(self.eps(omega)[:, None], 3, axis=1)

    @property
    def params(self) -> dict:
        return {"eps_inf": self.eps_inf, "drude": self.drude, "lorentz": self.lorentz}

    def poles(self, B: float = 0.0) -> list[float]:
        return [w0 for _, w0, _ in self.lorentz] + list(self.extra_poles)


def Drude(wp: float, gamma: float, eps_inf: float = 1.0, **meta: str | float) -> DrudeLorentz:
    """Free-carrier metal: eps = eps_inf - wp^2/(w (w + i gamma)); wp, gamma in rad/s."""
    return DrudeLorentz(eps_inf=eps_inf, drude=((wp, gamma),), name=meta.pop("name", "Drude"), **meta)


def Lorentz(eps_inf: float, oscillators: Iterable[tuple[float, float, float]], **meta: str | float) -> DrudeLorentz:
    """Polar dielectric: eps = eps_inf + sum f w0^2/(w0^2 - w^2 - i gamma w); oscillators = [(f, w0, gamma)]."""
    return DrudeLorentz(eps_inf=eps_inf, lorentz=tuple(oscillators), name=meta.pop("name", "Lorentz"), **meta)


def phonon_polariton(eps_inf: float, wL: float, wT: float, gamma: float, **meta: str | float) -> DrudeLorentz:
    """eps = eps_inf (w^2 - wL^2 + i gamma w)/(w^2 - wT^2 + i gamma w), written as one Lorentz term
    of strength eps_inf (wL^2 - wT^2)/wT^2 at wT; wL (the zero of Re eps) becomes a split point."""
    check_range("wL", wL, low=wT, unit="rad/s")
    return DrudeLorentz(
        eps_inf=eps_inf, lorentz=((eps_inf * (wL**2 - wT**2) / wT**2, wT, gamma),), extra_poles=(float(wL),), **meta
    )


@dataclass(repr=False)
class InSb(Material):
    """Magneto-optical InSb (docs/model.md §B1), B along +z (tesla):

        eps = [[e1, +i e2, 0], [-i e2, e1, 0], [0, 0, e3]]
        L  = eps_inf (1 + (wL^2 - wT^2)/(wT^2 - w^2 - i Gam w))
        e1 = L + eps_inf wp^2 (w + i g)/(w (wc^2 - (w + i g)^2))
        e2 = eps_inf wp^2 wc/(w ((w + i g)^2 - wc^2))
        e3 = L - eps_inf wp^2/(w (w + i g))
        wp^2 = n e^2/(m_eff eps0 eps_inf),  wc = e B/m_eff

    B -> -B flips e2, i.e. transposes eps. Parameters: ``carriers`` "seed" (n = 1.36e19 cm^-3,
    m_eff = 7.29e-32 kg, g = 1e12 rad/s; Ben-Abdallah 2019 after Zhu & Fan 2016) or "Palik"
    (n = 1.07e17 cm^-3, m_eff = 0.022 m_e, g = 3.39e12 rad/s; Palik's handbook).
    Phonons: eps_inf 15.7, wL 3.62e13, wT 3.39e13, Gam 5.65e11 rad/s.
    Density 5775 kg/m^3, specific heat 200 J/(kg K) (Ioffe NSM data archive, 300 K).
    """

    carriers: str = "seed"
    eps_inf: float = 15.7
    wL: float = 3.62e13
    wT: float = 3.39e13
    Gam: float = 5.65e11
    density: float = 5775.0
    specific_heat: float = 200.0

    _CARRIERS = {
        "seed": {
            "n": 1.36e25,
            "m_eff": 7.29e-32,
            "g": 1e12,
            "source": "Ben-Abdallah, arXiv:1904.10563 (2019); Zhu & Fan, PRL 117, 134303 (2016)",
        },
        "Palik": {
            "n": 1.07e23,
            "m_eff": 0.022 * sc.m_e,
            "g": 3.39e12,
            "source": "Palik, Handbook of Optical Constants of Solids (1985)",
        },
    }

    def __post_init__(self):
        check_choice("carriers", self.carriers, self._CARRIERS)
        c = self._CARRIERS[self.carriers]
        self.n, self.m_eff, self.g, self.source = c["n"], c["m_eff"], c["g"], c["source"]
        self.name = "InSb" if self.carriers == "seed" else "InSb-Palik"
        self.wp = np.sqrt(self.n * sc.e**2 / (self.m_eff * sc.epsilon_0 * self.eps_inf))

    def cyclotron_frequency(self, B: float) -> float:
        """wc = e B/m_eff in rad/s (signed with B)."""
        return sc.e * B / self.m_eff

    def _components(self, omega, B):
        w = _omega_array(omega)
        wc = self.cyclotron_frequency(check_finite("B", B))
        wg = w + 1j * self.g
        L = self.eps_inf * (1 + (self.wL**2 - self.wT**2) / (self.wT**2 - w**2 - 1j * self.Gam * w))
        pref = self.eps_inf * self.wp**2 / w
        e1 = L + pref * wg / (wc**2 - wg**2)
        e2 = pref * wc / (wg**2 - wc**2)
        e3 = L - pref / wg
        return e1, e2, e3

    def permittivity(self, omega: ArrayLike, B: float = 0.0) -> np.ndarray:
        e1, e2, e3 = self._components(omega, B)
        out = np.zeros(e1.shape + (3, 3), dtype=complex)
        out[:, 0, 0] = out[:, 1, 1] = e1
        out[:, 0, 1] = 1j * e2
        out[:, 1, 0] = -1j * e2
        out[:, 2, 2] = e3
        return out

    def principal_permittivities(self, omega: ArrayLike, B: float = 0.0) -> np.ndarray:
        e1, e2, e3 = self._components(omega, B)
        return np.stack([e1 + e2, e1 - e2, e3], axis=1)

    @property
    def params(self) -> dict:
        return {
            "carriers": self.carriers,
            "n": self.n,
            "m_eff": self.m_eff,
            "g": self.g,
            "eps_inf": self.eps_inf,
            "wL": self.wL,
            "wT": self.wT,
            "Gam": self.Gam,
        }

    def poles(self, B: float = 0.0) -> list[float]:
        wc = abs(self.cyclotron_frequency(B))
        return [self.wT, self.wL] + ([wc] if wc > 0 else [])


class Tabulated(Material):
    """Isotropic eps(w) interpolated (linearly in w, real and imaginary parts) from samples.

    Outside the sampled range eps is undefined: ``permittivity`` raises, and a Network
    integrates its spectra over the intersection of its materials' ranges only.

    Parameters: omega (n,) rad/s strictly increasing; eps (n,) complex; metadata as for
    DrudeLorentz.
    """

    def __init__(
        self,
        omega: ArrayLike,
        eps: ArrayLike,
        name: str = "table",
        density: float = float("nan"),
        specific_heat: float = float("nan"),
        source: str = "table",
    ):
        w = check_positive("omega", omega, unit="rad/s")
        e = np.asarray(eps, dtype=complex)
        check_finite("eps", e.view(float))
        if w.ndim != 1 or w.shape != e.shape or w.size < 2:
            raise ValueError(f"omega and eps must be 1-D of equal length >= 2; got shapes {w.shape} and {e.shape}")
        if np.any(np.diff(w) <= 0):
            i = int(np.nonzero(np.diff(w) <= 0)[0][0])
            raise ValueError(f"omega must be strictly monotone; entries {i} and {i + 1} are {w[i]!r} and {w[i + 1]!r}")
        self.omega, self.eps_values = w, e
        self.name, self.density, self.specific_heat, self.source = name, density, specific_heat, source
        self.omega_range = (float(w[0]), float(w[-1]))

    @classmethod
    def from_file(cls, path: str | os.PathLike, x_unit: str = "rad/s", **meta: str | float) -> Tabulated:
        """Read a whitespace/comma separated table; ``#`` starts a comment.

        Columns: x, Re eps, Im eps (three columns) or x, eps (two columns, eps real or a
        complex literal such as ``-3.1+0.2j``). ``x_unit`` is "rad/s" (angular frequency)
        or "um" (vacuum wavelength in micrometres). x must be strictly monotone
        (increasing or decreasing).
        """
        check_choice("x_unit", x_unit, ["rad/s", "um"])
        path = Path(path)
        try:
            lines = [ln.split("#", 1)[0].replace(",", " ").split() for ln in path.read_text().splitlines()]
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"permittivity table {str(path)!r} is unreadable: {err}") from err
        rows = [ln for ln in lines if ln]
        ncol = {len(r) for r in rows}
        if not rows or len(ncol) != 1 or ncol.pop() not in (2, 3):
            raise ValueError(
                f"permittivity table {str(path)!r}: need rows of 2 or 3 columns (x, Re eps, Im eps or x, eps)"
            )
        try:
            x = np.array([float(r[0]) for r in rows])
            if len(rows[0]) == 3:
                eps = np.array([float(r[1]) + 1j * float(r[2]) for r in rows])
            else:
                eps = np.array([complex(r[1]) for r in rows])
        except ValueError as err:
            raise ValueError(f"permittivity table {str(path)!r} has a non-numeric entry: {err}") from err
        if np.all(np.diff(x) < 0):
            x, eps = x[::-1], eps[::-1]
        elif not np.all(np.diff(x) > 0):
            raise ValueError(f"permittivity table {str(path)!r}: first column is not strictly monotone")
        if x_unit == "um":
            check_positive("wavelength", x, unit="um")
            x, eps = (2 * np.pi * sc.c / (x * 1e-6))[::-1], eps[::-1]
        meta.setdefault("name", path.stem)
        meta.setdefault("source", f"table {path.name}")
        return cls(x, eps, **meta)

    def eps(self, omega: ArrayLike) -> np.ndarray:
        w = _omega_array(omega)
        lo, hi = self.omega_range
        check_range("omega", w, lo, hi, low_inclusive=True, unit=f"rad/s (table {self.name!r})")
        return np.interp(w, self.omega, self.eps_values.real) + 1j * np.interp(w, self.omega, self.eps_values.imag)

    def principal_permittivities(self, omega: ArrayLike, B: float = 0.0) -> np.ndarray:
        return np.repeat(self.eps(omega)[:, None], 3, axis=1)

    @property
    def params(self) -> dict:
        digest = hashlib.sha256(self.omega.tobytes() + self.eps_values.tobytes()).hexdigest()
        return {"table_sha256": digest}


def SiC() -> DrudeLorentz:
    """6H-SiC phonon polariton (docs/model.md §B1): eps_inf 6.7, wL 1.825e14, wT 1.494e14,
    damping 8.966e11 rad/s. Density 3210 kg/m^3, c_p 690 J/(kg K) (Ioffe NSM archive)."""
    return phonon_polariton(
        6.7,
        1.825e14,
        1.494e14,
        8.966e11,
        name="SiC",
        density=3210.0,
        specific_heat=690.0,
        source="Spitzer et al., Phys. Rev. 113, 127 (1959); Palik (1985); Ben-Abdallah, arXiv:1904.10563",
    )


def Au(gamma: float = 4.05e13) -> DrudeLorentz:
    """Gold, Drude: wp 1.371e16 rad/s, damping 4.05e13 rad/s (Ben-Abdallah's values; Chapuis et al., PRB 77,
    035431 (2008)) or 5.32e13 (other common set). Density 19300 kg/m^3, c_p 129 J/(kg K).
    Electric dipole only: the magnetic (eddy-current) dipole that dominates for metal
    particles in the infrared (Chapuis et al. 2008) is not included."""
    name = "Au" if gamma == 4.05e13 else f"Au-g{gamma / 1e13:g}"
    return Drude(
        1.371e16,
        gamma,
        name=name,
        density=19300.0,
        specific_heat=129.0,
        source="Drude fit; Chapuis et al., PRB 77, 035431 (2008); Ben-Abdallah, arXiv:1904.10563",
    )


PRESETS = {
    "SiC": SiC,
    "Au": Au,
    "Au-g5.32": lambda: Au(5.32e13),
    "InSb": lambda: InSb("seed"),
    "InSb-Palik": lambda: InSb("Palik"),
}


def get_material(spec: str | Material) -> Material:
    """A Material from a preset name (see ``PRESETS``) or a Material instance."""
    if isinstance(spec, Material):
        return spec
    if not isinstance(spec, str):
        raise ValueError(
            f"material = {spec!r} is neither a preset name nor a Material; allowed: " + ", ".join(map(repr, PRESETS))
        )
    return PRESETS[check_choice("material", spec, PRESETS)]()
