"""The sign of the SiC/SiC drag (sim.radiative.drag): negative drag between identical dimers
is a many-body effect of the dressed transmissions, not of the pair law."""

import warnings

import numpy as np
import pytest

from sim.radiative.drag import drag_from_conductances, drag_linear, drag_network
from sim.radiative.network import DipoleApproximationWarning, Network

R = 100e-9
T1, T2 = 301.0, 300.0


def pairwise_conductances(positions, T):
    """G (4, 4) W/K with every pair computed alone (no other particle present)."""
    G = np.zeros((4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DipoleApproximationWarning)
        for i in range(4):
            for j in range(i + 1, 4):
                pair = Network([positions[i], positions[j]], R, "SiC")
                G[i, j] = G[j, i] = float(pair.conductance(T, rtol=1e-8)[0, 1])
    return G


@pytest.mark.parametrize("d_over_R,h_over_R", [(2.0, 2.0), (3.0, 6.0)])
def test_negative_sic_drag_needs_the_many_body_dressing(d_over_R, h_over_R):
    net, _ = drag_network(R, d_over_R * R, h_over_R * R, ["SiC"] * 4)
    # pair law: a conductance falls with distance, so the facing pair (h) beats the diagonal
    # (sqrt(d^2 + h^2)) and Eq. 12 gives R_D > 0 for identical particles at any geometry
    G_pair = pairwise_conductances(net.positions, 0.5 * (T1 + T2))
    assert G_pair[0, 2] > G_pair[0, 3]
    assert drag_from_conductances(G_pair, T1, T2)["R_D"] > 0
    # dressed: the hybridised drive dimer lets the diagonal win, R_D < 0 (drag-sic's deviation)
    dressed = drag_linear(net, T1, T2, rtol=1e-8)
    assert dressed["G"][0, 3] > dressed["G"][0, 2]
    assert dressed["R_D"] < 0


def test_facing_transmission_dips_where_the_diagonal_peaks():
    """d = 3R, h = 5R: at SiC's Froehlich frequency (eps = -2), between the drive dimer's two
    split lines, the diagonal transmission exceeds the facing one; at d = 6R (lines not split
    apart) the facing one wins there by a wide margin."""
    eps_inf, wL, wT = 6.7, 1.825e14, 1.494e14
    w_F = np.sqrt((eps_inf * wL**2 + 2 * wT**2) / (eps_inf + 2))
    T3 = drag_network(R, 3 * R, 5 * R, ["SiC"] * 4)[0].transmission(w_F)
    T6 = drag_network(R, 6 * R, 5 * R, ["SiC"] * 4)[0].transmission(w_F)
    assert T3[3, 0] > T3[2, 0]
    assert T6[2, 0] > 3 * T6[3, 0]
