"""Small disturbances of the uniform rod state (docs/model.md §A4.5 and the unstable-law paragraph).

About the uniform state (every ring at T0, zero twist, all clocks at omega0(T0)) write
psi_i = theta_i - omega0(T0) t and dE_i = E_i - C_i T0. To first order

    d psi_i / dt = omega0'(T0) dE_i / C_i
    d dE_i / dt  = omega0(T0) (tau_{i-1} - tau_i) - k_b dE_i / C_i (end rings) + conduction,
    tau_i        = K_i (psi_i - psi_{i+1})     (small angle: sine and harmonic links agree)

so d^2 psi / dt^2 = -(K omega0 omega0' / C) (Laplacian) psi: a torsional wave equation with
effective inertia I_eff = C / (omega0 omega0'). With omega0 omega0' > 0 it carries second
sound at a * sqrt(K omega0 omega0' / C); with omega0 omega0' < 0 every mode q grows at
2 sqrt(K |omega0 omega0'| / C) sin(q/2). These are the yardsticks the scenarios
``rod-second-sound`` and ``rod-rotor-instability`` compare the trajectories with, beside
``steady_current`` (``rod-dc``'s); nothing here is used to advance a rod.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from sim.rod.model import RodParams, domega0_dT, make_law
from sim.stats import least_squares
from sim.validation import check_positive

if TYPE_CHECKING:
    from sim.rod.model import Linear, Power, Rotor, Table


def effective_inertia(law: Linear | Power | Rotor | Table | str | dict, T0: float, C: float) -> float:
    """I_eff = C / (omega0 omega0') at temperature T0 (negative for a law whose |omega0| falls with T)."""
    law = make_law(law)
    return float(C / (law.omega0(T0) * domega0_dT(law, T0)))


def second_sound_speed(
    law: Linear | Power | Rotor | Table | str | dict, T0: float, K: float, C: float, spacing: float = 1.0
) -> float:
    """Long-wavelength wave speed a sqrt(K / I_eff) = a sqrt(K omega0 omega0' / C), rings per time unit
    for spacing a = 1. Also the largest group velocity of the chain, w(q) = 2 w_p sin(q/2)."""
    inertia = effective_inertia(law, T0, C)
    if inertia <= 0:
        raise ValueError(
            f"law = {law!r} has omega0*domega0/dT < 0 at T0 = {T0!r}: no second sound; allowed: "
            "a law with omega0*domega0/dT > 0"
        )
    return float(spacing * np.sqrt(check_positive("K", K) / inertia))


def linearised_generator(params: RodParams, T0: float, link_slopes: ArrayLike | None = None) -> np.ndarray:
    """Matrix A (2N, 2N) of d/dt (psi, dE) = A (psi, dE) about the uniform state at T0.

    Includes per-ring C, per-link K (small angle: torque slope K for both link laws), the
    reservoir contacts k_L, k_R (mean relaxation; their baths must sit at T0 for the uniform
    state to be stationary) and normal conduction g. Noise is left out (it seeds, it does not
    set the rates). ``link_slopes`` (N-1,) replaces the torque slopes d tau_i/d psi_i: about
    a twisted state K_i cos(m psi_i), negative on a link sitting at a barrier top.
    """
    p = params
    T0 = float(check_positive("T0", T0))
    for side, k, bath in (("T_L", p.k_L, p.T_L), ("T_R", p.k_R, p.T_R)):
        if k > 0 and not (bath.kind == "constant" and np.isclose(bath.T0, T0)):
            raise ValueError(
                f"{side} = {bath!r} is not a constant bath at T0 = {T0!r}; allowed: a closed end "
                "or a constant bath at T0 (the uniform state must be stationary)"
            )
    N = p.N
    w0 = float(p.law.omega0(T0))
    dw0 = float(domega0_dT(p.law, T0))
    # stiffness matrix S: torque balance, (S psi)_i = tau_i - tau_{i-1}; conduction Laplacian G
    S = np.zeros((N, N))
    G = np.zeros((N, N))
    slopes = p.K if link_slopes is None else np.asarray(link_slopes, float)
    if slopes.shape != (N - 1,):
        raise ValueError(f"link_slopes has shape {slopes.shape}; allowed: ({N - 1},), one per link")
    for i in range(N - 1):
        for M, c in ((S, slopes[i]), (G, p.g[i])):
            M[i, i] += c
            M[i + 1, i + 1] += c
            M[i, i + 1] -= c
            M[i + 1, i] -= c
    G[0, 0] += p.k_L
    G[-1, -1] += p.k_R
    inv_C = np.diag(1.0 / p.C)
    A = np.zeros((2 * N, 2 * N))
    A[:N, N:] = dw0 * inv_C
    A[N:, :N] = -w0 * S
    A[N:, N:] = -G @ inv_C
    return A


def fastest_mode(params: RodParams, T0: float) -> tuple[float, np.ndarray]:
    """Largest growth rate Re(lambda) of the linearised dynamics and its eigenvector (psi, dE), shape (2N,).

    For an unstable law the fastest mode is a real eigenvalue (a growing zig-zag); the
    returned vector is real, scaled to a largest |dE| component of 1.
    """
    lam, vec = np.linalg.eig(linearised_generator(params, T0))
    j = int(np.argmax(lam.real))
    v = vec[:, j]
    v = v * np.exp(-1j * np.angle(v[np.argmax(np.abs(v))]))  # global phase: make the largest entry real
    v = v.real
    N = params.N
    return float(lam[j].real), v / np.max(np.abs(v[N:]))


def front_speed(distance: ArrayLike, arrival: ArrayLike) -> dict:
    """Speed of a dispersive front from its arrival times at ring distances from the source.

    On the chain w(q) = 2 w_p sin(q/2) a point disturbance has an Airy-shaped front: any fixed
    feature of it (here its first maximum) reaches distance n at t = n / v + b n^(1/3) + c,
    v = w_p (for a heat pulse, T_n(t) ~ J_2n(2 w_p t): first maximum at
    2 w_p t = 2n + 1.019 n^(1/3), 1.019 the first maximum of Ai(-x)).
    Fits that law by least squares and, for comparison, a straight line t = n / v + c, whose
    speed is biased low by the front's spreading.
    distance, arrival: (n,) ring distances and arrival times. Returns {"speed", "speed_stderr"
    (rings per time unit), "spreading_coefficient" b, "offset" c (time), "speed_straight",
    "speed_straight_stderr"}.
    """
    n = np.asarray(distance, float)
    t = np.asarray(arrival, float)
    ones = np.ones_like(n)
    airy = least_squares(np.column_stack([n, np.cbrt(n), ones]), t)
    line = least_squares(np.column_stack([n, ones]), t)
    # v = 1 / slope; error propagation d v = d slope / slope^2
    slope, se = airy["coef"][0], airy["stderr"][0]
    slope_l, se_l = line["coef"][0], line["stderr"][0]
    return {
        "speed": 1.0 / slope,
        "speed_stderr": se / slope**2,
        "spreading_coefficient": airy["coef"][1],
        "offset": airy["coef"][2],
        "speed_straight": 1.0 / slope_l,
        "speed_straight_stderr": se_l / slope_l**2,
    }


def steady_current(dT: float, k_L: float, k_R: float, N: int, g: float | None = None) -> float:
    """DC heat current (reduced units) through a rod between baths dT apart: the contact
    resistances 1/k_L + 1/k_R in series with N - 1 normal links of conductance g each; g None:
    a superconducting rod, whose links carry it without resistance (docs/model.md §A4)."""
    resistance = 1.0 / k_L + 1.0 / k_R + ((N - 1) / g if g is not None else 0.0)
    return dT / resistance
