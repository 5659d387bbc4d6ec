"""Bad --set values, fuzzed: each is refused before anything runs, with exit code 2 and a message
naming the user's key; never a traceback, never a silently accepted out-of-range value."""

import contextlib
import io
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import cli, scenario

SCENARIOS = [
    "rod-dc",
    "rod-ac",
    "rod-critical",
    "rod-second-sound",
    "rod-shapiro",
    "drag-sic",
    "drag-sic-au",
    "conductance-vs-h",
    "insb-persistent",
    "drag-noise",
    "hall",
    "persistent-drag",
]


def _bad_value(key, draw):
    """A JSON text the key must refuse: the wrong type, or a number outside its range."""
    kind = key.item_kind
    wrong_type = st.sampled_from(
        ['"five"', "true", "null", "{}", '"maybe"'] if kind != "bool" else ['"maybe"', "0", "1", "2.5", '"yes"']
    )
    options = [wrong_type]
    if kind in ("number", "integer"):
        if key.low is not None:
            options.append(
                st.floats(max_value=key.low - 1e-6 * max(1, abs(key.low)), allow_nan=False, min_value=-1e300).map(repr)
            )
        if key.high is not None:
            options.append(
                st.floats(min_value=key.high + 1e-6 * max(1, abs(key.high)), max_value=1e300, allow_nan=False).map(repr)
            )
        options.append(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        if kind == "integer":
            options.append(
                st.floats(min_value=(key.low or 0) + 0.1, max_value=1e6)
                .filter(lambda x: not float(x).is_integer())
                .map(repr)
            )
    if kind == "choice":
        options.append(
            st.text(min_size=1, max_size=12).filter(lambda t: t not in map(str, key.choices)).map(json.dumps)
        )
    text = draw(st.one_of(*options))
    if key.kind != kind:  # a list key: the bad item inside a list, or an empty list
        text = draw(st.sampled_from([f"[{text}]", "[]", text if text.startswith('"') else f"[1, {text}]"]))
    if key.nullable and text == "null":
        text = '"five"'
    return text


@st.composite
def bad_input(draw):
    name = draw(st.sampled_from(SCENARIOS))
    scen = scenario.get(name)
    dotted = draw(st.sampled_from(sorted(k for k, key in scen.keys.items() if key.kind != "mapping")))
    return name, dotted, _bad_value(scen.keys[dotted], draw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bad_input())
def test_a_bad_set_value_is_refused_naming_the_key(tmp_path, case):
    name, dotted, text = case
    out = tmp_path / f"run-{abs(hash(case))}"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["run", name, "--quick", "--quiet", "--out", str(out), "--set", f"{dotted}={text}"])
    message = err.getvalue()
    assert code == cli.EXIT_BAD_INPUT, (case, message)
    assert f"--set {dotted}" in message and "allowed:" in message and "Traceback" not in message, (case, message)
    assert not out.exists(), case  # refused before the run directory was made


@pytest.mark.parametrize("text", ["five", "1e400", "[1,", '{"a": 1'])
def test_unparsable_or_overflowing_text_is_refused_naming_the_key(tmp_path, capsys, text):
    code = cli.main(["run", "rod-dc", "--quick", "--out", str(tmp_path / "r"), "--set", f"K={text}"])
    assert code == cli.EXIT_BAD_INPUT and "--set K" in capsys.readouterr().err
    assert math.isinf(float("1e400"))  # what JSON makes of the overflow: not finite, so refused


CONTRADICTIONS = [  # (scenario, overrides that each pass their own key, the key the refusal must name)
    ("drag-sic", {"h_max": 1e-7}, "h_max"),  # below the grid's first h
    ("drag-sic-au", {"model": "dipole", "lmax": 3}, "lmax"),
    ("conductance-vs-h", {"h_max": 2.5e-7}, "h_max"),  # below the multipole grid's first h
    ("drag-noise", {"a_dt": 1e-12}, "a_dt"),  # 2e15 steps
    ("hall", {"dT": 700.0}, "dT"),  # the cold corner below 0 K
    ("hall", {"spacing": 1e-7}, "spacing"),  # overlapping spheres
    ("insb-persistent", {"h_near": 1e-7}, "h_near"),
    ("insb-persistent", {"wavelength": [9e-6, 11e-6, 1.5]}, "wavelength"),
    ("insb-persistent", {"B_spectra": [5.0, 5.0]}, "B_spectra"),
    ("persistent-drag", {"T_offset": 200.0}, "T_offset"),  # the passive ring below 0 K
]


@pytest.mark.parametrize("name, overrides, key", CONTRADICTIONS)
def test_keys_that_contradict_each_other_are_refused_before_the_run(tmp_path, capsys, name, overrides, key):
    out = tmp_path / "run"
    sets = [arg for k, v in overrides.items() for arg in ("--set", f"{k}={json.dumps(v)}")]
    code = cli.main(["run", name, "--quick", "--quiet", "--out", str(out), *sets])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT, err
    assert f"{key} = " in err and "allowed:" in err and "Traceback" not in err, err
    assert not out.exists()
