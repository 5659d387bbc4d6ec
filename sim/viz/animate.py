"""Animations of recorded runs: MP4 through imageio-ffmpeg, GIF when ffmpeg is missing.

``animate(h5_or_run_dir)`` renders one time-series file; ``animate_run(run_dir)`` every
``timeseries/*.h5`` of a run directory. Output goes next to the run:
``RUN_DIR/animations/<stem>.mp4`` (or ``.gif``).

Long runs are decimated to ``frames`` evenly spaced recorded frames, and those are read
from the HDF5 file in small batches by index: memory is O(batch * N) however long the run.

Each system has its own renderer, chosen by the file's ``system`` attribute through
``RENDERERS``; a renderer is built from (open h5py file, decimated frame indices, title)
and exposes ``fig`` and ``update(j)``, which redraws the figure's artists for displayed
frame ``j``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.ticker import MaxNLocator

from sim.progress import progress
from sim.validation import check_choice, check_int, check_positive
from sim.viz.plots import plt

DEFAULT_FRAMES = 120
DEFAULT_FPS = 24.0
MIN_SECONDS = 5.0  # a movie of few frames is slowed down to last at least this long
FIGSIZE = (12.8, 7.2)  # inches: 1280x720 px at the MP4 dpi (multiples of 16 for H.264)
DPI = {"mp4": 100.0, "gif": 62.5}  # GIF at 800x450 px: a palette image per frame is heavy
BATCH = 32  # decimated frames read from HDF5 per read


# --------------------------------------------------------------------------- reading
class FrameReader:
    """Rows of the recorded variables at the decimated frame indices, read lazily in batches.

    f: open h5py file. idx: increasing recorded-frame indices, shape (frames,).
    ``row(name, j)`` is variable ``name`` at displayed frame ``j`` (shape: the variable's
    non-time dimensions); only one batch of ``BATCH`` frames per variable is held.
    """

    def __init__(self, f: h5py.File, idx: np.ndarray):
        self.f, self.idx = f, idx
        self._cache: dict[str, tuple[int, np.ndarray]] = {}

    def row(self, name: str, j: int) -> np.ndarray:
        start = j - j % BATCH
        cached = self._cache.get(name)
        if cached is None or cached[0] != start:
            cached = (start, self.f[name][self.idx[start : start + BATCH]])
            self._cache[name] = cached
        return cached[1][j - start]

    def scalars(self, name: str) -> np.ndarray:
        """A per-frame scalar (e.g. "time", "Q_L") at every decimated frame, shape (frames,)."""
        return self.f[name][self.idx]

    def extremes(self, name: str) -> tuple[float, float]:
        """(min, max) of variable ``name`` over the decimated frames, one batch at a time."""
        lo, hi = np.inf, -np.inf
        for start in range(0, len(self.idx), BATCH):
            block = self.f[name][self.idx[start : start + BATCH]]
            lo, hi = min(lo, float(np.min(block))), max(hi, float(np.max(block)))
        return lo, hi


def _padded(lo: float, hi: float, frac: float = 0.08) -> tuple[float, float]:
    """Axis limits around [lo, hi] with a margin; a flat range still gets a visible span."""
    span = hi - lo
    if span < 1e-12 * max(abs(lo), abs(hi), 1.0):
        span = 0.1 * max(abs(lo), 1e-3)
        return lo - span / 2, hi + span / 2
    return lo - frac * span, hi + frac * span


# --------------------------------------------------------------------------- the rod
class RodRenderer:
    """Stacked rings in oblique perspective beside live supercurrent and temperature profiles.

    Ring i is a unit circle in the plane normal to the rod axis, centred at x = i along
    the axis; viewed obliquely it is an ellipse of half-width DEPTH. Its m density peaks sit
    at angles theta_i + 2 pi k / m: a peak at angle a is drawn at (i + DEPTH cos a, sin a),
    on the near side (large marker) when cos a >= 0. A thin line joins, ring to ring, the
    peak nearest the previous ring's, so the local twist shows as a helix. Markers and ring
    outlines are coloured by the ring temperature (colour limits fixed over the whole animation).

    With ``average="block"`` (the default for noisy rods whose movie skips recorded frames:
    ``"auto"``) each movie frame shows the mean over the recorded frames since the previous
    movie frame: mean temperatures, mean link twist (drawn as the helix, starting from the
    frame's own phase of ring 0) and the exact mean supercurrent from the cumulative link
    heat. Snapshots of a noisy rod far apart in time are uncorrelated thermal noise; their
    means show the DC twist and supercurrent the movie is for. ``"none"`` shows snapshots.
    A closed end (contact conductance 0) is drawn without a reservoir.
    """

    MAX_RINGS = 64  # more rings than this: draw an evenly spaced subset, readable at 720p
    DEPTH = 0.32  # projected half-width of a ring, in units of the ring spacing
    CMAP = "plasma"  # no pale middle: mid-range temperatures stay visible on white
    AVERAGES = ("auto", "block", "none")

    def __init__(self, f: h5py.File, idx: np.ndarray, title: str, average: str = "auto"):
        from sim.rod.model import make_schedule

        self.reader = FrameReader(f, idx)
        params = json.loads(f.attrs["params"])
        self.N, self.m = int(params["N"]), int(params["m"])
        self.open_ends = [float(params[k]) > 0 for k in ("k_L", "k_R")]
        check_choice("average", average, self.AVERAGES)
        skips = len(idx) > 1 and int(np.diff(idx).max()) > 1
        self.average = ("block" if bool(params.get("noise")) and skips else "none") if average == "auto" else average
        self._means = self._block_means(f, idx) if self.average == "block" else None
        # a schedule is stored as a number or as its fields plus "name" (RodParams.to_dict)
        self.baths = [
            make_schedule({k: v for k, v in spec.items() if k != "name"} if isinstance(spec, dict) else spec)
            for spec in (params["T_L"], params["T_R"])
        ]
        self.rings = np.unique(np.round(np.linspace(0, self.N - 1, min(self.N, self.MAX_RINGS))).astype(int))
        self.t = self.reader.scalars("time")
        self.steps = self.reader.scalars("step")
        self.power_L = self._interval_rate(self.reader.scalars("Q_L"))
        if self._means is None:
            T_lo, T_hi = self.reader.extremes("T")
            J_lo, J_hi = self.reader.extremes("supercurrent")
        else:
            T_lo, T_hi = float(self._means["T"].min()), float(self._means["T"].max())
            J_lo, J_hi = float(self._means["supercurrent"].min()), float(self._means["supercurrent"].max())
        bath_T = [b.at(self.t) for b, on in zip(self.baths, self.open_ends) if on]
        T_lo, T_hi = min([T_lo, *(float(b.min()) for b in bath_T)]), max([T_hi, *(float(b.max()) for b in bath_T)])
        known = np.append(self.power_L[np.isfinite(self.power_L)], 0.0)
        J_lo, J_hi = min(J_lo, float(known.min())), max(J_hi, float(known.max()))
        self.norm = plt.Normalize(*_padded(T_lo, T_hi, 0.0))
        self.cmap = matplotlib.colormaps[self.CMAP]
        self._build(title, _padded(T_lo, T_hi), _padded(J_lo, J_hi))

    def _block_means(self, f: h5py.File, idx: np.ndarray) -> dict:
        """Means over the recorded frames (idx[j-1], idx[j]] of each movie frame j (frame 0: itself):
        "T" (frames, N), "twist" (frames, N-1) wrapped to [-pi/m, pi/m) per frame, and "supercurrent"
        (frames, N-1) exact, from the cumulative link heat (frame 0: over the interval after it)."""
        slip = 2 * np.pi / self.m
        T, twist = np.empty((len(idx), self.N)), np.empty((len(idx), self.N - 1))
        for j, stop in enumerate(idx):
            start = idx[j - 1] + 1 if j else stop
            T_sum, tw_sum = np.zeros(self.N), np.zeros(self.N - 1)
            for lo in range(start, stop + 1, 4 * BATCH):  # bounded memory however long the block
                hi = min(lo + 4 * BATCH, stop + 1)
                T_sum += f["T"][lo:hi].sum(axis=0)
                tw = f["twist"][lo:hi]
                tw_sum += (tw - slip * np.round(tw / slip)).sum(axis=0)
            T[j], twist[j] = T_sum / (stop + 1 - start), tw_sum / (stop + 1 - start)
        heat, t = f["link_heat"][idx], f["time"][idx]
        if len(idx) > 1:
            J = np.diff(heat, axis=0) / np.diff(t)[:, None]
            J = np.concatenate([J[:1], J])
        else:
            J = f["supercurrent"][idx]
        window = float(np.diff(t).mean()) if len(idx) > 1 else 0.0
        return {"T": T, "twist": twist, "supercurrent": J, "window": window}

    def frame(self, j: int) -> dict:
        """What movie frame ``j`` shows: "theta" (N,), "T" (N,), "supercurrent" (N-1,) and "twist" (N-1,)
        (wrapped to [-pi/m, pi/m)); block means or the snapshot (see the class docstring)."""
        theta = self.reader.row("theta", j)
        slip = 2 * np.pi / self.m
        if self._means is None:
            twist = -np.diff(theta)
            twist -= slip * np.round(twist / slip)
            return {
                "theta": theta,
                "T": self.reader.row("T", j),
                "supercurrent": self.reader.row("supercurrent", j),
                "twist": twist,
            }
        twist = self._means["twist"][j]
        # ring phases from ring 0's snapshot phase and the mean twist: theta_{i+1} = theta_i - twist_i
        theta = theta[0] - np.concatenate([[0.0], np.cumsum(twist)])
        return {
            "theta": theta,
            "T": self._means["T"][j],
            "supercurrent": self._means["supercurrent"][j],
            "twist": twist,
        }

    def _interval_rate(self, Q: np.ndarray) -> np.ndarray:
        """dQ/dt over the interval ending at each displayed frame (the first: the interval after it).

        NaN for a single frame: there is no interval to measure over.
        """
        if len(Q) < 2:
            return np.full(len(Q), np.nan)
        rate = np.diff(Q) / np.diff(self.t)
        return np.concatenate([rate[:1], rate])

    def _build(self, title, T_lim, J_lim):
        fig = plt.figure(figsize=FIGSIZE)
        grid = fig.add_gridspec(
            2, 2, width_ratios=(1.55, 1.0), left=0.05, right=0.97, top=0.83, bottom=0.09, wspace=0.22, hspace=0.42
        )
        rod = fig.add_subplot(grid[:, 0])
        self.fig = fig
        shown = f"{len(self.rings)} of {self.N} rings shown" if len(self.rings) < self.N else f"{self.N} rings"
        averaged = "; block means (noisy rod)" if self._means is not None else ""
        fig.suptitle(f"{title}   ({shown}, m = {self.m}{averaged})", fontsize=14, x=0.05, ha="left")
        self.clock = fig.text(0.05, 0.905, "", fontsize=12, ha="left", family="monospace")
        self.current = fig.text(0.97, 0.905, "", fontsize=12, ha="right", family="monospace")
        self.means_text = fig.text(0.05, 0.865, "", fontsize=11, ha="left", family="monospace", color="0.25")

        x = self.rings.astype(float)
        a = np.linspace(0.0, 2 * np.pi, 65)
        ring_x = x[:, None] + self.DEPTH * np.cos(a)[None, :]
        ring_y = np.broadcast_to(np.sin(a), ring_x.shape)
        near = np.cos(a) >= 0
        lw = float(np.clip(40.0 / len(self.rings), 0.9, 2.6))  # dense rods: thinner outlines
        # near and far halves of every ring outline, coloured by temperature per frame
        self.near = rod.add_collection(
            LineCollection(
                [np.column_stack([rx[near], ry[near]]) for rx, ry in zip(ring_x, ring_y)], linewidths=lw, zorder=3
            )
        )
        self.far = rod.add_collection(
            LineCollection(
                [np.column_stack([rx[~near], ry[~near]]) for rx, ry in zip(ring_x, ring_y)],
                linewidths=0.5 * lw,
                alpha=0.45,
                zorder=1,
            )
        )
        rod.plot([x[0] - 0.8, x[-1] + 0.8], [0, 0], color="0.6", lw=0.8, ls="--", zorder=0)
        size = float(np.clip(3000.0 / len(self.rings), 14.0, 220.0))
        none = np.empty(0)
        self.dots_far = rod.scatter(
            none,
            none,
            c=none,
            s=size * 0.45,
            cmap=self.cmap,
            norm=self.norm,
            alpha=0.7,
            edgecolors="0.4",
            linewidths=0.4,
            zorder=2,
        )
        self.dots_near = rod.scatter(
            none, none, c=none, s=size, cmap=self.cmap, norm=self.norm, edgecolors="k", linewidths=0.6, zorder=5
        )
        (self.helix,) = rod.plot([], [], color="0.15", lw=1.0, alpha=0.7, zorder=4)
        # the reservoirs as blocks at the open ends, coloured by their temperature
        self.bath_blocks = []
        span = x[-1] - x[0]
        gap, width = max(1.0, 0.04 * span), max(0.44, 0.025 * span)
        for side, xc, on in (("left", x[0] - gap, self.open_ends[0]), ("right", x[-1] + gap, self.open_ends[1])):
            if not on:
                rod.text(xc, 0.0, "closed\nend", ha="center", va="center", fontsize=10, color="0.4")
                continue
            block = plt.Rectangle((xc - width / 2, -1.1), width, 2.2, edgecolor="k", lw=0.8, zorder=3)
            rod.add_patch(block)
            rod.text(xc, 1.18, f"{side}\nreservoir", ha="center", va="bottom", fontsize=10)
            self.bath_blocks.append(block)
        rod.set_xlim(x[0] - gap - width, x[-1] + gap + width)
        rod.set_ylim(-1.3, 1.5)
        rod.set_yticks([])
        for spine in ("left", "right", "top"):
            rod.spines[spine].set_visible(False)
        rod.set_xlabel("ring index along the rod axis", fontsize=12)
        rod.xaxis.set_major_locator(MaxNLocator(integer=True))
        bar = fig.colorbar(
            plt.cm.ScalarMappable(norm=self.norm, cmap=self.cmap),
            ax=rod,
            orientation="horizontal",
            fraction=0.05,
            pad=0.1,
            aspect=40,
        )
        bar.set_label("ring temperature", fontsize=12)

        jax = fig.add_subplot(grid[0, 1])
        links = np.arange(self.N - 1)
        (self.J_line,) = jax.plot(
            links,
            np.zeros(self.N - 1),
            "o-",
            color="C0",
            ms=3,
            lw=1.4,
            label="link supercurrent" + (" (mean)" if self._means is not None else ""),
        )
        self.J_ref = jax.axhline(0.0, color="C3", ls=":", lw=1.5, label="left reservoir dQ_L/dt")
        jax.axhline(0.0, color="0.5", lw=0.6)
        jax.set(xlim=(-0.8, self.N - 1.2), ylim=J_lim)
        jax.set_xlabel("link i (between rings i and i+1)", fontsize=11)
        jax.xaxis.set_major_locator(MaxNLocator(integer=True))
        jax.set_ylabel("supercurrent", fontsize=11)
        jax.legend(fontsize=10, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False)

        tax = fig.add_subplot(grid[1, 1])
        (self.T_line,) = tax.plot(
            np.arange(self.N), np.zeros(self.N), "o-", color="C1", ms=3, lw=1.4, label="ring temperature"
        )
        self.bath_marks = tax.scatter(
            [-1, self.N][: sum(self.open_ends)],
            [0, 0][: sum(self.open_ends)],
            marker="s",
            s=50,
            color="k",
            zorder=5,
            label="reservoir temperature",
        )
        tax.set(xlim=(-1.8, self.N + 0.8), ylim=T_lim)
        tax.set_xlabel("ring", fontsize=11)
        tax.xaxis.set_major_locator(MaxNLocator(integer=True))
        tax.set_ylabel("temperature", fontsize=11)
        tax.legend(fontsize=10, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False)

    def update(self, j: int) -> None:
        """Redraw every artist for displayed frame ``j`` (reads that frame's rows only)."""
        shown = self.frame(j)
        theta, T, J = shown["theta"], shown["T"], shown["supercurrent"]
        angles = theta[self.rings, None] + 2 * np.pi * np.arange(self.m)[None, :] / self.m  # (rings, m)
        px = self.rings[:, None] + self.DEPTH * np.cos(angles)
        py = np.sin(angles)
        Tm = np.broadcast_to(T[self.rings, None], angles.shape)
        near = np.cos(angles) >= 0
        for dots, sel in ((self.dots_near, near), (self.dots_far, ~near)):
            dots.set_offsets(np.column_stack([px[sel], py[sel]]))
            dots.set_array(Tm[sel])
        # the helix follows, ring to ring, the peak nearest the previous one: the local twist
        # (wrapped to [-pi/m, pi/m]), whatever phase slips came before
        path = (theta[0] - np.concatenate([[0.0], np.cumsum(shown["twist"])]))[self.rings]
        self.helix.set_data(self.rings + self.DEPTH * np.cos(path), np.sin(path))
        colors = self.cmap(self.norm(T[self.rings]))
        self.near.set_color(colors)
        self.far.set_color(colors)
        self.J_line.set_ydata(J)
        self.J_ref.set_ydata([self.power_L[j]] * 2)
        self.T_line.set_ydata(T)
        bath_T = [float(b.at(self.t[j])) for b in self.baths]
        marks = [[x, Tb] for x, Tb, on in zip((-1, self.N), bath_T, self.open_ends) if on]
        self.bath_marks.set_offsets(np.reshape(marks, (-1, 2)))
        for block, Tb in zip(self.bath_blocks, [Tb for Tb, on in zip(bath_T, self.open_ends) if on]):
            block.set_facecolor(self.cmap(self.norm(Tb)))
        if self._means is not None:
            self.means_text.set_text(
                f"means over the last {self._means['window']:.4g} time units: twist "
                f"{shown['twist'].mean():+.4f} rad per link, supercurrent "
                f"{shown['supercurrent'].mean():+.4g}"
            )
        self.clock.set_text(f"t = {self.t[j]:.6g}   (step {int(self.steps[j])})")
        power = f"{self.power_L[j]:+.4g}" if np.isfinite(self.power_L[j]) else "n/a (one frame)"
        self.current.set_text(f"heat current from the left reservoir dQ_L/dt = {power}")


# --------------------------------------------------------------------------- particle networks
def _attr(f: h5py.File, name: str):
    """A file attribute as an array or list: lists and dicts are stored as JSON text."""
    value = f.attrs[name]
    return json.loads(value) if isinstance(value, (str, bytes)) else np.asarray(value)


class NetworkRenderer:
    """Particles at their 3D positions in perspective, coloured by temperature, with arrows for
    the pair heat flows, beside the temperature traces and the net power into each particle.

    Reads the layout ``sim.radiative.dynamics`` writes: attrs ``positions`` (N, 3) m,
    ``radii`` (N,) m, ``roles`` (N,) "thermostat"/"free", ``pairs`` (n_pairs, 2) [i, j] with
    i < j; variables ``T`` (time, particle) K, ``pair_power`` (time, pair) W (heat into i from
    j) and ``P_net`` (time, particle) W. Drawn radii are the true ones, clipped to
    [MIN_RADIUS x scene radius, MAX_RADIUS x nearest centre distance] for legibility. An arrow
    points the way the net heat of a pair flows;
    its width and opacity scale with |power| over the largest pair power of the movie, and
    pairs below 1 % of it are hidden. Thermostated particles have a thick black outline.
    The camera is chosen so that no particle hides another (``_view``).
    """

    CMAP = "plasma"
    AZIM, ELEV = np.radians(-60.0), np.radians(35.0)  # preferred camera direction, from the scene's centre
    DISTANCE = 5.0  # camera distance in units of the scene's radius: a mild perspective
    MIN_RADIUS = 0.05  # drawn particle radius at least this fraction of the scene's radius ...
    MAX_RADIUS = 0.2  # ... and at most this fraction of the nearest centre distance (room for arrows)
    MAX_ARROWS = 64  # only the strongest pairs get arrows: readable for large networks
    HIDE = 0.01  # arrows below this fraction of the largest pair power are hidden

    def __init__(self, f: h5py.File, idx: np.ndarray, title: str):
        self.reader = FrameReader(f, idx)
        self.pos = np.asarray(_attr(f, "positions"), float).reshape(-1, 3)
        self.N = len(self.pos)
        self.radii = np.broadcast_to(np.asarray(_attr(f, "radii"), float), (self.N,))
        self.roles = list(_attr(f, "roles"))
        self.pairs = np.asarray(_attr(f, "pairs"), int).reshape(-1, 2)
        params = _attr(f, "params") if "params" in f.attrs else {}
        self.B = params.get("B") if isinstance(params, dict) else None
        self.t = self.reader.scalars("time")
        self.steps = self.reader.scalars("step")
        self.T_all = self.reader.scalars("T")  # (frames, N): decimated traces
        T_lo, T_hi = float(self.T_all.min()), float(self.T_all.max())
        p_lo, p_hi = self.reader.extremes("pair_power")
        self.p_max = max(abs(p_lo), abs(p_hi))
        P_lo, P_hi = self.reader.extremes("P_net")
        # symmetric power axis; a balanced run (all P ~ 0) is shown on the pair-power scale
        P_abs = max(abs(P_lo), abs(P_hi)) or self.p_max or 1.0
        # the strongest pairs over the movie keep their arrows
        strength = np.zeros(len(self.pairs))
        for start in range(0, len(idx), BATCH):
            block = f["pair_power"][idx[start : start + BATCH]]
            strength = np.maximum(strength, np.abs(block).max(axis=0))
        self.shown = np.sort(np.argsort(strength)[::-1][: self.MAX_ARROWS])
        self.norm = plt.Normalize(*_padded(T_lo, T_hi, 0.0))
        self.cmap = matplotlib.colormaps[self.CMAP]
        self._project()
        self._build(title, _padded(T_lo, T_hi), (-1.15 * P_abs, 1.15 * P_abs))

    @staticmethod
    def _camera(azim: float, elev: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(right, up, toward) unit vectors of a camera at azimuth ``azim``, elevation ``elev`` (rad)."""
        ca, sa, ce, se = np.cos(azim), np.sin(azim), np.cos(elev), np.sin(elev)
        toward = np.array([ce * ca, ce * sa, se])  # from the scene towards the camera
        right = np.array([-sa, ca, 0.0])
        return right, np.cross(toward, right), toward

    def _view(self, c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The camera from which no particle hides another: among directions on a 10-degree grid,
        the one whose smallest projected gap between drawn discs is largest (orthographic
        estimate), the preferred direction winning ties within 10 % of the best gap."""

        def gap(azim, elev):
            right, up, _ = self._camera(azim, elev)
            xy = np.column_stack([c @ right, c @ up])
            d = np.linalg.norm(xy[:, None] - xy[None, :], axis=-1) - (r[:, None] + r[None, :])
            return float((d + np.diag(np.full(len(c), np.inf))).min()) if len(c) > 1 else np.inf

        preferred = gap(self.AZIM, self.ELEV)
        grid = [(np.radians(a), np.radians(e)) for a in range(-180, 180, 10) for e in range(-80, 90, 10)]
        best = max(grid, key=lambda ae: gap(*ae))
        if preferred >= 0.9 * gap(*best):
            best = (self.AZIM, self.ELEV)
        self.view_gap = gap(*best)
        return self._camera(*best)

    def _project(self) -> None:
        """Perspective projection of the positions: 2D centres, drawn radii and depth order."""
        c = self.pos - self.pos.mean(axis=0)
        scale = max(float(np.linalg.norm(c, axis=1).max()), float(self.radii.max()))
        c = c / scale
        if self.N > 1:
            d = np.linalg.norm(c[:, None] - c[None, :], axis=-1)
            nearest = (d + np.diag(np.full(self.N, np.inf))).min(axis=1)
        else:
            nearest = np.full(1, 1.0)
        drawn = np.clip(self.radii / scale, self.MIN_RADIUS, self.MAX_RADIUS * nearest)
        right, up, toward = self._view(c, drawn)
        depth = c @ toward
        s = self.DISTANCE / (self.DISTANCE - depth)  # nearer particles look larger
        self.xy = np.column_stack([s * (c @ right), s * (c @ up)])
        self.r2d = s * drawn
        self.depth = depth
        self.basis = (right, up, toward)

    def _build(self, title, T_lim, P_lim):
        from matplotlib.patches import Circle, FancyArrowPatch
        from matplotlib.patheffects import withStroke

        fig = plt.figure(figsize=FIGSIZE)
        grid = fig.add_gridspec(
            2, 2, width_ratios=(1.25, 1.0), left=0.04, right=0.97, top=0.83, bottom=0.09, wspace=0.2, hspace=0.45
        )
        self.fig = fig
        field = f", B = {self.B:g} T along z" if self.B is not None else ""
        n_th = self.roles.count("thermostat")
        fig.suptitle(f"{title}   ({self.N} particles, {n_th} thermostated{field})", fontsize=14, x=0.04, ha="left")
        self.clock = fig.text(0.04, 0.905, "", fontsize=12, ha="left", family="monospace")
        self.power = fig.text(0.97, 0.905, "", fontsize=12, ha="right", family="monospace")

        ax = fig.add_subplot(grid[:, 0])
        ax.set_aspect("equal")
        ax.axis("off")
        order = np.argsort(self.depth)  # far particles first
        self.circles = [None] * self.N
        for rank, i in enumerate(order):
            th = self.roles[i] == "thermostat"
            circ = Circle(self.xy[i], self.r2d[i], edgecolor="k", lw=2.6 if th else 0.7, zorder=2 + rank)
            ax.add_patch(circ)
            self.circles[i] = circ
            ax.annotate(
                str(i),
                self.xy[i],
                ha="center",
                va="center",
                fontsize=9,
                color="w",
                zorder=2 + rank,
                fontweight="bold",
                path_effects=[withStroke(linewidth=2.5, foreground="k")],
            )  # any fill
        self.arrows = []
        for _ in self.shown:
            arrow = FancyArrowPatch(
                (0, 0),
                (0, 0),
                arrowstyle="-|>",
                mutation_scale=16,
                color="0.1",
                zorder=3 + self.N,
                shrinkA=0,
                shrinkB=0,
            )
            ax.add_patch(arrow)
            self.arrows.append(arrow)
        pad = 1.25 * self.r2d.max()
        ax.set_xlim(self.xy[:, 0].min() - pad, self.xy[:, 0].max() + pad)
        ax.set_ylim(self.xy[:, 1].min() - pad, self.xy[:, 1].max() + 1.6 * pad)
        # axis triad in its own corner inset, so the perspective can be read (z: the field's direction)
        triad = ax.inset_axes([0.0, 0.0, 0.14, 0.14])
        triad.set(xlim=(-1.3, 1.3), ylim=(-1.3, 1.3), aspect="equal")
        triad.axis("off")
        for k, name in enumerate("xyz"):
            e = np.eye(3)[k]
            d = np.array([e @ self.basis[0], e @ self.basis[1]])
            triad.annotate("", d, (0, 0), arrowprops={"arrowstyle": "->", "color": "0.4"})
            triad.text(*(1.25 * d), name, color="0.3", fontsize=10, ha="center", va="center")
        bar = fig.colorbar(
            plt.cm.ScalarMappable(norm=self.norm, cmap=self.cmap),
            ax=ax,
            orientation="horizontal",
            fraction=0.05,
            pad=0.04,
            aspect=40,
        )
        bar.set_label("particle temperature (K)", fontsize=12)
        bar.ax.ticklabel_format(useOffset=False)
        ax.set_title(f"arrows: net pair heat flow (widest = {self.p_max:.3g} W)", fontsize=11)

        tax = fig.add_subplot(grid[0, 1])
        for i in range(self.N):
            tax.plot(
                self.t,
                self.T_all[:, i],
                lw=1.2,
                ls="--" if self.roles[i] == "thermostat" else "-",
                color=self.cmap(self.norm(self.T_all[-1, i])),
            )
        self.cursor = tax.axvline(self.t[0], color="k", lw=1.0)
        tax.set(xlim=_padded(float(self.t[0]), float(self.t[-1]), 0.0), ylim=T_lim)
        tax.ticklabel_format(axis="y", useOffset=False)
        tax.set_xlabel("time (s)", fontsize=11)
        tax.set_ylabel("temperature (K)", fontsize=11)
        tax.set_title("particle temperatures (dashed: thermostated)", fontsize=11)

        pax = fig.add_subplot(grid[1, 1])
        colors = ["0.25" if r == "thermostat" else "C0" for r in self.roles]
        self.bars = pax.bar(np.arange(self.N), np.zeros(self.N), color=colors)
        pax.axhline(0.0, color="0.5", lw=0.6)
        pax.set(xlim=(-0.7, self.N - 0.3), ylim=P_lim)
        pax.set_xlabel("particle (dark: thermostated)", fontsize=11)
        pax.xaxis.set_major_locator(MaxNLocator(integer=True))
        pax.set_ylabel("net power in (W)", fontsize=11)
        pax.set_title("net power into each particle (network + environment)", fontsize=11)

    def update(self, j: int) -> None:
        """Redraw every artist for displayed frame ``j`` (reads that frame's rows only)."""
        T = self.reader.row("T", j)
        flow = self.reader.row("pair_power", j)
        P = self.reader.row("P_net", j)
        for circ, Ti in zip(self.circles, T):
            circ.set_facecolor(self.cmap(self.norm(Ti)))
        for arrow, k in zip(self.arrows, self.shown):
            i, jj = self.pairs[k]
            p = flow[k]  # heat into i from jj
            frac = abs(p) / self.p_max if self.p_max > 0 else 0.0
            src, dst = (jj, i) if p > 0 else (i, jj)
            a, b = self.xy[src], self.xy[dst]
            u = (b - a) / max(np.linalg.norm(b - a), 1e-12)
            arrow.set_positions(a + u * self.r2d[src], b - u * self.r2d[dst])
            arrow.set_linewidth(0.6 + 5.0 * frac)
            arrow.set_alpha(min(1.0, 0.2 + frac))
            arrow.set_visible(frac >= self.HIDE)
        for bar, Pi in zip(self.bars, P):
            bar.set_height(Pi)
        self.cursor.set_xdata([self.t[j]] * 2)
        self.clock.set_text(f"t = {self.t[j]:.4g} s   (step {int(self.steps[j])})")
        supplied = float(-P[[r == "thermostat" for r in self.roles]].sum()) if "thermostat" in self.roles else 0.0
        self.power.set_text(f"thermostats supply {supplied:+.4g} W")


RENDERERS: dict[str, type] = {"rod": RodRenderer, "network": NetworkRenderer}


# --------------------------------------------------------------------------- writing
def ffmpeg_available() -> bool:
    """True if imageio-ffmpeg imports and finds an ffmpeg binary."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError, OSError):
        return False
    return True


def _rgb(fig) -> np.ndarray:
    """The figure as an (height, width, 3) uint8 array."""
    fig.canvas.draw()
    return np.ascontiguousarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])


def _frames(renderer, n: int, desc: str, quiet: bool):
    """Yield displayed frames 0..n-1 as RGB arrays, with a progress bar."""
    for j in progress(range(n), desc=desc, unit="frame", quiet=quiet):
        renderer.update(j)
        yield _rgb(renderer.fig)


def _write_mp4(path: Path, frames, fps: float) -> None:
    import imageio_ffmpeg

    first = next(frames)
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (first.shape[1], first.shape[0]),
        fps=fps,
        codec="libx264",
        quality=7,
        pix_fmt_out="yuv420p",
        macro_block_size=16,
    )
    writer.send(None)  # start ffmpeg
    try:
        writer.send(first)
        for frame in frames:
            writer.send(frame)
    finally:
        writer.close()


def _write_gif(path: Path, frames, fps: float) -> None:
    from PIL import Image

    images = (Image.fromarray(frame) for frame in frames)
    first = next(images)
    # 10 ms is the GIF time unit; Pillow consumes the generator frame by frame
    first.save(path, format="GIF", save_all=True, append_images=images, duration=round(1000.0 / fps, -1) or 10, loop=0)


# --------------------------------------------------------------------------- entry points
def _resolve_file(path: Path, file: str | None) -> list[Path]:
    """The time-series files ``path`` designates: itself, or ``timeseries/*.h5`` of a run directory."""
    if not path.exists():
        raise ValueError(f"{path} does not exist; allowed: a run directory or an .h5 time-series file")
    if path.is_file():
        if file is not None:
            raise ValueError(f"file = {file!r} only applies to a run directory, and {path} is a file")
        return [path]
    found = sorted((path / "timeseries").glob("*.h5"))
    if not found:
        raise ValueError(f"{path} has no time series to animate (no timeseries/*.h5 in it)")
    if file is None:
        return found
    by_name = {p.name: p for p in found} | {p.stem: p for p in found}
    if file not in by_name:
        raise ValueError(
            f"file = {file!r} is not in {path / 'timeseries'}; allowed: " + ", ".join(repr(p.name) for p in found)
        )
    return [by_name[file]]


def _timing(frames, fps, duration) -> tuple[int, float | None, float | None]:
    """Checked (frames, fps, duration); frames = fps * duration when only those two are given."""
    if frames is not None and fps is not None and duration is not None:
        raise ValueError(
            f"frames = {frames!r}, fps = {fps!r} and duration = {duration!r} over-determine the "
            "animation; allowed: at most two of them"
        )
    if fps is not None:
        fps = float(check_positive("fps", fps, unit="frames/s"))
    if duration is not None:
        duration = float(check_positive("duration", duration, unit="s"))
    if frames is None:
        frames = max(1, round(fps * duration)) if fps is not None and duration is not None else DEFAULT_FRAMES
    return check_int("frames", frames, low=1), fps, duration


def animate(
    path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    frames: int | None = None,
    fps: float | None = None,
    duration: float | None = None,
    fmt: str = "auto",
    file: str | None = None,
    quiet: bool = False,
    average: str = "auto",
) -> Path:
    """Render one recorded run to a movie; return the movie's path.

    path: an .h5 time-series file, or a run directory holding one (or naming one with
    ``file``, the name in ``timeseries/`` with or without ".h5"; ``animate_run`` does all).
    out: the movie file (default ``RUN_DIR/animations/<stem>.mp4`` or ``.gif``; its suffix
    picks the format when ``fmt="auto"``).
    frames: displayed frames (default 120, or fps * duration), evenly spaced over the
    recorded ones; fewer if fewer were recorded. fps: frames per second (default 24, or
    frames / duration; with neither fps nor duration given, few frames are shown slowly
    enough that the movie lasts at least MIN_SECONDS). duration: movie length in seconds.
    fmt: "auto" (MP4 if ffmpeg is available, else GIF with a printed note), "mp4" or "gif".
    quiet: no progress bar or notes.
    average: rods only: "auto" (block means for noisy rods when frames are skipped), "block"
    or "none" (snapshots); see ``RodRenderer``.
    """
    files = _resolve_file(Path(path), file)
    if len(files) > 1:
        raise ValueError(
            f"{path} holds {len(files)} time series; choose one with file= (allowed: "
            + ", ".join(repr(p.name) for p in files)
            + ") or animate them all with animate_run"
        )
    return _animate_file(files[0], out, *_timing(frames, fps, duration), fmt, quiet, average)


def animate_run(
    run_dir: str | os.PathLike,
    frames: int | None = None,
    fps: float | None = None,
    duration: float | None = None,
    fmt: str = "auto",
    file: str | None = None,
    quiet: bool = False,
    average: str = "auto",
) -> list[Path]:
    """``animate`` every ``timeseries/*.h5`` of ``run_dir`` (or the one named ``file``); return the movies."""
    timing = _timing(frames, fps, duration)
    return [_animate_file(p, None, *timing, fmt, quiet, average) for p in _resolve_file(Path(run_dir), file)]


def _animate_file(
    h5: Path, out, frames: int, fps: float | None, duration: float | None, fmt: str, quiet: bool, average: str = "auto"
) -> Path:
    check_choice("fmt", fmt, ("auto", "mp4", "gif"))
    check_choice("average", average, RodRenderer.AVERAGES)
    if fmt == "auto" and out is not None and Path(out).suffix.lower() in (".mp4", ".gif"):
        fmt = Path(out).suffix.lower()[1:]
    if fmt != "gif" and not ffmpeg_available():
        if not quiet:
            print(
                f"note: ffmpeg is unavailable (imageio-ffmpeg missing or without a binary); writing a GIF instead "
                f"of {'the requested ' if fmt == 'mp4' else ''}MP4"
            )
        fmt = "gif"
    elif fmt == "auto":
        fmt = "mp4"
    run_dir = h5.parent.parent if h5.parent.name == "timeseries" else h5.parent
    out = (run_dir / "animations" / h5.stem if out is None else Path(out)).with_suffix(f".{fmt}")
    out.parent.mkdir(parents=True, exist_ok=True)

    with h5py.File(h5, "r") as f:
        system = f.attrs.get("system")
        if system not in RENDERERS:
            raise ValueError(
                f"{h5}: system = {system!r} has no renderer; allowed: " + ", ".join(map(repr, sorted(RENDERERS)))
            )
        recorded = f["time"].shape[0]
        if recorded == 0:
            raise ValueError(f"{h5} has no recorded frames; nothing to animate")
        idx = np.unique(np.round(np.linspace(0, recorded - 1, min(frames, recorded))).astype(int))
        if duration is not None:
            fps = len(idx) / duration
        elif fps is None:
            fps = min(DEFAULT_FPS, len(idx) / MIN_SECONDS)
        renderer = RENDERERS[system](f, idx, h5.stem, **({"average": average} if system == "rod" else {}))
        renderer.fig.set_dpi(DPI[fmt])
        try:
            movie = _frames(renderer, len(idx), f"animate {h5.stem}", quiet)
            # write under a temporary name so an interrupted render leaves no truncated movie
            tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
            try:
                if fmt == "mp4":
                    _write_mp4(tmp, movie, fps)
                else:
                    _write_gif(tmp, movie, fps)
                os.replace(tmp, out)
            finally:
                tmp.unlink(missing_ok=True)
        finally:
            plt.close(renderer.fig)
    return out
