"""Pages generated from the code at build time (mkdocs-gen-files), so they cannot drift from it:

- ``scenarios/<name>.md``: one page per registered scenario: its description and module
  docstring (the physics, measured vs expected), the commands, its figure, measured run time
  and disk use (``docs/gallery.json``, written by ``docs/measure_gallery.py``) and the table of
  its configuration keys (defaults full and quick, units, allowed ranges) from its ``KEYS``;
- ``scenarios/index.md``: the gallery, one line and one thumbnail per scenario;
- ``cli.md``: the command-line reference, from the argparse parser itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mkdocs_gen_files

from sim import cli, scenario

DOCS = Path(__file__).parent
FIGURES = DOCS / "figures"  # committed figures of the runs measured in gallery.json


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def keys_table(scen) -> list[str]:
    rows = ["| key | default | `--quick` | unit | allowed | meaning |", "|---|---|---|---|---|---|"]
    for dotted, key, full, quick in scen.key_rows():
        q = "same" if quick == full else f"`{_cell(quick)}`"
        rows.append(
            f"| `{dotted}` | `{_cell(full)}` | {q} | {_cell(key.unit or '-')} | "
            f"{_cell(key.allowed(dotted.rsplit('.', 1)[-1]))} | {_cell(key.doc)} |"
        )
    return rows


def measured(name: str, record: dict) -> list[str]:
    rows = ["| run | wall time | disk use | verdict | measured on |", "|---|---|---|---|---|"]
    for kind in ("quick", "full"):
        r = record.get(kind)
        if r:
            note = f" ({r['note']})" if r.get("note") else ""
            rows.append(
                f"| `{'--quick' if kind == 'quick' else 'full'}` | {r['wall_s']:.0f} s{note} | "
                f"{r['disk_mb']:.1f} MB | {_cell(r['verdict'])} | {r['machine']}, {r['date']} |"
            )
        else:
            rows.append(f"| `{'--quick' if kind == 'quick' else 'full'}` | not measured yet | | | |")
    return rows


def scenario_page(scen, record: dict) -> str:
    doc = scen.doc.strip().split("\n", 1)
    body = doc[1].strip() if len(doc) > 1 else ""
    lines = [
        f"# `{scen.name}`",
        "",
        f"*{scen.description}*",
        "",
        "## The physics",
        "",
        "```text",
        body,
        "```",
        "",
        "## Run it",
        "",
        "```bash",
        f"python -m sim run {scen.name} --quick    # reduced run",
        f"python -m sim run {scen.name}            # full run",
        f"python -m sim show {scen.name}           # the keys below, in the terminal",
        "```",
        "",
    ]
    for fig in record.get("figures", []):
        if (FIGURES / fig).exists():
            lines += [f"![{scen.name}: {fig}](../figures/{fig})", ""]
    lines += ["## Measured", ""] + measured(scen.name, record) + [""]
    lines += (
        [
            "## Configuration keys",
            "",
            "Set with `--set KEY=VALUE` (JSON values; dotted keys reach into tables). Checked before the run starts.",
            "",
        ]
        + keys_table(scen)
        + [""]
    )
    return "\n".join(lines)


def cli_page() -> str:
    parser = cli.build_parser()
    lines = [
        "# Command line",
        "",
        "Generated from the parser (`python -m sim COMMAND -h` prints the same).",
        "",
        "```text",
        parser.format_help(),
        "```",
        "",
    ]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        lines += [f"## `{name}`", "", "```text", p.format_help(), "```", ""]
    lines += [
        "## Exit codes",
        "",
        "Each way a run can end has its own status (in `metadata.json` and in every time-series file) and exit code:",
        "",
        "| code | status | meaning |",
        "|---|---|---|",
        "| 0 | completed | the run finished; with `--strict`, every check passed or is a documented deviation |",
        f"| {cli.EXIT_FAILED} | failed | an error inside the run (its text in `metadata.json`, the traceback "
        "in `error.txt`); also a sweep with failed points, or no usable checkpoint |",
        f"| {cli.EXIT_BAD_INPUT} | (none) | bad input, refused before anything runs: the message names the key, "
        "the value and the allowed range; also a run directory in use by another run |",
        f"| {cli.EXIT_WALLTIME} | walltime | stopped before the `--walltime` limit with a checkpoint: `resume` "
        "continues |",
        f"| {cli.EXIT_CHECKS_FAILED} | completed | `--strict` and a check failed that is not a documented deviation |",
        f"| {cli.EXIT_RUNAWAY} | runaway | the dynamics left the physical domain; what was recorded is kept |",
        f"| {cli.EXIT_CODES['interrupted']} | interrupted | Ctrl-C: a checkpoint when it stopped between steps; "
        "`resume` continues |",
        f"| {cli.EXIT_CODES['terminated']} | terminated | SIGTERM (batch schedulers): as Ctrl-C |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    gallery = json.loads((DOCS / "gallery.json").read_text()) if (DOCS / "gallery.json").exists() else {}
    reg = scenario.load_scenarios()
    index = [
        "# Scenario gallery",
        "",
        "Every scenario registered in `scenarios/`, with its physics, commands, "
        "figure, measured cost and configuration keys. `python -m sim list` prints the same list.",
        "",
        "| scenario | what it shows |",
        "|---|---|",
    ]
    for name in sorted(reg):
        with mkdocs_gen_files.open(f"scenarios/{name}.md", "w") as f:
            f.write(scenario_page(reg[name], gallery.get(name, {})))
        index.append(f"| [`{name}`]({name}.md) | {_cell(reg[name].description)} |")
    with mkdocs_gen_files.open("scenarios/index.md", "w") as f:
        f.write("\n".join(index) + "\n")
    with mkdocs_gen_files.open("cli.md", "w") as f:
        f.write(cli_page())
    for fig in sorted(FIGURES.glob("*.png")) if FIGURES.exists() else []:
        with mkdocs_gen_files.open(f"figures/{fig.name}", "wb") as f:
            shutil.copyfileobj(fig.open("rb"), f)


main()
