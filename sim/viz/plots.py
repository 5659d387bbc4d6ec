"""Figure helpers: a non-interactive backend for runs, and consistent saving.

Runs, sweeps and their Dask workers draw figures to files, often outside the main thread,
where a GUI backend fails: they get Agg. Inside IPython or Jupyter the session's own backend
is left alone, so figures still show inline.
"""

from __future__ import annotations

import sys

import matplotlib

if "IPython" not in sys.modules and "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.8):
    """A figure with a grid of axes (squeezed), sized per panel in inches."""
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, layout="constrained")


def save(fig, path) -> None:
    """Save as PNG at 150 dpi and release the figure."""
    fig.savefig(path, dpi=150)
    plt.close(fig)
