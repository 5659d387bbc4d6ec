"""Measure the scenario gallery: run scenarios, record wall time, disk use and verdict in
``docs/gallery.json`` and keep their figures in ``docs/figures/`` for the site.

    python docs/measure_gallery.py                    # every scenario, --quick
    python docs/measure_gallery.py rod-dc hall        # only these
    python docs/measure_gallery.py --full rod-dc      # the full run
    python docs/measure_gallery.py --record RUN_DIR   # a run already made (completed), as it measured itself

Each run goes to ``outputs/gallery/NAME-quick`` (or ``-full``) through the command line,
exactly as a user would start it; a run that does not complete is reported and not recorded
(a row in the gallery is true or absent).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"


def measure(name: str, full: bool) -> dict | None:

    out = ROOT / "outputs" / "gallery" / f"{name}-{'full' if full else 'quick'}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "sim", "run", name, "--out", str(out), "--quiet"] + ([] if full else ["--quick"])
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    meta = json.loads((out / "metadata.json").read_text()) if (out / "metadata.json").exists() else {}
    if res.returncode != 0 or meta.get("status") != "completed":
        print(f"{name}: did not complete (exit {res.returncode}); not recorded\n{res.stderr[-2000:]}", flush=True)
        return None
    return _record(name, out, wall, meta)


def _record(name: str, out: Path, wall: float, meta: dict) -> dict:
    """The gallery row of the completed run in ``out`` that took ``wall`` seconds; its figures
    are copied for the site."""
    from sim import scenario

    summary = json.loads((out / "summary.json").read_text())
    figures = sorted(p.name for p in (out / "figures").glob("*.png")) if (out / "figures").exists() else []
    (DOCS / "figures").mkdir(exist_ok=True)
    for fig in figures:
        shutil.copy(out / "figures" / fig, DOCS / "figures" / fig)
    return {
        "wall_s": round(wall, 1),
        "disk_mb": round(disk_mb(out), 2),
        "verdict": scenario.verdict_line(name, summary),
        "machine": machine(),
        "date": meta.get("started", time.strftime("%Y-%m-%d"))[:10],
        "figures": figures,
    }


def recorded(run_dir: Path) -> tuple[str, bool, dict] | None:
    """(scenario, full, row) of a run made earlier, with the wall time its metadata states
    (the run's own clock, start to end); None unless it completed."""
    meta = json.loads((run_dir / "metadata.json").read_text()) if (run_dir / "metadata.json").exists() else {}
    if meta.get("status") != "completed" or not (run_dir / "summary.json").exists():
        print(f"{run_dir}: not a completed run; not recorded", flush=True)
        return None
    from sim import scenario

    name, quick = meta["scenario"], bool(meta.get("quick", False))
    config = json.loads((run_dir / "config.json").read_text())
    config = {k: v for k, v in config.items() if k not in ("scenario", "quick")}
    if config != json.loads(json.dumps(scenario.get(name).run_config(quick))):
        print(f"{run_dir}: not the scenario's {'quick' if quick else 'full'} configuration; not recorded", flush=True)
        return None
    return name, not quick, _record(name, run_dir, meta["wall_time_s"], meta)


def main(argv=None) -> int:
    from sim import scenario

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="scenarios (default: all)")
    ap.add_argument("--full", action="store_true", help="the full runs instead of --quick")
    ap.add_argument("--record", type=Path, metavar="RUN_DIR", help="record a completed run made earlier instead")
    args = ap.parse_args(argv)
    path = DOCS / "gallery.json"
    gallery = json.loads(path.read_text()) if path.exists() else {}
    if args.record:
        rows = [r for r in [recorded(args.record)] if r is not None]
    else:
        rows = []
        for name in args.names or sorted(scenario.load_scenarios()):
            scenario.get(name)  # an unknown name fails here, before anything runs
            record = measure(name, args.full)
            if record is not None:
                rows.append((name, args.full, record))
    for name, full, record in rows:
        entry = gallery.setdefault(name, {})
        entry["figures"] = sorted(set(entry.get("figures", [])) | set(record.pop("figures")))
        entry["full" if full else "quick"] = record
        path.write_text(json.dumps(gallery, indent=1, sort_keys=True) + "\n")
        print(f"{name}: {record['wall_s']:.0f} s, {record['disk_mb']:.1f} MB; {record['verdict']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
