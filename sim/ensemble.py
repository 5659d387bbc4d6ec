"""Replicas and parameter sweeps of a scenario, on a Dask cluster (local by default).

A sweep is the product of parameter values times R replicas. Replica r gets the seed
``SeedSequence(S).spawn(R)[r]`` (the same for every parameter point: common random
numbers make differences between points less noisy). Each run (a point's replica) runs the
scenario in its own run directory ``SWEEP/runs/<task>/`` (config, metadata, summary, time
series). The unit of work on the Dask cluster is a parameter point: its replicas run in one
worker process in lockstep (``sim.lockstep``), so that every rod they simulate advances with
the other replicas' in one batch (the replicas the kernel's vector axis); a replica's files
and summary are bit for bit those of its run alone, so the per-run results are identical
whatever the number of workers and whether they were batched. Results are appended to
``results.csv`` as points finish; re-running the same sweep skips every run whose
``summary.json`` is marked completed (the rest of its point runs as a smaller batch). Points
are submitted with retries, so a worker that dies mid-point has it run again elsewhere;
finished runs are on disk already.

Outputs: ``results.csv`` and ``results.h5`` (tidy: one row per run: parameters, replica,
seed, every scalar of its summary, nested keys joined with '.'), ``aggregate.csv`` (per
parameter point: mean, standard error over the independent replicas, count, for every
numeric column), ``figures/sweep.png`` (headline quantities vs the swept parameter).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import time
import warnings
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim import io, scenario
from sim.lockstep import Lockstep
from sim.progress import progress as show_progress
from sim.validation import check_int

if TYPE_CHECKING:
    from dask.distributed import Client


def parse_params(specs: list[str], defaults: dict) -> dict:
    """``["key=v1,v2", ...]`` -> {key: [v1, v2]} with values parsed like ``--set`` values.

    Keys must exist in the scenario's configuration (dotted for nested ones).
    """
    out = {}
    for spec in specs or []:
        if "=" not in spec:
            raise ValueError(f"--param {spec!r} is not of the form key=v1,v2,...")
        key, values = spec.split("=", 1)
        key = key.strip()
        scenario.apply_overrides(defaults, [f"{key}=0"])  # raises for an unknown key
        items = [v for v in _split_values(values) if v != ""]
        if not items:
            raise ValueError(f"--param {key!r} has an empty value list; allowed: one or more values")
        out[key] = [scenario._parse_value(v) for v in items]
    return out


def _split_values(text: str) -> list[str]:
    """Split on commas outside brackets, so list values like [16,64] survive."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def replica_seeds(seed: int, replicas: int) -> list[int]:
    """64-bit seeds of ``replicas`` independent streams spawned from ``seed``."""
    return [int(s.generate_state(1, dtype=np.uint64)[0]) for s in np.random.SeedSequence(seed).spawn(replicas)]


def make_tasks(name: str, params: dict, replicas: int, seed: int) -> list[dict]:
    """Every (parameter point, replica) of the sweep, with a stable task id."""
    replicas = check_int("replicas", replicas, low=1)
    seeds = replica_seeds(seed, replicas)
    keys = list(params)
    tasks = []
    for values in itertools.product(*(params[k] for k in keys)):
        point = dict(zip(keys, values))
        for r in range(replicas):
            text = json.dumps({"scenario": name, "point": point, "replica": r, "seed": seeds[r]}, sort_keys=True)
            tid = (
                "-".join(f"{k}={_short(v)}" for k, v in point.items())
                + f"-r{r}-"
                + hashlib.sha1(text.encode()).hexdigest()[:8]
            )
            tasks.append({"id": tid, "point": point, "replica": r, "seed": seeds[r]})
    return tasks


def _short(value) -> str:
    s = json.dumps(value, separators=(",", ":")).strip('"')
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in s)[:24]


def completed_summary(run_dir: Path) -> dict | None:
    """The summary of a task that completed, or None: absent, not marked completed in its
    metadata, or corrupt (then a warning names the file and the task is recomputed)."""
    summary_path, meta_path = run_dir / "summary.json", run_dir / "metadata.json"
    if not summary_path.exists():
        return None
    try:
        summary = json.loads(summary_path.read_text())
        status = json.loads(meta_path.read_text()).get("status") if meta_path.exists() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        warnings.warn(f"{summary_path} or its metadata is corrupt ({exc}); the task is computed again", stacklevel=2)
        return None
    return summary if status == "completed" and isinstance(summary, dict) else None


def run_task(
    name: str, quick: bool, overrides: list[str], task: dict, sweep_dir: str, lockstep: Lockstep | None = None
) -> dict:
    """Run one task in its run directory (inside a worker); return its tidy row. ``lockstep``:
    the coordinator of its point's replicas, when they run as one batch (``run_point``).

    A task that fails becomes a row with ``status`` 'failed' and its ``error`` (its run
    directory says the same): one bad point does not stop the sweep.
    """
    run_dir = Path(sweep_dir) / "runs" / task["id"]
    head = {"task": task["id"], **task["point"], "replica": task["replica"], "seed": task["seed"]}
    summary = completed_summary(run_dir)
    if summary is None:
        (run_dir / "summary.json").unlink(missing_ok=True)
        scen = scenario.get(name)
        run_dir.mkdir(parents=True, exist_ok=True)
        meta = io.base_metadata(task["seed"]) | {"scenario": name, "quick": quick, "task": task, "status": "running"}
        io.write_json(run_dir / "metadata.json", meta)
        t0 = time.perf_counter()
        try:
            point = [f"{k}={json.dumps(v)}" for k, v in task["point"].items()]
            cfg = scen.run_config(quick, [*overrides, *point], task["seed"])
            scen.check(cfg, source="--param")
            io.write_json(run_dir / "config.json", {"scenario": name, "quick": quick, **cfg})
            ctx = scenario.RunContext(out_dir=run_dir, quick=quick, seed=task["seed"], quiet=True, lockstep=lockstep)
            summary = scen.run(cfg, ctx)
        except Exception as exc:  # recorded as the task's outcome, reported in the results table
            error = f"{type(exc).__name__}: {exc}"
            io.write_json(
                run_dir / "metadata.json",
                meta | {"status": "failed", "error": error, "wall_time_s": time.perf_counter() - t0},
            )
            return head | {"status": "failed", "error": error}
        io.write_json(run_dir / "summary.json", summary)
        io.write_json(
            run_dir / "metadata.json",
            meta | {"status": "completed", "wall_time_s": time.perf_counter() - t0, "notes": ctx.notes},
        )
    return head | {"status": "completed"} | flatten(summary)


def run_point(
    name: str, quick: bool, overrides: list[str], tasks: list[dict], sweep_dir: str, batch: bool = True
) -> list[dict]:
    """Run the replicas ``tasks`` of one parameter point (inside a worker); their rows, in order.
    Completed runs are read back; the others run in lockstep (``sim.lockstep``: their rods as one
    batch) when ``batch`` and more than one is left, else one after another."""
    pending = [t for t in tasks if completed_summary(Path(sweep_dir) / "runs" / t["id"]) is None]
    if batch and len(pending) > 1:
        lockstep = Lockstep()
        outcomes = lockstep.run([partial(run_task, name, quick, overrides, t, sweep_dir, lockstep) for t in pending])
        for outcome in outcomes:
            if isinstance(outcome, BaseException):  # run_task turns an Exception into a row
                raise outcome
        rows = dict(zip((t["id"] for t in pending), outcomes))
    else:
        rows = {t["id"]: run_task(name, quick, overrides, t, sweep_dir) for t in pending}
    return [rows[t["id"]] if t["id"] in rows else run_task(name, quick, overrides, t, sweep_dir) for t in tasks]


def points(tasks: list[dict]) -> list[list[dict]]:
    """The tasks grouped by parameter point, in order (``make_tasks`` lists a point's replicas together)."""
    groups: dict[str, list[dict]] = {}
    for t in tasks:
        groups.setdefault(json.dumps(t["point"], sort_keys=True), []).append(t)
    return list(groups.values())


def flatten(obj: object, prefix: str = "") -> dict:
    """Scalars of a nested summary: dict keys joined with '.', list items by index; long numeric
    lists (profiles, spectra) are left out of the table (they stay in the run's summary.json)."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out |= flatten(v, f"{prefix}{k}.")
    elif isinstance(obj, list):
        if len(obj) <= 16 or any(isinstance(v, dict) for v in obj):
            for i, v in enumerate(obj):
                out |= flatten(v, f"{prefix}{i}.")
    elif isinstance(obj, (bool, int, float, str)) or obj is None:
        out[prefix[:-1]] = obj
    return out


class Sweep:
    """A sweep of scenario ``name`` over ``params`` (dict key -> values) with ``replicas`` replicas;
    ``batch=False`` runs a point's replicas one after another instead of in lockstep."""

    def __init__(
        self,
        name: str,
        params: dict,
        replicas: int,
        seed: int,
        out_dir: str | os.PathLike,
        quick: bool = False,
        overrides: list[str] | None = None,
        batch: bool = True,
    ):
        self.scen = scenario.get(name)
        self.batch = batch
        self.params = params
        self.quick = quick
        self.overrides = overrides or []
        self.tasks = make_tasks(name, params, replicas, seed)
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        io.write_json(
            self.dir / "sweep.json",
            {
                "scenario": name,
                "params": params,
                "replicas": replicas,
                "seed": seed,
                "quick": quick,
                "overrides": self.overrides,
            },
        )

    def pending(self) -> list[dict]:
        """Tasks without a completed, readable summary (failed ones are tried again)."""
        return [t for t in self.tasks if completed_summary(self.dir / "runs" / t["id"]) is None]

    def run(self, client: Client, progress: bool = True) -> list[dict]:
        """Run the pending tasks on a ``dask.distributed.Client``; return every row (finished ones too)."""
        from dask.distributed import as_completed

        todo = self.pending()
        rows = {
            t["id"]: run_task(self.scen.name, self.quick, self.overrides, t, str(self.dir))
            for t in self.tasks
            if t not in todo
        }
        futures = [
            client.submit(
                run_point,
                self.scen.name,
                self.quick,
                self.overrides,
                [t for t in point if t in todo],
                str(self.dir),
                self.batch,
                key=f"sim-point-{point[0]['id']}",  # its first run's id: point, scenario, seed
                pure=False,
                retries=2,
            )
            for point in points(self.tasks)
            if any(t in todo for t in point)
        ]
        with show_progress(
            total=len(self.tasks), initial=len(rows), desc=f"sweep {self.scen.name}", unit="run", quiet=not progress
        ) as bar:
            for future in as_completed(futures):
                for row in future.result():
                    rows[row["task"]] = row
                    bar.update(1)
                self._write_table(rows)
        self._write_table(rows)
        table = [rows[t["id"]] for t in self.tasks]
        done = [row for row in table if row["status"] == "completed"]
        if done:
            self._aggregate(done)
        return table

    def _write_table(self, rows: dict) -> None:
        table = [rows[t["id"]] for t in self.tasks if t["id"] in rows]
        columns = list(dict.fromkeys(k for row in table for k in row))
        tmp = self.dir / ".results.csv.tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns)
            w.writeheader()
            w.writerows(table)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / "results.csv")

    def _aggregate(self, table: list[dict]) -> None:
        import h5py

        keys = list(self.params)
        numeric = [
            c
            for c in dict.fromkeys(k for row in table for k in row)
            if c not in keys
            and c not in ("task", "replica", "seed")
            and all(isinstance(row.get(c), (int, float, bool)) and row.get(c) is not None for row in table)
        ]
        groups = {}
        for row in table:
            groups.setdefault(json.dumps([row[k] for k in keys]), []).append(row)
        agg = []
        for label, rows in groups.items():
            entry = dict(zip(keys, json.loads(label))) | {"n": len(rows)}
            for c in numeric:
                x = np.array([float(r[c]) for r in rows])
                entry[f"{c}.mean"] = float(x.mean())
                entry[f"{c}.stderr"] = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
            agg.append(entry)
        with open(self.dir / "aggregate.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(agg[0]))
            w.writeheader()
            w.writerows(agg)
        with h5py.File(self.dir / "results.h5", "w") as f:
            for c in numeric + ["replica", "seed"]:
                f.create_dataset(c, data=np.array([float(r[c]) for r in table]))
            for k in keys:
                f.create_dataset(k, data=np.array([json.dumps(r[k]) for r in table], dtype="S"))
            f.attrs["tasks"] = json.dumps([r["task"] for r in table])
        self._plot(agg, keys, numeric)

    def _plot(self, agg, keys, numeric) -> None:
        from sim.viz.plots import new_figure, save

        headline = headline_columns(agg, numeric)
        if not keys or not headline:
            return
        x_key = keys[0]
        fig, ax = new_figure(min(3, len(headline)), (len(headline) + 2) // 3, width=4.2, height=3.2)
        for a, c in zip(ax.ravel(), headline):
            xs = [e[x_key] for e in agg]
            numeric_x = all(isinstance(v, (int, float)) for v in xs)
            pos = xs if numeric_x else list(range(len(xs)))
            a.errorbar(pos, [e[f"{c}.mean"] for e in agg], yerr=[e[f"{c}.stderr"] for e in agg], fmt="o", capsize=3)
            if not numeric_x:
                a.set_xticks(pos, [str(v) for v in xs], fontsize=7)
            a.set(xlabel=x_key, ylabel=c)
        for a in ax.ravel()[len(headline) :]:
            a.set_visible(False)
        replicas = sorted({e["n"] for e in agg})
        fig.suptitle(
            f"sweep {self.scen.name}: mean and standard error over {'/'.join(map(str, replicas))} replica(s) per point",
            fontsize=11,
        )
        (self.dir / "figures").mkdir(exist_ok=True)
        save(fig, self.dir / "figures" / "sweep.png")


BOOKKEEPING = ("stderr", "seed", "t_burn", "t_measure", "ledger", "steps", "wall", "lmax", "converged")


def headline_columns(agg: list[dict], numeric: list[str], limit: int = 6) -> list[str]:
    """The quantities worth a panel: numbers (not verdicts) that vary between the sweep's points,
    without bookkeeping (errors, seeds, run lengths, ledgers); top-level summary values first."""

    def varies(c):
        values = [e[f"{c}.mean"] for e in agg]
        return len(values) > 1 and np.ptp(values) > 1e-12 * max(np.abs(values).max(), 1e-300)

    candidates = [
        c
        for c in numeric
        if not c.startswith(("checks.", "all_pass"))
        and not any(word in c.rsplit(".", 1)[-1] for word in BOOKKEEPING)
        and varies(c)
    ]
    return sorted(candidates, key=lambda c: (c.count("."), numeric.index(c)))[:limit]


def connect(workers: int | None = None, scheduler: str | None = None, timeout: float = 10.0) -> Client:
    """A Dask client: an existing cluster at ``scheduler`` or a LocalCluster of ``workers`` processes."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "sweeps run on Dask, which is not installed; install it with: pip install -e '.[dask]'"
        ) from None

    if scheduler is not None:
        try:
            return Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ValueError(
                f"--scheduler = {scheduler!r} is unreachable within {timeout:g} s ({exc}); "
                "allowed: the address of a running dask scheduler, e.g. tcp://host:8786"
            ) from None
    workers = check_int("workers", workers if workers is not None else 2, low=1)
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    return Client(cluster)
