"""Runnable studies, one module each; importing this package registers them all."""

from scenarios import rod_dc  # noqa: F401
