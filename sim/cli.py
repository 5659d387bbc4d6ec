"""Command line: ``python -m sim {list, run, animate, spectra, bench} ...`` (``python -m sim -h`` for help)."""

from __future__ import annotations

import argparse
import sys
import time

from sim import io, scenario
from sim.simulation import RunawayError

BENCHES = {"rod": "sim.rod.bench", "spectra": "sim.radiative.bench", "network": "sim.radiative.dynamics_bench"}


def _cmd_list(args) -> int:
    reg = scenario.load_scenarios()
    width = max(map(len, reg), default=0)
    for name in sorted(reg):
        print(f"{name:<{width}}  {reg[name].description}")
    return 0


def _cmd_run(args) -> int:
    scen = scenario.get(args.name)
    cfg = scenario.apply_overrides(scen.defaults(args.quick), args.set)
    cfg["seed"] = args.seed if args.seed is not None else cfg.get("seed", 0)
    run_dir = io.make_run_dir(args.out, scen.name)
    ctx = scenario.RunContext(out_dir=run_dir, quick=args.quick, seed=cfg["seed"], quiet=args.quiet)
    io.write_json(run_dir / "config.json", {"scenario": scen.name, "quick": args.quick, **cfg})
    meta = io.base_metadata(cfg["seed"]) | {"scenario": scen.name, "quick": args.quick, "status": "running"}
    io.write_json(run_dir / "metadata.json", meta)
    ctx.log(f"{scen.name}: writing to {run_dir}")
    t0 = time.perf_counter()
    status, code = "completed", 0
    try:
        summary = scen.run(cfg, ctx)
        io.write_json(run_dir / "summary.json", summary)
    except RunawayError as exc:
        status, code = "runaway", 2
        print(f"error: {exc}\nWhat was recorded so far is kept in {run_dir}.", file=sys.stderr)
    except KeyboardInterrupt:
        status, code = "interrupted", 130
        print(f"interrupted; what was recorded so far is kept in {run_dir}.", file=sys.stderr)
    finally:
        wall = time.perf_counter() - t0
        meta |= {"status": status, "wall_time_s": wall, "ring_steps": ctx.ring_steps,
                 "ring_steps_per_s": ctx.ring_steps / ctx.kernel_time if ctx.kernel_time else None,
                 "notes": ctx.notes}
        io.write_json(run_dir / "metadata.json", meta)
    if code == 0:
        ctx.log(f"{scen.name}: done in {wall:.1f} s; summary in {run_dir / 'summary.json'}")
        if args.animate:
            _animate(run_dir, args.quiet)
    return code


def _animate(run_dir, quiet: bool, **kw) -> None:
    from sim.viz.animate import animate_run  # matplotlib and h5py only when animating

    for movie in animate_run(run_dir, quiet=quiet, **kw):
        if not quiet:
            print(f"animation: {movie}")


def _cmd_animate(args) -> int:
    _animate(args.run_dir, args.quiet, file=args.file, frames=args.frames, fps=args.fps, duration=args.duration,
             fmt=args.format)
    return 0


def _cmd_spectra(args) -> int:
    from sim.radiative.cli import spectra_command

    return spectra_command(args.config, args.out, quiet=args.quiet)


def _cmd_bench(args) -> int:
    import importlib

    if args.what not in BENCHES:
        raise ValueError(f"bench = {args.what!r} is unknown; allowed: {', '.join(sorted(BENCHES))}")
    print(importlib.import_module(BENCHES[args.what]).main(quick=args.quick))
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list scenarios with one-line descriptions").set_defaults(func=_cmd_list)

    run = sub.add_parser("run", help="run a scenario into a run directory")
    run.add_argument("name", help="scenario name (see `list`)")
    run.add_argument("--quick", action="store_true", help="reduced run that still meets the scenario's tolerances")
    run.add_argument("--seed", type=int, default=None, help="RNG seed (default: the scenario's)")
    run.add_argument("--out", default=None, help="run directory (default: outputs/NAME-TIMESTAMP)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a configuration value (dotted keys for nested values); repeatable")
    run.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    run.add_argument("--animate", action="store_true",
                     help="after a successful run, animate its time series (as `animate RUN_DIR`)")
    run.set_defaults(func=_cmd_run)

    anim = sub.add_parser("animate", help="render a run's time series to MP4 (GIF if ffmpeg is unavailable)")
    anim.add_argument("run_dir", metavar="RUN_DIR", help="run directory (or one .h5 time-series file)")
    anim.add_argument("--file", default=None, metavar="NAME",
                      help="only this file of RUN_DIR/timeseries (default: every one)")
    anim.add_argument("--frames", type=int, default=None,
                      help="frames shown, evenly spaced over the recorded ones (default 120, or fps*duration)")
    anim.add_argument("--fps", type=float, default=None, help="frames per second (default 24, or frames/duration)")
    anim.add_argument("--duration", type=float, default=None, help="movie length in seconds")
    anim.add_argument("--format", default="auto", choices=("auto", "mp4", "gif"),
                      help="auto: MP4 if ffmpeg is available, else GIF (default)")
    anim.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    anim.set_defaults(func=_cmd_animate)

    spectra = sub.add_parser("spectra", help="transmission spectra and conductances of a particle network")
    spectra.add_argument("config", metavar="CONFIG.toml", help="geometry, materials and field (see sim/radiative/cli.py)")
    spectra.add_argument("--out", required=True, metavar="DIR", help="directory for spectra.h5 and spectra.png")
    spectra.add_argument("--quiet", action="store_true", help="no messages")
    spectra.set_defaults(func=_cmd_spectra)

    bench = sub.add_parser("bench", help="benchmarks: ratios against the NumPy twin and the cost floor")
    bench.add_argument("what", help=f"one of: {', '.join(sorted(BENCHES))}")
    bench.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    bench.set_defaults(func=_cmd_bench)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
