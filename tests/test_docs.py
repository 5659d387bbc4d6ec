"""The documentation: the site builds with warnings as errors (links and anchors checked), the
README stays a front page, and nothing points outside the repository or calls a paper "the seed"."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocs_gen_files")
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "docs" / "mkdocs.yml"),
            "-d",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    for page in ("index.html", "model/index.html", "cli/index.html", "scenarios/rod-dc/index.html"):
        assert (tmp_path / "site" / page).stat().st_size > 2000, page
    gallery = (tmp_path / "site" / "scenarios" / "rod-dc" / "index.html").read_text()
    assert "t_deterministic" in gallery and "reduced (k_B = 1)" in gallery  # the keys table came from the code


def test_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 200
    assert ".ci/run" in text and "-m pytest" in text


def test_every_link_of_the_readme_leads_somewhere():
    """The site build checks the pages' links; the README is not part of the site: its relative
    links must name files of the repository, and its external ones be https."""
    import re

    links = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
    assert links
    for link in links:
        if "://" in link:
            assert link.startswith("https://"), link
        else:
            assert (ROOT / link.split("#")[0]).exists(), f"README links to {link}, which does not exist"


def _tracked_text_files():
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    for name in out:
        path = ROOT / name
        if path.suffix in (".py", ".md", ".toml", ".yml", ".json", "") and path.is_file() and name != __file__:
            yield name, path.read_text(errors="replace")


@pytest.mark.parametrize(
    "pattern",
    [
        r"MODEL\.md",
        r"\.\./shared",
        r"ARCHITECTURE\.md",
        r"(?i)\bthe seeds?'s?\b(?! r)",
        r"(?i)seed paper",
        r"(?i)\bseed (Fig|Eq)",
    ],
)
def test_nothing_points_outside_the_repository_or_calls_a_paper_the_seed(pattern):
    this = Path(__file__).relative_to(ROOT).as_posix()
    hits = [
        f"{name}:{i + 1}"
        for name, text in _tracked_text_files()
        if name != this
        for i, line in enumerate(text.splitlines())
        if re.search(pattern, line)
    ]
    assert not hits, hits[:20]
