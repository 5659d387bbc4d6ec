"""Progress bars that show only where a person is watching.

A bar on a terminal helps; in a batch log or a pipe it writes thousands of carriage-return
lines. ``progress`` is tqdm (the library does the drawing) switched off unless standard
error is a terminal, or when the caller asks for quiet.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def on_terminal() -> bool:
    """True when standard error is an interactive terminal."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(iterable: Iterable | None = None, *, quiet: bool = False, **kwargs: Any) -> tqdm:
    """``tqdm(iterable, **kwargs)``, disabled when ``quiet`` or not on a terminal."""
    return tqdm(iterable, disable=quiet or not on_terminal(), **kwargs)
