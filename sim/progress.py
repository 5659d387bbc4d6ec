"""Progress that shows where a person is watching, and stays readable where nobody is.

On a terminal ``progress`` is a tqdm bar (the library does the drawing). In a batch log or a
pipe a bar would write thousands of carriage-return updates; there the same tqdm writes at
most one plain line every ``LOG_EVERY_S`` seconds, and nothing at all for work that ends
sooner, so a run of hours says in its log how far it has come. ``quiet`` silences both.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm.auto import tqdm

#: seconds between progress lines off a terminal (and before the first one)
LOG_EVERY_S = 60.0


def on_terminal() -> bool:
    """True when standard error is an interactive terminal."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class _Lines:
    """A stream for tqdm off a terminal: each status it draws becomes one whole line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()  # tqdm redraws with \r and pads or clears with blanks
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress(iterable: Iterable | None = None, *, quiet: bool = False, **kwargs: Any) -> tqdm:
    """``tqdm(iterable, **kwargs)``: a bar on a terminal; off it, a plain line at most every
    ``LOG_EVERY_S`` seconds (none for shorter work); nothing when ``quiet``."""
    if quiet or on_terminal():
        return tqdm(iterable, disable=quiet, **kwargs)
    stream = kwargs.pop("file", None) or sys.stderr
    return tqdm(iterable, file=_Lines(stream), mininterval=LOG_EVERY_S, delay=LOG_EVERY_S, ascii=True, **kwargs)
