"""Scenario registry and the context a scenario runs in.

A scenario is a thin script in ``scenarios/`` (installed as the package ``sim_scenarios``; other
packages add theirs through the ``sim.scenarios`` entry-point group): a function ``run(cfg, ctx) -> summary``
registered with ``@scenario(name, description, defaults, keys, precheck)`` where
``defaults(quick)`` gives the configuration dict (publication-quality unless ``quick``),
``keys`` declares it (``sim.config_keys``) and ``precheck`` refuses what only its cases can
tell. ``python -m sim run NAME`` finds it, applies ``--set key=value`` overrides, creates the run directory and writes
config, metadata and summary around the call.

Every summary comes out of ``run`` in one shape (``tally``): ``checks`` holds booleans only
(a claim the run tested, true or false), ``metrics`` the numbers reported beside them,
``deviations`` the failing checks that are documented deviations from the papers (each with
its reason) and ``all_pass`` whether every check passed (null for a run that has no checks:
nothing is reported as passed that was not checked). ``verdict_line`` says it in one line.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.config_keys import Key, check_config, lookup

if TYPE_CHECKING:
    from sim.lockstep import Lockstep

REGISTRY: dict[str, Scenario] = {}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    defaults: Callable[[bool], dict]
    run: Callable[[dict, RunContext], dict]
    keys: dict = field(default_factory=dict)  # dotted key -> sim.config_keys.Key
    doc: str = ""  # the scenario module's docstring: the physics, measured vs expected
    precheck: Callable[[dict], None] | None = None  # builds every case's parameters, runs nothing

    def check(self, cfg: dict, source: str = "--set") -> None:
        """Refuse a configuration with a bad or unknown key before anything runs (see ``sim.config_keys``),
        then let the scenario's ``precheck`` refuse what only its cases can tell (a time step beyond a
        case's stability limit, keys that contradict each other)."""
        if self.keys:
            check_config(self.keys | {"seed": SEED_KEY}, cfg, source)
        if self.precheck is not None:
            self.precheck(cfg)

    def run_config(self, quick: bool, overrides: Sequence[str] = (), seed: int | None = None) -> dict:
        """The configuration a run of this scenario writes to ``config.json`` (less the scenario
        name and ``quick``): the defaults, the ``key=value`` overrides, and the seed (the one given,
        else the defaults', else 0)."""
        cfg = apply_overrides(self.defaults(quick), list(overrides))
        cfg["seed"] = seed if seed is not None else cfg.get("seed", 0)
        return cfg

    def declared(self, cfg: dict) -> dict:
        """The declared keys, with the seed where the configuration has one."""
        return self.keys | ({"seed": SEED_KEY} if "seed" in cfg else {})

    def key_rows(self) -> list[tuple[str, Key, str, str]]:
        """(dotted key, declaration, full default, quick default) per declared key, defaults as JSON
        text ('(not set)' where a variant lacks the key): what ``show`` and the gallery print."""
        full, quick = self.defaults(False), self.defaults(True)
        rows = []
        for dotted, key in self.declared(full).items():
            values = []
            for cfg in (full, quick):
                try:
                    values.append(json.dumps(lookup(cfg, dotted)))
                except (KeyError, TypeError):
                    values.append("(not set)")
            rows.append((dotted, key, *values))
        return rows

    def describe(self) -> str:
        """What ``python -m sim show NAME`` prints: description, then each key with both defaults."""
        lines = [
            f"{self.name}: {self.description}",
            "",
            "keys (set with --set KEY=VALUE; dotted keys reach into tables):",
        ]
        for dotted, key, full, quick in self.key_rows():
            quick_text = "same with --quick" if quick == full else f"--quick: {quick}"
            unit = f" [{key.unit}]" if key.unit else ""
            lines += [
                f"  {dotted} = {full}{unit}   ({quick_text})",
                f"      {key.doc}; allowed: {key.allowed(dotted.rsplit('.', 1)[-1])}",
            ]
        return "\n".join(lines)


SEED_KEY = Key("seed of the counter-based random streams (or of the replicas' spawned streams)", kind="integer", low=0)


def scenario(
    name: str,
    description: str,
    defaults: Callable[[bool], dict],
    keys: dict | None = None,
    precheck: Callable[[dict], None] | None = None,
) -> Callable[[Callable[[dict, RunContext], dict]], Callable[[dict, RunContext], dict]]:
    """Register ``run(cfg, ctx) -> summary`` under ``name``; its summaries pass through ``tally``.

    ``keys`` declares the configuration keys (``sim.config_keys.Key``): units, ranges and
    meaning, for ``show``, the documentation and the input check before a run. ``precheck(cfg)``
    (optional) raises ValueError for a configuration its cases cannot run, before anything runs.
    """

    def register(fn):
        doc = sys.modules[fn.__module__].__doc__ or ""
        REGISTRY[name] = Scenario(
            name, description, defaults, lambda cfg, ctx: tally(fn(cfg, ctx)), dict(keys or {}), doc, precheck
        )
        return fn

    return register


def tally(summary: dict) -> dict:
    """Put a scenario's summary in the shape every run reports (see the module docstring).

    Non-boolean entries a scenario left under ``checks`` (a measured deviation, a list of
    boundaries) move to ``metrics``: a number is not a verdict.
    """
    checks, metrics = {}, dict(summary.get("metrics", {}))
    for key, value in summary.get("checks", {}).items():
        if isinstance(value, (bool, np.bool_)):
            checks[key] = bool(value)
        else:
            metrics[key] = value
    out = {k: v for k, v in summary.items() if k not in ("checks", "metrics", "deviations", "all_pass")}
    return out | {
        "checks": checks,
        "metrics": metrics,
        "deviations": dict(summary.get("deviations", {})),
        "all_pass": all(checks.values()) if checks else None,
    }


def failing_checks(summary: dict) -> tuple[list[str], list[str]]:
    """(undocumented, documented): the failing checks, split by whether ``deviations`` explains them."""
    failed = [k for k, ok in summary.get("checks", {}).items() if not ok]
    documented = summary.get("deviations", {})
    return [k for k in failed if k not in documented], [k for k in failed if k in documented]


def verdict_line(name: str, summary: dict) -> str:
    """One line: 'rod-dc: 7/7 checks pass', or which fail and which of those are documented deviations."""
    checks = summary.get("checks", {})
    if not checks:
        return f"{name}: no checks (a demonstration run; see its figures and summary)"
    undocumented, documented = failing_checks(summary)
    line = f"{name}: {sum(checks.values())}/{len(checks)} checks pass"
    if documented:
        line += f"; documented deviations from the papers: {', '.join(documented)}"
    if undocumented:
        line += f"; FAILED: {', '.join(undocumented)}"
    return line


#: entry-point group naming the packages of scenario modules (``pyproject.toml``)
ENTRY_POINT_GROUP = "sim.scenarios"


def scenario_packages() -> list[str]:
    """The packages of scenario modules registered in the ``sim.scenarios`` entry-point group
    (this project's ``sim_scenarios``, the folder ``scenarios/``, and any other installed package's)."""
    from importlib.metadata import entry_points

    return sorted({ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)})


def catalog() -> dict[str, tuple[str, str]]:
    """name -> (module, description) of every registered scenario, read from the modules' source
    (their ``@scenario("name", "description", ...)`` lines) without importing them: ``python -m
    sim list`` stays fast, and ``get`` imports only the module it needs."""
    import ast
    import importlib.util

    found = {}
    for package in scenario_packages():
        spec = importlib.util.find_spec(package)  # locates the package, runs nothing
        for folder in spec.submodule_search_locations if spec else []:
            for path in sorted(Path(folder).glob("*.py")):
                for node in ast.walk(ast.parse(path.read_text())):
                    for deco in getattr(node, "decorator_list", []):
                        if (
                            isinstance(deco, ast.Call)
                            and getattr(deco.func, "id", None) == "scenario"
                            and len(deco.args) >= 2
                        ):
                            module = f"{package}.{path.stem}"
                            found[ast.literal_eval(deco.args[0])] = (module, ast.literal_eval(deco.args[1]))
    return found


def load_scenarios() -> dict[str, Scenario]:
    """Import every registered scenario module (registering its scenarios); the registry."""
    for module in sorted({m for m, _ in catalog().values()}):
        importlib.import_module(module)
    return REGISTRY


def get(name: str) -> Scenario:
    """The scenario ``name``, importing only its module."""
    if name not in REGISTRY and name in (known := catalog()):
        importlib.import_module(known[name][0])
    if name not in REGISTRY:
        names = sorted(set(catalog()) | set(REGISTRY))
        close = difflib.get_close_matches(str(name), names, n=1)
        raise ValueError(
            f"scenario = {name!r} is unknown"
            + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; allowed: {', '.join(names)}"
        )
    return REGISTRY[name]


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        return text


def apply_overrides(cfg: dict, assignments: list[str]) -> dict:
    """Return a copy of ``cfg`` with ``key=value`` assignments applied (dotted keys for nesting).

    Values are parsed as JSON where possible (numbers, lists, true/false), else kept as
    strings. Unknown keys raise ValueError listing the allowed ones.
    """
    out = copy.deepcopy(cfg)
    for item in assignments or []:
        if "=" not in item:
            raise ValueError(f"--set {item!r} is not of the form key=value")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = out
        for depth, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(parts[:depth]) or "the configuration"
                allowed = ", ".join(sorted(node)) if isinstance(node, dict) else "(none)"
                close = difflib.get_close_matches(part, sorted(node), n=1) if isinstance(node, dict) else []
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"--set {key!r}: unknown key {part!r} in {where}{hint}; allowed: {allowed}")
            if depth == len(parts) - 1:
                node[part] = _parse_value(text.strip())
            else:
                node = node[part]
    return out


@dataclass
class RunContext:
    """What a scenario needs from the outside: where to write, quick or full, seed, verbosity.

    ``ring_steps`` and ``kernel_time`` accumulate the work done, for the metadata.
    ``checkpoint_every`` (steps), ``deadline`` (``time.monotonic()`` value) and ``resume``
    reach every recorded run through ``sim.simulation.run_recorded``. ``lockstep``: the
    coordinator of a sweep point's replicas (``sim.lockstep``), which ``sim.rod.runner.simulate``
    hands its rods to, to be run with the other replicas' as one batch.
    """

    out_dir: Path
    quick: bool = False
    seed: int = 0
    quiet: bool = False
    checkpoint_every: int | None = None
    deadline: float | None = None
    resume: bool = False
    ring_steps: float = 0.0
    kernel_time: float = 0.0
    notes: list = field(default_factory=list)
    lockstep: Lockstep | None = None  # set by a sweep running a point's replicas as one batch

    def path(self, *parts: str) -> Path:
        p = self.out_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, flush=True)
