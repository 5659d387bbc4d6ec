"""The benchmark harness: the first call is never timed, the median resists one disturbed call,
and an implausible ratio is flagged."""

import time
import warnings

import pytest

from sim.bench import harness


class SlowFirstCall:
    """fn(n) sleeps n * 2 ms, and 0.3 s more on its first call (a JIT compilation, say)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, n=1):
        self.calls += 1
        time.sleep((0.3 if self.calls == 1 else 0.0) + n * 2e-3)


def test_rate_excludes_the_first_call_and_counts_work_units():
    fn = SlowFirstCall()
    r = harness.rate(fn, work=10.0, min_time=0.05, repeats=3)
    # 10 units per 2 ms: 5000 units/s; the 0.3 s first call would have dragged it far below
    assert 3500 < r < 5100, r


def test_seconds_takes_the_median_so_one_disturbed_call_does_not_move_it():
    delays = iter([0.0, 0.01, 0.2, 0.01])  # warm-up, then one disturbed call among three

    def fn():
        time.sleep(next(delays))

    t = harness.seconds(fn, repeats=3)
    assert 0.009 < t < 0.05, t


def test_an_implausible_ratio_warns_and_a_plausible_one_does_not():
    with pytest.warns(harness.ImplausibleRatio, match="twin ratio = 4.905e\\+05 is outside"):
        assert harness.ratio(490475.0, 1.0, "twin ratio", plausible=(1.0, 1e4)) == 490475.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert harness.ratio(30.0, 2.0, "twin ratio", plausible=(1.0, 1e4)) == 15.0
