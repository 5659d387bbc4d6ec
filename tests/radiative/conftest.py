"""Shared fixtures: spectra caches go to a per-test temporary directory, never ~/.cache."""

import pytest


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / "spectra-cache"))
