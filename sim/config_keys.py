"""What each scenario configuration key means: unit, type, allowed range, one line of physics.

A scenario declares ``KEYS = {"T_L": Key("left reservoir temperature", kind="number",
unit="reduced (k_B = 1)", low=0), ...}`` next to its ``defaults``. The declarations serve
three readers: ``python -m sim show NAME`` and the documentation's scenario gallery print
them, and ``check_config`` refuses a bad value before a run directory is created, with a
message naming the user's own key (``--set T_L = -1.0 is out of range; allowed: T_L > 0``).

Kinds: ``number`` (a real number, not a bool), ``integer``, ``bool``, ``choice`` (one of
``choices``), ``numbers`` / ``integers`` / ``bools`` / ``choices`` (a non-empty list whose
every item is of that kind and range; ``length`` fixes how many items it holds, ``row_length``
makes it a table of rows of that many items, ``increasing`` asks for strictly increasing items
in the list or in each row), ``mapping`` (a
nested table whose own keys are checked by the code that reads it) and ``text``.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any

REDUCED = "reduced (k_B = 1)"  # the rod's unit system (docs/model.md §A1)

KINDS = ("number", "integer", "bool", "choice", "numbers", "integers", "bools", "choices", "mapping", "text")


@dataclass(frozen=True)
class Key:
    """One configuration key. ``low``/``high`` bound numbers (inclusive unless ``*_open``)."""

    doc: str
    kind: str = "number"
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    nullable: bool = False  # null (None) is allowed and means what ``doc`` says (e.g. automatic)
    length: int | None = None  # list kinds: items per list
    row_length: int | None = None  # list kinds: a table, a non-empty list of rows of this many items
    increasing: bool = False  # list kinds: items (of the list or of each row) strictly increasing

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Key kind = {self.kind!r} is unknown; allowed: {', '.join(KINDS)}")

    @property
    def item_kind(self) -> str:
        """The kind of one item: 'numbers' -> 'number', 'choices' -> 'choice'."""
        return {"numbers": "number", "integers": "integer", "bools": "bool", "choices": "choice"}.get(
            self.kind, self.kind
        )

    def allowed(self, name: str = "x") -> str:
        """The allowed values in words, e.g. 'T_L > 0' or "one of 'dipole', 'multipole'"."""
        kind = self.item_kind
        if kind == "bool":
            text = "true or false"
        elif kind == "choice":
            text = "one of " + ", ".join(json.dumps(c) if isinstance(c, bool) else repr(c) for c in self.choices)
        elif kind in ("number", "integer"):
            parts = []
            if self.low is not None:
                parts.append(f"{name} {'>' if self.low_open else '>='} {self.low:g}")
            if self.high is not None:
                parts.append(f"{name} {'<' if self.high_open else '<='} {self.high:g}")
            text = (" and ".join(parts) if parts else "any finite value") + (" (integer)" if kind == "integer" else "")
        elif kind == "mapping":
            text = "a table (see the description)"
        else:
            text = "text"
        if self.kind != kind:
            if self.row_length:
                count = f"a non-empty list of rows [{', '.join(['x'] * self.row_length)}]"
            else:
                count = f"a list of {self.length}" if self.length else "a non-empty list"
            text = f"{count}{', increasing' if self.increasing else ''}, each item {text}"
        return f"null or {text}" if self.nullable else text

    def check_item(self, where: str, name: str, value: object) -> None:
        kind = self.item_kind
        bad = None
        if kind == "bool":
            bad = not isinstance(value, bool)
        elif kind == "choice":
            bad = not any(value == c and type(value) is type(c) for c in self.choices)  # 0 is not False
        elif kind in ("number", "integer"):
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind == "integer":
                number = number and float(value).is_integer()
            bad = not (number and math.isfinite(value)) or not self._in_range(value)
        elif kind == "mapping":
            bad = not isinstance(value, dict)
        elif kind == "text":
            bad = not isinstance(value, str)
        if bad:
            hint = ""
            if kind == "choice" and isinstance(value, str):
                close = difflib.get_close_matches(value, [str(c) for c in self.choices], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where} = {value!r} is not valid; allowed: {self.allowed(name)}{hint}")

    def _in_range(self, value) -> bool:
        if self.low is not None and not (value > self.low if self.low_open else value >= self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def _check_list(self, where: str, name: str, items: list, length: int | None) -> None:
        for item in items:
            self.check_item(where, name, item)
        if length is not None and len(items) != length:
            raise ValueError(
                f"{where} = {items!r} has {len(items)} item{'s' * (len(items) != 1)}; allowed: {self.allowed(name)}"
            )
        if self.increasing and any(b <= a for a, b in zip(items, items[1:])):
            raise ValueError(f"{where} = {items!r} is not increasing; allowed: {self.allowed(name)}")

    def check(self, where: str, name: str, value: object) -> None:
        """Raise ValueError naming ``where`` (the user's key path) if ``value`` is not allowed."""
        if value is None and self.nullable:
            return
        if self.kind != self.item_kind:
            if not isinstance(value, list) or not value:
                raise ValueError(f"{where} = {value!r} is not valid; allowed: {self.allowed(name)}")
            if self.row_length is None:
                self._check_list(where, name, value, self.length)
                return
            for row in value:  # a table: [[d, h], ...]
                if not isinstance(row, list):
                    raise ValueError(f"{where} = {value!r} is not valid; allowed: {self.allowed(name)}")
                self._check_list(where, name, row, self.row_length)
        else:
            self.check_item(where, name, value)


def lookup(cfg: dict, dotted: str) -> Any:
    node = cfg
    for part in dotted.split("."):
        node = node[part]
    return node


def check_config(keys: dict[str, Key], cfg: dict, source: str = "--set") -> None:
    """Check every declared key of ``cfg``; keys present in ``cfg`` but not declared are refused.

    ``source`` names where values came from in the messages ('--set', 'config.json').
    """
    for dotted, key in keys.items():
        try:
            value = lookup(cfg, dotted)
        except (KeyError, TypeError):
            continue  # an optional nested key the chosen variant does not have
        key.check(f"{source} {dotted}", dotted.rsplit(".", 1)[-1], value)
    top = {k.split(".")[0] for k in keys}
    unknown = [k for k in cfg if k not in top]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(top), n=1)
        raise ValueError(
            f"{source} {unknown[0]!r} is not a key of this scenario"
            + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; allowed: {', '.join(sorted(top))}"
        )


def undeclared(keys: dict[str, Key], cfg: dict, prefix: str = "") -> list[str]:
    """Leaf keys of ``cfg`` (dotted) that no declaration covers (a declared mapping covers its inside)."""
    out = []
    for k, v in cfg.items():
        dotted = prefix + k
        if dotted in keys:
            continue
        if isinstance(v, dict):
            out += undeclared(keys, v, dotted + ".")
        else:
            out.append(dotted)
    return out
