"""Command line: ``python -m sim {list, run, bench} ...`` (``python -m sim -h`` for help)."""

from __future__ import annotations

import argparse
import sys
import time

from sim import io, scenario
from sim.simulation import RunawayError

BENCHES = {"rod": "sim.rod.bench"}


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
    return code


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
    run.set_defaults(func=_cmd_run)

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
