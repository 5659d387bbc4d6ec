"""Scenario registry and the context a scenario runs in.

A scenario is a thin script in ``scenarios/``: a function ``run(cfg, ctx) -> summary``
registered with ``@scenario(name, description, defaults)`` where ``defaults(quick)`` gives
the configuration dict (publication-quality unless ``quick``). ``python -m sim run NAME``
finds it, applies ``--set key=value`` overrides, creates the run directory and writes
config, metadata and summary around the call.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REGISTRY: dict[str, "Scenario"] = {}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    defaults: Callable[[bool], dict]
    run: Callable[[dict, "RunContext"], dict]


def scenario(name: str, description: str, defaults: Callable[[bool], dict]):
    """Register ``run(cfg, ctx) -> summary`` under ``name``."""

    def register(fn):
        REGISTRY[name] = Scenario(name, description, defaults, fn)
        return fn

    return register


def load_scenarios() -> dict[str, Scenario]:
    """Import the ``scenarios`` package (which registers every scenario) and return the registry."""
    import scenarios  # noqa: F401  (registration happens on import)

    return REGISTRY


def get(name: str) -> Scenario:
    reg = load_scenarios()
    if name not in reg:
        raise ValueError(f"scenario = {name!r} is unknown; allowed: {', '.join(sorted(reg))}")
    return reg[name]


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
                raise ValueError(f"--set {key!r}: unknown key {part!r} in {where}; allowed: {allowed}")
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
    reach every recorded run through ``sim.simulation.run_recorded``.
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

    def path(self, *parts: str) -> Path:
        p = self.out_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, flush=True)
