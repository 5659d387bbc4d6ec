"""Configuration keys: every scenario declares its keys, defaults satisfy them, bad values are refused
before a run directory exists; summaries are tallied into checks (booleans), metrics and all_pass."""

import pytest

from sim import cli, scenario
from sim.config_keys import Key, check_config, undeclared

SCENARIOS = sorted(scenario.load_scenarios())


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("quick", [False, True])
def test_every_default_key_is_declared_and_allowed(name, quick):
    scen = scenario.get(name)
    cfg = scen.defaults(quick)
    assert scen.keys, f"{name} declares no keys"
    assert undeclared(scen.keys | {"seed": scenario.SEED_KEY}, cfg) == []
    scen.check(cfg)  # the defaults pass their own declarations
    assert all(key.doc for key in scen.keys.values())


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        (Key("x", "number", low=0, low_open=True), True, "allowed: x > 0"),  # a bool is not a number
        (Key("x", "number", low=0, low_open=True), -1.0, "allowed: x > 0"),
        (Key("x", "number", high=3), float("nan"), "x <= 3"),
        (Key("x", "integer", low=1), 2.5, "(integer)"),
        (Key("x", "bool"), "maybe", "true or false"),
        (Key("x", "numbers", low=0), [], "non-empty list"),
        (Key("x", "numbers", low=0), [1.0, -2.0], "each item x >= 0"),
        (Key("x", "choice", choices=("dipole", "multipole")), "multipol", "did you mean 'multipole'"),
        (Key("x", "numbers", length=2), [1.0], "has 1 item; allowed: a list of 2"),
        (Key("x", "numbers", length=2, increasing=True), [2.0, 1.0], "not increasing"),
        (Key("x", "numbers", row_length=2), [1.0, 2.0], "list of rows [x, x]"),  # a row, not a table
        (Key("x", "numbers", row_length=2), [[1.0, 2.0], [3.0]], "has 1 item"),
        (Key("x", "numbers", row_length=2, low=2), [[1.0, 2.0]], "each item x >= 2"),
    ],
)
def test_bad_values_are_refused_with_the_users_key(key, value, fragment):
    with pytest.raises(ValueError, match="--set x = ") as err:
        check_config({"x": key}, {"x": value})
    assert fragment in str(err.value)


def test_good_values_pass_and_integers_may_be_written_as_floats():
    keys = {"n": Key("n", "integer", low=1), "xs": Key("xs", "numbers", low=0, high=1), "on": Key("on", "bool")}
    check_config(keys, {"n": 3.0, "xs": [0, 0.5, 1], "on": False})
    shaped = {"band": Key("band", "numbers", length=2, increasing=True), "pts": Key("pts", "numbers", row_length=2)}
    check_config(shaped, {"band": [1.0, 2.0], "pts": [[3.0, 5.0], [6.0, 5.0]]})


def test_unknown_key_names_the_closest():
    with pytest.raises(ValueError, match="'T_Q' is not a key.*did you mean 'T_L'"):
        check_config({"T_L": Key("t"), "K": Key("k")}, {"T_Q": 1.0})


def test_run_refuses_bad_value_before_creating_the_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["run", "rod-dc", "--quick", "--out", str(out), "--set", "T_L=-1"])
    assert code == 2 and not out.exists()
    assert "--set T_L = -1 is not valid; allowed: T_L > 0" in capsys.readouterr().err


def test_show_lists_every_key_with_both_defaults(capsys):
    assert cli.main(["show", "rod-dc"]) == 0
    text = capsys.readouterr().out
    for key in scenario.get("rod-dc").keys:
        assert f"  {key} = " in text
    assert "--quick: [16, 64]" in text


def test_tally_keeps_only_booleans_as_checks():
    raw = {"checks": {"a": True, "b": False, "dev_max": 0.003, "roots": [1.0]}, "deviations": {"b": "why"}}
    s = scenario.tally(raw)
    assert s["checks"] == {"a": True, "b": False}
    assert s["metrics"] == {"dev_max": 0.003, "roots": [1.0]}
    assert s["all_pass"] is False
    assert scenario.failing_checks(s) == ([], ["b"])
    assert scenario.verdict_line("x", s) == "x: 1/2 checks pass; documented deviations from the papers: b"
    s2 = scenario.tally({"checks": {"a": True, "c": False}})
    assert scenario.verdict_line("x", s2) == "x: 1/2 checks pass; FAILED: c"
    assert scenario.tally({"checks": {"a": True}})["all_pass"] is True
    assert scenario.tally({"J": 1.0})["all_pass"] is None  # nothing checked, nothing reported as passed


@pytest.mark.parametrize(
    "name",
    [
        "rod-dc",
        "rod-ac",
        "rod-critical",
        "rod-slip-statistics",
        "rod-second-sound",
        "rod-noise",
        "rod-rotor-instability",
        "rod-shapiro",
    ],
)
def test_a_time_step_beyond_a_cases_limit_is_refused_before_the_run_directory(name, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", name, "--quick", "--out", str(out), "--set", "dt=30"]) == 2
    err = capsys.readouterr().err
    # rod-shapiro lowers dt to a whole number of steps per drive period, and names the step it would use
    assert ("dt = 30 is too large" in err or name == "rod-shapiro" and "is too large" in err) and not out.exists()
