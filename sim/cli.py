"""Command line: ``python -m sim {list, show, status, run, resume, sweep, animate, spectra, cache,
bench} ...`` (``python -m sim -h`` for help)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
import traceback
from typing import TYPE_CHECKING

from sim import io, scenario, simulation
from sim.bench import BENCHES
from sim.checkpoint import CheckpointError
from sim.simulation import Terminated, status_of

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

# exit codes besides 0 (completed); each status of a run has its own (docs: Command line)
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_WALLTIME, EXIT_CHECKS_FAILED, EXIT_RUNAWAY = 1, 2, 3, 4, 5
EXIT_CODES = {
    "failed": EXIT_FAILED,
    "walltime": EXIT_WALLTIME,
    "runaway": EXIT_RUNAWAY,
    "interrupted": 130,
    "terminated": 143,
}


def _cmd_list(args) -> int:
    known = {name: description for name, (_, description) in scenario.catalog().items()}
    known |= {name: s.description for name, s in scenario.REGISTRY.items()}  # registered by a program itself
    width = max(map(len, known), default=0)
    for name in sorted(known):
        print(f"{name:<{width}}  {known[name]}")
    return 0


def _cmd_status(args) -> int:
    from pathlib import Path

    print(run_status(Path(args.run_dir)))
    return 0


def run_status(run_dir: Path) -> str:
    """What ``python -m sim status RUN_DIR`` prints: the run's status and, per time series, its step,
    status, rate (steps/s since this run or resume began writing it) and ETA. Reads files a run is
    still writing (SWMR); they show the frames flushed so far (every 64 frames)."""
    if not (run_dir / "metadata.json").exists():
        raise ValueError(f"RUN_DIR = {str(run_dir)!r} has no metadata.json; allowed: a directory written by `run`")
    meta = _read_json(run_dir / "metadata.json")
    lines = [
        f"{meta.get('scenario', '?')} in {run_dir}: {meta.get('status', '?')}"
        + (f" ({meta['error']})" if meta.get("error") else "")
    ]
    now = time.time()
    for path in sorted((run_dir / "timeseries").glob("*.h5")):
        try:
            with io.open_live(path) as f:
                step = int(f["step"][-1]) if f["step"].shape[0] else 0
                attrs = dict(f.attrs)
        except (OSError, KeyError) as exc:
            lines.append(f"  {path.name}: unreadable ({exc})")
            continue
        target = int(attrs.get("target_step", 0))
        done = f"{step}/{target} steps ({100 * step / target:.1f} %)" if target else f"step {step}"
        text = f"  {path.name}: {attrs.get('status', '?')}, {done}"
        if attrs.get("status") == "running" and "writing_since_unix" in attrs:
            rate = (step - int(attrs["writing_since_step"])) / max(now - float(attrs["writing_since_unix"]), 1e-9)
            eta = f", ETA {(target - step) / rate:.0f} s" if rate > 0 and target > step else ""
            text += f", {rate:.3g} steps/s{eta}"
        lines.append(text)
    return "\n".join(lines)


def _cmd_show(args) -> int:
    print(scenario.get(args.name).describe())
    return 0


def _parse_with_unit(text: str, units: dict, option: str, allowed: str, zero_ok: bool) -> float:
    """'2h'-style text: a number with an optional one-letter unit (case-insensitive), > 0 (>= 0
    with zero_ok)."""
    t = text.strip().lower()
    try:
        value = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        value = float("nan")
    if not (value >= 0 if zero_ok else value > 0):
        raise ValueError(f"{option} = {text!r} is not valid; allowed: {allowed}")
    return value


def parse_walltime(text: str | None) -> float | None:
    """'2h', '30m', '90s' or plain seconds -> seconds (None stays None)."""
    if text is None:
        return None
    return _parse_with_unit(
        text,
        {"h": 3600.0, "m": 60.0, "s": 1.0},
        "--walltime",
        "a positive duration, e.g. 2h, 30m, 90s, 3600",
        zero_ok=False,
    )


def parse_size(text: str | None) -> float | None:
    """'500M', '2G', '64k' or plain bytes -> bytes (None stays None)."""
    if text is None:
        return None
    return _parse_with_unit(
        text,
        {"k": 1e3, "m": 1e6, "g": 1e9},
        "--max-size",
        "a size >= 0, e.g. 500M, 2G, 0 (bytes without a unit)",
        zero_ok=True,
    )


def _cmd_run(args) -> int:
    scen = scenario.get(args.name)
    cfg = scen.run_config(args.quick, args.set, args.seed)
    scen.check(cfg)  # before the run directory exists
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every = {args.checkpoint_every} is out of range; allowed: >= 1 (steps)")
    walltime = parse_walltime(args.walltime)
    run_dir = io.make_run_dir(args.out, scen.name)
    with io.RunLock(run_dir):
        io.write_json(run_dir / "config.json", {"scenario": scen.name, "quick": args.quick, **cfg})
        meta = io.base_metadata(cfg["seed"]) | {
            "scenario": scen.name,
            "quick": args.quick,
            "checkpoint_every": args.checkpoint_every,
        }
        code = _execute(
            scen,
            cfg,
            run_dir,
            meta,
            args.quick,
            args.quiet,
            args.checkpoint_every,
            walltime,
            resume=False,
            strict=args.strict,
        )
    if code in (0, EXIT_CHECKS_FAILED) and args.animate:
        _animate(run_dir, args.quiet)
    return code


def _cmd_resume(args) -> int:
    from pathlib import Path

    run_dir = Path(args.run_dir)
    if not (run_dir / "config.json").exists():
        raise ValueError(f"RUN_DIR = {str(run_dir)!r} has no config.json; allowed: a directory written by `run`")
    walltime = parse_walltime(args.walltime)
    with io.RunLock(run_dir):
        cfg = _read_json(run_dir / "config.json")
        meta = _read_json(run_dir / "metadata.json") if (run_dir / "metadata.json").exists() else {}
        scen = scenario.get(cfg.pop("scenario"))
        quick = cfg.pop("quick")
        scen.check(cfg, source="config.json")
        meta = meta or io.base_metadata(cfg["seed"]) | {"scenario": scen.name, "quick": quick}
        meta["resumed"] = meta.get("resumed", 0) + 1
        if args.restart:
            for stale in [*(run_dir / "timeseries").glob("*.ckpt.npz*"), *(run_dir / "timeseries").glob("*.h5")]:
                stale.unlink()
        return _execute(
            scen,
            cfg,
            run_dir,
            meta,
            quick,
            args.quiet,
            meta.get("checkpoint_every"),
            walltime,
            resume=not args.restart,
            strict=args.strict,
        )


def _read_json(path) -> dict:
    """A run directory's JSON file; a corrupt one is a clear error naming it."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); allowed: the file as `run` wrote it") from None


def _cmd_sweep(args) -> int:
    from sim import ensemble

    scen = scenario.get(args.name)
    defaults = scenario.apply_overrides(scen.defaults(args.quick), args.set)
    params = ensemble.parse_params(args.param, defaults)
    if not params:
        raise ValueError("--param is missing; allowed: one or more --param key=v1,v2,...")
    scen.check(defaults | {"seed": args.seed})
    for key, values in params.items():  # every swept value, before any task runs
        for value in values:
            scen.check(scenario.apply_overrides(defaults, [f"{key}={json.dumps(value)}"]), source="--param")
    out = args.out or str(io.make_run_dir(None, f"sweep-{scen.name}"))
    sweep = ensemble.Sweep(
        scen.name, params, args.replicas, args.seed, out, quick=args.quick, overrides=args.set, batch=not args.no_batch
    )
    if args.workers is not None and args.scheduler is not None:
        raise ValueError("--workers and --scheduler exclude each other; allowed: one of them")
    client = ensemble.connect(workers=args.workers, scheduler=args.scheduler)
    try:
        pending = len(sweep.pending())
        if not args.quiet:
            print(f"sweep {scen.name}: {len(sweep.tasks)} runs ({pending} to do) in {out}", flush=True)
        table = sweep.run(client, progress=not args.quiet)
    finally:
        cluster = client.cluster if args.scheduler is None else None
        client.close()
        if cluster is not None:
            cluster.close()
    failed = [row for row in table if row["status"] != "completed"]
    if not args.quiet:
        print(f"results: {out}/results.csv, aggregate: {out}/aggregate.csv, figure: {out}/figures/sweep.png")
    if failed:
        print(
            f"error: {len(failed)} of {len(table)} runs failed (rows marked 'failed' in {out}/results.csv; "
            f"re-running the same sweep tries them again), e.g. {failed[0]['task']}: {failed[0]['error']}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0


@contextlib.contextmanager
def _sigterm_stops_the_run():
    """SIGTERM (batch schedulers) asks the run loop to stop at its next step boundary, where it
    raises ``Terminated`` with a checkpoint, as Ctrl-C does; a second SIGTERM stops at once."""

    def handler(signum, frame):
        if simulation.termination_requested():
            raise Terminated(f"signal {signum} (twice)")
        simulation.request_termination()

    simulation.clear_termination()
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        simulation.clear_termination()


def _execute(scen, cfg, run_dir, meta, quick, quiet, checkpoint_every, walltime, resume, strict=False) -> int:
    """Run (or resume) a scenario in ``run_dir`` (already locked); write metadata and summary; return the
    exit code. The status is 'completed' only when the scenario returned and its summary was written."""
    deadline = time.monotonic() + walltime if walltime else None
    ctx = scenario.RunContext(
        out_dir=run_dir,
        quick=quick,
        seed=cfg["seed"],
        quiet=quiet,
        checkpoint_every=checkpoint_every,
        deadline=deadline,
        resume=resume,
    )
    meta["status"] = "running"
    meta.pop("error", None)
    io.write_json(run_dir / "metadata.json", meta)
    (run_dir / "summary.json").unlink(missing_ok=True)  # a summary is present only for a completed run
    ctx.log(f"{scen.name}: {'resuming' if resume else 'writing to'} {run_dir}")
    t0 = time.perf_counter()
    status, failure = "completed", None
    try:
        with _sigterm_stops_the_run():
            summary = scen.run(cfg, ctx)
            io.write_json(run_dir / "summary.json", summary)
    except BaseException as exc:  # every ending is recorded; the exception is reported below
        status, failure = status_of(exc), exc
    finally:
        wall = time.perf_counter() - t0
        meta |= {
            "status": status,
            "wall_time_s": meta.get("wall_time_s", 0.0) + wall,
            "ring_steps": meta.get("ring_steps", 0.0) + ctx.ring_steps,
            "ring_steps_per_s": ctx.ring_steps / ctx.kernel_time if ctx.kernel_time else None,
            "notes": ctx.notes,
        }
        if failure is not None:
            meta["error"] = f"{type(failure).__name__}: {failure}"
        io.write_json(run_dir / "metadata.json", meta)
    if failure is None:
        ctx.log(f"{scen.name}: done in {wall:.1f} s; summary in {run_dir / 'summary.json'}")
        ctx.log(scenario.verdict_line(scen.name, summary))
        return EXIT_CHECKS_FAILED if strict and scenario.failing_checks(summary)[0] else 0
    resume_hint = f"continue with: python -m sim resume {run_dir}"
    if status == "failed":
        if isinstance(failure, (ValueError, CheckpointError)):
            raise failure  # bad input found inside the run, or no usable checkpoint: main() explains it
        kept = run_dir / "error.txt"
        try:
            kept.write_text("".join(traceback.format_exception(failure)))
        except OSError:  # the fault may be the disk's: the message below still says what happened
            kept = "error.txt could not be written either"
        what = (
            f"could not write {failure.filename}: {failure.strerror}"
            if isinstance(failure, OSError) and failure.filename
            else f"{type(failure).__name__}: {failure}"
        )
        print(
            f"error: the run failed: {what}\n(traceback in {kept}; status 'failed'; {resume_hint} once the "
            "cause is fixed)",
            file=sys.stderr,
        )
    elif status == "runaway":
        print(f"error: {failure}\nWhat was recorded so far is kept in {run_dir}.", file=sys.stderr)
    elif status == "walltime":
        print(f"stopped before the wall-time limit with a checkpoint; {resume_hint}", file=sys.stderr)
    else:
        print(f"{status}; what was recorded so far is kept in {run_dir}; {resume_hint}", file=sys.stderr)
    return EXIT_CODES[status]


def _animate(run_dir, quiet: bool, **kw) -> None:
    from sim.viz.animate import animate_run  # matplotlib and h5py only when animating

    for movie in animate_run(run_dir, quiet=quiet, **kw):
        if not quiet:
            print(f"animation: {movie}")


def _cmd_animate(args) -> int:
    _animate(
        args.run_dir,
        args.quiet,
        file=args.file,
        frames=args.frames,
        fps=args.fps,
        duration=args.duration,
        fmt=args.format,
        average=args.average,
    )
    return 0


def _cmd_spectra(args) -> int:
    from sim.radiative.cli import spectra_command

    return spectra_command(args.config, args.out, quiet=args.quiet, workers=args.workers, scheduler=args.scheduler)


def _cmd_cache(args) -> int:
    from sim.radiative.spectra import cache_usage, default_cache_dir, prune_cache

    where = args.dir or default_cache_dir()
    if args.older_than is not None and not args.older_than >= 0:
        raise ValueError(f"--older-than = {args.older_than} days; allowed: >= 0")
    deleted = prune_cache(parse_size(args.max_size), args.older_than, where)
    files = cache_usage(where)
    print(
        f"spectra cache {where}: {len(files)} files, {sum(f[1] for f in files) / 1e6:.1f} MB"
        + (f" (deleted {len(deleted)})" if deleted else "")
    )
    return 0


def _cmd_bench(args) -> int:
    import importlib

    if args.what not in BENCHES:
        raise ValueError(f"bench = {args.what!r} is unknown; allowed: {', '.join(sorted(BENCHES))}")
    module = importlib.import_module(BENCHES[args.what])
    if args.json is None:
        print(module.main(quick=args.quick))
        return 0
    if not hasattr(module, "measure"):
        machine_readable = sorted(k for k, v in BENCHES.items() if hasattr(importlib.import_module(v), "measure"))
        raise ValueError(
            f"--json with bench = {args.what!r}: not available; allowed: bench {', '.join(machine_readable)}"
        )
    figures = module.measure(quick=args.quick)
    io.write_json(args.json, figures)
    print(module.report(figures))
    print(f"every figure: {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list scenarios with one-line descriptions").set_defaults(func=_cmd_list)
    show = sub.add_parser(
        "show", help="a scenario's configuration keys: defaults (full and --quick), units, allowed ranges, meaning"
    )
    show.add_argument("name", help="scenario name (see `list`)")
    show.set_defaults(func=_cmd_show)
    status = sub.add_parser(
        "status", help="a run's status; per time series: step, status, rate and ETA (works while the run writes)"
    )
    status.add_argument("run_dir", metavar="RUN_DIR")
    status.set_defaults(func=_cmd_status)

    run = sub.add_parser("run", help="run a scenario into a run directory")
    run.add_argument("name", help="scenario name (see `list`)")
    run.add_argument("--quick", action="store_true", help="reduced run that still meets the scenario's tolerances")
    run.add_argument("--seed", type=int, default=None, help="RNG seed (default: the scenario's)")
    run.add_argument("--out", default=None, help="run directory (default: outputs/NAME-TIMESTAMP)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a configuration value (dotted keys for nested values); repeatable",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    run.add_argument(
        "--animate", action="store_true", help="after a successful run, animate its time series (as `animate RUN_DIR`)"
    )
    run.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="STEPS",
        help="write an exact checkpoint every STEPS steps of each simulated system",
    )
    run.add_argument(
        "--walltime",
        default=None,
        metavar="DURATION",
        help="stop cleanly with a checkpoint before this much wall time (2h, 30m, 90s)",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help=f"exit with status {EXIT_CHECKS_FAILED} if a check fails (documented deviations "
        "from the papers, listed under `deviations` in summary.json, do not count)",
    )
    run.set_defaults(func=_cmd_run)

    resume = sub.add_parser("resume", help="continue an interrupted or stopped run from its checkpoints")
    resume.add_argument("run_dir", metavar="RUN_DIR")
    resume.add_argument("--walltime", default=None, metavar="DURATION", help="as for run")
    resume.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    resume.add_argument("--strict", action="store_true", help="as for run")
    resume.add_argument(
        "--restart",
        action="store_true",
        help="ignore checkpoints and time series and compute the run again from its config.json "
        "(when no checkpoint is usable)",
    )
    resume.set_defaults(func=_cmd_resume)

    sweep = sub.add_parser("sweep", help="parameter product x replicas of a scenario on a Dask cluster")
    sweep.add_argument("name", help="scenario name (see `list`)")
    sweep.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a swept parameter and its values (repeatable: the sweep is their product)",
    )
    sweep.add_argument("--replicas", type=int, default=1, help="independent replicas per point (default 1)")
    sweep.add_argument("--seed", type=int, default=0, help="seed from which the replicas' streams are spawned")
    sweep.add_argument("--workers", type=int, default=None, help="local worker processes (default 2)")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS", help="an existing Dask scheduler instead")
    sweep.add_argument(
        "--out",
        default=None,
        help="sweep directory (default outputs/sweep-NAME-TIMESTAMP); re-running with the same one resumes",
    )
    sweep.add_argument("--quick", action="store_true", help="the scenario's reduced run for every task")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fixed overrides")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    sweep.add_argument(
        "--no-batch",
        action="store_true",
        help="run a point's replicas one after another (default: in lockstep, their rods as one batch; same results)",
    )
    sweep.set_defaults(func=_cmd_sweep)

    anim = sub.add_parser("animate", help="render a run's time series to MP4 (GIF if ffmpeg is unavailable)")
    anim.add_argument("run_dir", metavar="RUN_DIR", help="run directory (or one .h5 time-series file)")
    anim.add_argument(
        "--file", default=None, metavar="NAME", help="only this file of RUN_DIR/timeseries (default: every one)"
    )
    anim.add_argument(
        "--frames",
        type=int,
        default=None,
        help="frames shown, evenly spaced over the recorded ones (default 120, or fps*duration)",
    )
    anim.add_argument(
        "--fps",
        type=float,
        default=None,
        help="frames per second (default 24, slower for few frames so a movie lasts >= 5 s; or frames/duration)",
    )
    anim.add_argument("--duration", type=float, default=None, help="movie length in seconds")
    anim.add_argument(
        "--format",
        default="auto",
        choices=("auto", "mp4", "gif"),
        help="auto: MP4 if ffmpeg is available, else GIF (default)",
    )
    anim.add_argument(
        "--average",
        default="auto",
        choices=("auto", "block", "none"),
        help="rods: each movie frame shows the mean over the recorded frames since the previous one "
        "(block), or snapshots (none); auto: block for noisy rods when frames are skipped",
    )
    anim.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    anim.set_defaults(func=_cmd_animate)

    spectra = sub.add_parser("spectra", help="transmission spectra and conductances of a particle network")
    spectra.add_argument(
        "config", metavar="CONFIG.toml", help="geometry, materials and field (see sim/radiative/cli.py)"
    )
    spectra.add_argument("--out", required=True, metavar="DIR", help="directory for spectra.h5 and spectra.png")
    spectra.add_argument("--quiet", action="store_true", help="no messages")
    spectra.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="W",
        help="evaluate the frequencies on a local Dask cluster of W processes (same results)",
    )
    spectra.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="on an existing Dask scheduler instead, e.g. tcp://host:8786",
    )
    spectra.set_defaults(func=_cmd_spectra)

    cache = sub.add_parser("cache", help="size of the spectra cache; prune it by age or to a size")
    cache.add_argument(
        "--max-size",
        default=None,
        metavar="SIZE",
        help="delete the least recently used spectra until the cache holds at most SIZE (500M, 2G; 0 empties it)",
    )
    cache.add_argument(
        "--older-than", type=float, default=None, metavar="DAYS", help="delete spectra not used for more than DAYS days"
    )
    cache.add_argument("--dir", default=None, help="cache directory (default $SIM_CACHE_DIR or ~/.cache/sim/spectra)")
    cache.set_defaults(func=_cmd_cache)

    bench = sub.add_parser("bench", help="benchmarks: ratios against the NumPy twin and the cost floor")
    bench.add_argument("what", help=f"one of: {', '.join(sorted(BENCHES))}")
    bench.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    bench.add_argument("--json", metavar="FILE", default=None, help="also write every figure to FILE (JSON)")
    bench.set_defaults(func=_cmd_bench)
    return ap


def entry() -> int:
    """The command line (``python -m sim``, ``sim``): ``main``, then the exit after a storage fault."""
    code = main()
    io.exit_after_storage_fault(code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader went away (``sim show NAME | head``): nothing more to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except OSError as exc:  # a storage fault outside a run (creating or locking the run directory)
        print(
            f"error: {exc.strerror or exc} ({exc.filename or 'a file'}); allowed: a writable directory with free space",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except CheckpointError as exc:
        print(
            f"error: {exc}\nStart the run over in the same directory with: python -m sim resume "
            f"{getattr(args, 'run_dir', 'RUN_DIR')} --restart",
            file=sys.stderr,
        )
        return EXIT_FAILED
