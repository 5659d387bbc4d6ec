"""Count how `python -m sim run` treats bad input: ``python tests/count_bad_inputs.py``.

Every scenario, every declared key: values of the wrong type, just outside each bound, NaN,
non-integers for counts, unknown choices; then keys that each pass their own declaration but
contradict each other (tests/test_fuzz_inputs.py CONTRADICTIONS) and mistyped key names.
Each input goes through the command line's own path (``cli.main``) with the run itself
replaced by a stub, so an accepted input is counted, not run. Prints the counts by class:

* clear: exit code 2, the message names the user's key and what is allowed, no run directory;
* internal: refused, but the message does not name the key;
* traceback: an exception escaped, or a message carries a traceback;
* silent: accepted (the stub was reached).

The test suite holds the same line (test_fuzz_inputs.py); this script gives the census.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim import cli, scenario  # noqa: E402
from tests.test_fuzz_inputs import CONTRADICTIONS  # noqa: E402


def bad_values(key) -> list[str]:
    """JSON texts ``key`` must refuse."""
    kind = key.item_kind
    out = ['"maybe"', "0"] if kind == "bool" else ['"five"', "true"]
    if kind in ("number", "integer"):
        if key.low is not None:
            out.append(repr(key.low - 1e-6 * max(1.0, abs(key.low))) if not key.low_open else repr(float(key.low)))
        if key.high is not None:
            out.append(repr(key.high + 1e-6 * max(1.0, abs(key.high))) if not key.high_open else repr(float(key.high)))
        out.append("NaN")
        if kind == "integer":
            out.append(repr((key.low or 0) + 1.5))
    if kind == "choice":
        out.append('"no-such-choice"')
    if key.kind != kind:  # a list key: a bad item inside the list, and the empty list
        out = [f"[{v}]" for v in out] + ["[]"]
    if key.nullable:
        out = [v for v in out if v != "null"]
    return out


def classify(name: str, sets: list[str], key: str) -> str:
    out = Path(tempfile.mkdtemp()) / "run"
    err = io.StringIO()
    accepted = []
    real = cli._execute
    cli._execute = lambda *a, **k: accepted.append(1) or 0
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            args = ["run", name, "--quick", "--quiet", "--out", str(out)]
            for s in sets:
                args += ["--set", s]
            code = cli.main(args)
    except BaseException:  # noqa: BLE001  an escaped exception is what is counted
        return "traceback"
    finally:
        cli._execute = real
    message = err.getvalue()
    if accepted:
        return "silent"
    if "Traceback" in message or code != cli.EXIT_BAD_INPUT:
        return "traceback"
    named = f"--set {key}" in message or f"{key} = " in message or f"{key!r}" in message
    return "clear" if named and "allowed" in message and not out.exists() else "internal"


def main() -> None:
    counts, examples = collections.Counter(), collections.defaultdict(list)
    cases = []
    for name, scen in sorted(scenario.load_scenarios().items()):
        for dotted, key in sorted(scen.keys.items()):
            if key.kind == "mapping":
                continue
            cases += [(name, [f"{dotted}={v}"], dotted) for v in bad_values(key)]
        first = sorted(scen.keys)[0]
        cases.append((name, [f"{first}x=1"], f"{first}x"))  # a mistyped key
    cases += [(name, [f"{k}={json.dumps(v)}" for k, v in over.items()], key) for name, over, key in CONTRADICTIONS]
    for name, sets, key in cases:
        verdict = classify(name, sets, key)
        counts[verdict] += 1
        if verdict != "clear":
            examples[verdict].append(f"{name} {' '.join(sets)}")
    print(
        f"{len(cases)} bad inputs: "
        + ", ".join(f"{k} {counts[k]}" for k in ("clear", "internal", "traceback", "silent"))
    )
    for verdict, items in examples.items():
        print(f"{verdict}:", *items[:20], sep="\n  ")


if __name__ == "__main__":
    main()
