"""Schedules for sigma_k and gamma_k: endpoints, bounds, shapes of each kind, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graspviz.core.errors import GraspvizError
from graspviz.core.schedules import KINDS, schedule, schedule_values

ENDS = [(1.0, 0.0), (0.0, 2.5), (0.3, 0.1), (0.1, 0.3), (-2.0, 3.0), (5.0, 5.0), (1e-3, 1e3)]


def _ends(kind):
    return [(a, b) for a, b in ENDS if kind != "exponential" or (a > 0 and b > 0)]


@pytest.mark.parametrize("kind", KINDS)
def test_hits_start_at_zero_and_end_at_length_and_stays(kind):
    for start, end in _ends(kind):
        want_end = start if kind == "constant" else end
        for length in (1, 7, 300):
            assert schedule(kind, start, end, 0, length) == start
            assert schedule(kind, start, end, length, length) == want_end
            assert schedule(kind, start, end, length + 5, length) == want_end  # stays at the end
            assert schedule(kind, start, end, -3, length) == start  # before the start: the start


@pytest.mark.parametrize("kind", KINDS)
def test_values_stay_between_the_ends_and_move_monotonically(kind):
    for start, end in _ends(kind):
        vals = np.array(schedule_values(kind, start, end, 60, length=50))
        assert np.isfinite(vals).all()
        assert (vals >= min(start, end)).all() and (vals <= max(start, end)).all()
        steps = np.diff(vals) * np.sign(end - start)
        assert (steps >= 0).all()  # never moves away from the end


def test_shapes_of_each_kind_at_the_midpoint():
    assert schedule("linear", 1.0, 0.0, 5, 10) == pytest.approx(0.5)
    assert schedule("cosine", 1.0, 0.0, 5, 10) == pytest.approx(0.5)
    assert schedule("cosine", 1.0, 0.0, 2, 10) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.2)))
    assert schedule("exponential", 1.0, 0.01, 5, 10) == pytest.approx(0.1)
    assert schedule("constant", 0.3, 9.0, 5, 10) == 0.3
    # cosine starts slower than linear; exponential falls faster at first
    assert schedule("cosine", 1.0, 0.0, 2, 10) > schedule("linear", 1.0, 0.0, 2, 10)
    assert schedule("exponential", 1.0, 0.01, 2, 10) < schedule("linear", 1.0, 0.01, 2, 10)


def test_length_zero_means_one_step():
    assert schedule("linear", 1.0, 0.0, 0, 0) == 1.0
    assert schedule("linear", 1.0, 0.0, 1, 0) == 0.0


def test_schedule_values_defaults_length_to_steps():
    vals = schedule_values("linear", 0.0, 1.0, 5)
    assert vals == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert schedule_values("linear", 0.0, 1.0, 0) == []


def test_huge_finite_ends_do_not_overflow():
    big = np.finfo(float).max
    for kind in ("linear", "cosine"):
        for k in range(11):
            v = schedule(kind, -big, big, k, 10)
            assert math.isfinite(v) and -big <= v <= big
    v = schedule("exponential", 1e-300, 1e300, 3, 10)
    assert math.isfinite(v) and 1e-300 <= v <= 1e300


@pytest.mark.parametrize("call, match", [
    (lambda: schedule("zigzag", 1.0, 0.0, 0, 10), r"schedule kind must be one of constant, linear, cosine, exponential; got 'zigzag'"),
    (lambda: schedule("linear", float("nan"), 0.0, 0, 10), "schedule ends must be finite"),
    (lambda: schedule("cosine", 1.0, float("inf"), 0, 10), "schedule ends must be finite"),
    (lambda: schedule("exponential", 1.0, 0.0, 3, 10), r"exponential schedule needs start > 0 and end > 0"),
    (lambda: schedule("exponential", -1.0, 1.0, 0, 10), r"exponential schedule needs start > 0 and end > 0"),
])
def test_bad_schedules_are_refused_in_one_line(call, match):
    with pytest.raises(GraspvizError, match=match) as e:
        call()
    assert "\n" not in str(e.value)
