"""The code is lint-clean and formatted (ruff, configured in pyproject.toml), as CI requires."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args):
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed: it comes with the test extra (pip install -e '.[test]')")
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing_to_lint():
    res = _ruff("check", "--output-format", "concise", ".")
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_file_is_formatted():
    res = _ruff("format", "--check", ".")
    assert res.returncode == 0, "run `ruff format .`:\n" + res.stdout + res.stderr
