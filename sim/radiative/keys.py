"""Configuration keys shared by the network scenarios (see ``sim.config_keys``), and the checks
of what only their combination can tell: one declaration each."""

from __future__ import annotations

from sim.config_keys import Key
from sim.radiative.materials import PRESETS, InSb

#: the keys of the drag geometry that drag-sic, drag-sic-au and conductance-vs-h share: the spheres, the
#: drive-dimer distances, both h grids, the sign-change bracketing
DIMER_KEYS = {
    "R": Key("radius of the four spheres", unit="m", low=0, low_open=True),
    "d_over_R": Key(
        "drive-dimer centre distances d run, over R (2: touching, always in the dipole model)", "numbers", low=2
    ),
    "h_min_over_R": Key(
        "smallest dimer separation h (centre distance of facing spheres) of the dipole rows' grid, "
        "over R (2: touching)",
        low=2,
    ),
    "h_max": Key("largest h of both h grids (log-spaced from their smallest h)", unit="m", low=0, low_open=True),
    "n_h": Key("points of the dipole rows' h grid", "integer", low=2),
    "h_min_multipole_over_R": Key(
        "smallest h of the multipole rows' grid, over R (contact has no multipole answer)", low=2, low_open=True
    ),
    "boundary_rtol": Key("relative tolerance in h of the bracketed sign changes", low=0, high=0.1, low_open=True),
}

#: the defaults that drag-sic, drag-sic-au and conductance-vs-h share (the four spheres, the model,
#: d, the h grids' ends, the bracketing): one place, so that their spectra stay shared through the cache
DIMER_DEFAULTS = {
    "R": 100e-9,
    # radiative model of every d but contact (d = 2R: dipole, the paper's geometry); lmax null = automatic
    # order, converged to order_rtol (Network's rtol)
    "model": "multipole",
    "lmax": None,
    "order_rtol": 1e-4,
    "d_over_R": [2.0, 3.0],
    "h_min_over_R": 2.0,  # the dipole rows' grid starts at contact
    "h_max": 5e-6,
    "h_min_multipole_over_R": 3.0,  # the multipole rows' grid (contact has no multipole answer)
    "boundary_rtol": 1e-3,  # relative tolerance in h of the bracketed sign changes
}

#: the material presets whose permittivity depends on B
MAGNETO_OPTICAL = tuple(name for name, make in PRESETS.items() if isinstance(make(), InSb))
#: the radiative model of the magneto-optical rings (insb-persistent, persistent-drag, hall): the
#: electric-dipole model, not ``Network``'s multipole default. A gyrotropic sphere (InSb in a
#: field) has no multipole T-matrix here and keeps only its electric-dipole block in either
#: model (docs/model.md §C1), so at B != 0 both give the same numbers; at B = 0 the multipole
#: model would make the same spheres Mie spheres with magnetic dipoles and higher orders, a jump
#: between B = 0 and the smallest field. The dipole model keeps every B on one footing.
RING_MODEL = "dipole"
#: the keys of a ring of spheres that insb-persistent, persistent-drag and hall share: the spheres and
#: their neighbour distance
RING_KEYS = {
    "R": Key("radius of the spheres", unit="m", low=0, low_open=True),
    "spacing": Key(
        "centre distance of neighbours on a ring (>= 2R; 3R: the closest the dipole model is quantitative at)",
        unit="m",
        low=0,
        low_open=True,
    ),
    "material": Key(
        "material of the spheres (magneto-optical: with a B-independent permittivity there is neither a "
        "persistent current nor a Hall effect)",
        "choice",
        choices=MAGNETO_OPTICAL,
    ),
}


def check_h_grids(cfg: dict, model: str) -> None:
    """Refuse an h grid that does not rise from its smallest h to h_max (each grid the model uses)."""
    starts = ["h_min_over_R"] + (["h_min_multipole_over_R"] if model == "multipole" else [])
    for key in starts:
        h_min = cfg[key] * cfg["R"]
        if not cfg["h_max"] > h_min:
            raise ValueError(
                f"h_max = {cfg['h_max']!r} m is not above {key} * R = {h_min:.4g} m (R = {cfg['R']!r} m), "
                f"where its h grid starts; allowed: h_max > {key} * R"
            )


def check_rings(cfg: dict, separations: dict) -> None:
    """Refuse ring geometries whose spheres would overlap, naming the key: the neighbour spacing on
    a ring and each separation of stacked rings (centre distance of facing spheres) must be >= 2R."""
    R = cfg["R"]
    for key, value in {"spacing": cfg["spacing"], **separations}.items():
        if value < 2 * R * (1 - 1e-12):
            raise ValueError(
                f"{key} = {value!r} m is below 2R = {2 * R:.4g} m (R = {R!r} m): spheres would overlap; "
                f"allowed: {key} >= 2R"
            )
