"""Figure helpers: a non-interactive backend for runs, and consistent saving.

Runs, sweeps and their Dask workers draw figures to files, often outside the main thread,
where a GUI backend fails: they get Agg. Inside IPython or Jupyter the session's own backend
is left alone, so figures still show inline.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

if "IPython" not in sys.modules and "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.8) -> tuple[Figure, np.ndarray]:
    """A figure with a grid of axes (squeezed), sized per panel in inches."""
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, layout="constrained")


def save(fig: Figure, path: Path | str) -> None:
    """Save as PNG at 150 dpi and release the figure."""
    fig.savefig(path, dpi=150)
    plt.close(fig)


def log_axis_1_2_5(a: Axes, values: ArrayLike) -> None:
    """Log x axis with plain labels at the 1-2-5 values (1 to 5e5) inside the data range of
    ``values`` (e.g. separations in nm)."""
    h_nm = np.asarray(values, float)
    ticks = [t for e in range(0, 6) for t in (10**e, 2 * 10**e, 5 * 10**e) if h_nm.min() * 0.9 <= t <= h_nm.max() * 1.1]
    a.set_xscale("log")
    a.xaxis.set_major_locator(FixedLocator(ticks))
    a.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    a.xaxis.set_minor_formatter(NullFormatter())
