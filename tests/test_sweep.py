"""Hyper-parameter sweeps (graspviz.analysis.sweep): grids on each knob's scale, cells judged in the simulator."""

from __future__ import annotations

import numpy as np
import pytest

import graspviz as gv
from graspviz.analysis.execute import execute
from graspviz.analysis.sweep import axis, default_range, sweep, sweepable


def knob(planner, name):
    return next(k for k in sweepable(planner) if k.name == name)


def test_axes_follow_the_knob_scale():
    lr = axis(knob("grasp", "lr_states"), 0.01, 1.0, 3)
    assert lr.log and lr.values == (0.01, 0.1, 1.0)
    sig = axis(knob("grasp", "sigma"), 0.0, 1.0, 3)
    assert not sig.log and sig.values == (0.0, 0.5, 1.0)
    ints = axis(knob("grasp", "sync_every"), 1, 4, 6)
    assert ints.values == (1, 2, 3, 4) and all(isinstance(v, int) for v in ints.values)
    with pytest.raises(gv.GraspvizError, match=r"sigma: the sweep range 0 .. 1e\+07 leaves its bounds \[0.0, 1000000.0\]"):
        axis(knob("grasp", "sigma"), 0, 1e7, 3)
    with pytest.raises(gv.GraspvizError, match="1..12 points"):
        axis(knob("grasp", "sigma"), 0, 1, 50)
    assert "steps" not in {k.name for k in sweepable("grasp")}


@pytest.mark.parametrize("name", [k.name for k in sweepable("grasp")])
def test_default_ranges_stay_in_bounds(name):
    k = knob("grasp", name)
    cfg = gv.get_world("wall").config_for("grasp").to_dict()
    lo, hi = default_range(k, cfg[name])
    assert lo < hi and (k.low is None or lo >= k.low) and (k.high is None or hi <= k.high)
    axis(k, lo, hi, 3)  # a valid axis


def test_a_sweep_judges_every_cell_in_the_simulator():
    world = gv.get_world("wall")
    problem = world.sample_problems(3, horizon=30, seed=2)
    base = world.config_for("grasp", steps=30).to_dict()
    x = axis(knob("grasp", "lr_actions"), 0.01, 0.1, 2)
    y = axis(knob("grasp", "gamma"), 0.0, 0.01, 2)
    seen = []
    r = sweep(world, "grasp", base, x, problem, y=y, seed=0, check_every=10, callback=lambda d, n: seen.append((d, n)))
    assert r.done.all() and seen[-1] == (4, 4) and r.success.shape == (2, 2) and not r.stopped
    for i in range(2):
        for j in range(2):
            cfg = r.configs[i][j]
            assert (cfg["lr_actions"], cfg["gamma"]) == (x.values[j], y.values[i])
            assert r.overrides(i, j) == {"lr_actions": x.values[j], "gamma": y.values[i]}
            # the same judgement, made independently: success at any check of a run of this cell's settings
            hist = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=10, checkpoints=False)
            hit = np.zeros(3, bool)
            for s in hist.snapshots[1:]:
                hit |= execute(world, problem, s.actions).success
            assert r.success[i, j] == pytest.approx(hit.mean())
            assert r.final_success[i, j] <= r.success[i, j] + 1e-9
            assert np.isnan(r.median_time_s[i, j]) == (not hit.any())
    assert r.cell_of(x.values[1], y.values[0]) == (0, 1)


def test_stop_keeps_the_cells_done():
    world = gv.get_world("wall")
    problem = world.sample_problems(2, horizon=20, seed=0)
    base = world.config_for("grasp", steps=10).to_dict()
    x = axis(knob("grasp", "sigma"), 0.0, 0.2, 3)
    done = []
    r = sweep(world, "grasp", base, x, problem, check_every=5, callback=lambda d, n: done.append(d),
              should_stop=lambda: len(done) >= 1)
    assert r.stopped and r.done.sum() == 1 and r.done[0, 0] and np.isnan(r.success[0, 1])


def test_bad_cells_are_refused_before_running():
    world = gv.get_world("wall")
    problem = world.sample_problems(2, horizon=20, seed=0)
    x = axis(knob("grasp", "sigma"), 0.0, 0.2, 2)
    with pytest.raises(gv.GraspvizError, match="two different knobs"):
        sweep(world, "grasp", {}, x, problem, y=x)


def test_a_ray_sweep_equals_the_serial_one():
    """The same grid on a local Ray cluster (cells as tasks, any order): the same numbers, every cell done."""
    pytest.importorskip("ray")
    world = gv.get_world("wall")
    problem = world.sample_problems(3, horizon=20, seed=1)
    base = world.config_for("grasp", steps=20).to_dict()
    x = axis(knob("grasp", "lr_actions"), 0.01, 0.1, 3)
    serial = sweep(world, "grasp", base, x, problem, check_every=10)
    seen = []
    on_ray = sweep(world, "grasp", base, x, problem, check_every=10, backend="ray", num_cpus=2,
                   callback=lambda d, n: seen.append((d, n)))
    assert on_ray.done.all() and not on_ray.stopped and sorted(seen) == [(1, 3), (2, 3), (3, 3)]
    assert (serial.backend, on_ray.backend) == ("serial", "ray")
    np.testing.assert_array_equal(on_ray.success, serial.success)
    np.testing.assert_array_equal(on_ray.final_success, serial.final_success)
    assert on_ray.configs == serial.configs


def test_a_stopped_ray_sweep_keeps_what_finished():
    pytest.importorskip("ray")
    world = gv.get_world("wall")
    problem = world.sample_problems(2, horizon=20, seed=0)
    base = world.config_for("grasp", steps=10).to_dict()
    x = axis(knob("grasp", "sigma"), 0.0, 0.2, 3)
    r = sweep(world, "grasp", base, x, problem, check_every=5, backend="ray", num_cpus=1, should_stop=lambda: True)
    assert r.stopped and r.done.sum() == 0 and np.isnan(r.success).all()


def test_an_unknown_backend_is_refused():
    world = gv.get_world("wall")
    x = axis(knob("grasp", "sigma"), 0.0, 0.2, 2)
    with pytest.raises(gv.GraspvizError, match="backend must be 'serial' or 'ray'; got 'dask'"):
        sweep(world, "grasp", {}, x, world.sample_problems(1, horizon=5), backend="dask")
