"""Configuration keys shared by the rod scenarios (see ``sim.config_keys``): one declaration each."""

from __future__ import annotations

from sim.config_keys import REDUCED, Key
from sim.rod.model import LAWS

LAW = {
    "law": Key("clock law omega0(T): a table with `name` and its parameters (docs/model.md §A2)", "mapping"),
    "law.name": Key("clock law", "choice", choices=tuple(LAWS)),
}

RING = {
    "C": Key("heat capacity per ring", unit=REDUCED, low=0.5),
    "m": Key("periodicity of the link torque (density peaks per ring)", "integer", low=1),
    "torque": Key("link torque: K sin(m dtheta)/m or harmonic K dtheta", "choice", choices=("sine", "harmonic")),
}

WEAK_LINK = {
    "n_half": Key("rings per half; the weak link joins ring n_half - 1 to ring n_half", "integer", low=1),
    "K": Key("link torque amplitude inside the stiff halves", unit=REDUCED, low=0),
    "K_w": Key(
        "torque amplitude of the weak link (sets the locking threshold d_omega_c)", unit=REDUCED, low=0, low_open=True
    ),
    "k": Key("contact conductance of each reservoir", unit=REDUCED, low=0, low_open=True),
}
