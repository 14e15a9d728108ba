"""Figure builders: trace names, shapes, shooting planners (no virtual states), branches, schedules, race."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

import graspviz as gv
from graspviz.core import metrics as M
from graspviz.planners.grasp import schedule_curves as grasp_schedule_curves
from graspviz.plotting import fig_gap, fig_landscape, fig_losses, fig_plan, fig_race, fig_schedules
from graspviz.plotting.theme import PLANNER_COLORS, metric_name

WORLD = gv.get_world("wall")


@pytest.fixture(scope="module")
def problem():
    return WORLD.sample_problems(2, seed=0)


def _run(name, problem, steps=8, **kw):
    cfg = gv.planner_config(name, "wall", steps=steps, **kw)
    return gv.run(gv.make_planner(name, cfg), problem, seed=0)


@pytest.fixture(scope="module")
def grasp_hist(problem):
    return _run("grasp", problem, steps=8, sync_every=4, sync_steps=2)


@pytest.fixture(scope="module")
def gd_hist(problem):
    return _run("gd", problem, steps=5)


def names(fig):
    return [t.name for t in fig.data]


def test_every_planner_has_a_colour():
    for name in [*gv.PLANNERS, *gv.ABLATIONS]:
        assert name in PLANNER_COLORS


def test_plan_lifted(grasp_hist):
    snap = grasp_hist.last
    true = WORLD.simulate(grasp_hist.start, np.array(snap.actions))
    fig = fig_plan(snap, WORLD.layout(), b=1, true_rollout=true, goal=grasp_hist.goal)
    n = names(fig)
    for want in ("start", "goal", "wall", "virtual states (b=1)", "model rollout (b=1)", "true rollout (b=1)"):
        assert want in n
    T = grasp_hist.horizon
    roll = fig.data[n.index("model rollout (b=1)")]
    assert len(roll.x) == T + 1
    np.testing.assert_allclose(roll.x, snap.rollout[1, :, 0])
    virt = fig.data[n.index("virtual states (b=1)")]
    assert len(virt.x) == T + 1  # s_0, s_1..s_{T-1}, g
    assert n.count("wall") == len(WORLD.layout()["walls"])
    assert sum(t.showlegend is not False for t in fig.data if t.name == "wall") == 1


def test_plan_shooting_and_frames(gd_hist):
    frames = [np.zeros((8, 8, 3), np.uint8)] * 3
    fig = fig_plan(gd_hist.last, WORLD.layout(), frames_virtual=frames)
    n = names(fig)
    assert not any(x.startswith("virtual states") for x in n)
    assert "model rollout (b=0)" in n
    assert any(isinstance(t, go.Image) for t in fig.data)
    fig_plan(gd_hist.last, None)  # no layout at all
    gray = np.linspace(0, 1, 3 * 8 * 8).reshape(3, 8, 8)  # (T, H, W) floats in [0, 1]
    fig = fig_plan(gd_hist.last, WORLD.layout(), frames_virtual=gray, frames_true=np.zeros((3, 8, 8, 3), np.uint8))
    imgs = [t for t in fig.data if isinstance(t, go.Image)]
    assert [t.name for t in imgs] == ["decoded frames (virtual states)", "true frames (simulator)"]
    z = np.asarray(imgs[0].z)
    assert z.shape == (8, 3 * 8 + 2, 3) and z.dtype == np.uint8 and z.max() == 255


def test_one_colour_per_planner(grasp_hist, gd_hist):
    """A planner's traces use its colour in every figure; plan-view parts use neutral colours."""
    red, blue = PLANNER_COLORS["grasp"], PLANNER_COLORS["gd"]
    plan = fig_plan(grasp_hist.last, WORLD.layout(), goal=grasp_hist.goal, planner="grasp")
    n = names(plan)
    assert plan.data[n.index("model rollout (b=0)")].line.color == red
    assert plan.data[n.index("virtual states (b=0)")].line.color == red
    others = [t for t in plan.data if not t.name.startswith(("model rollout", "virtual states"))]
    assert all(getattr(t.marker, "color", None) not in PLANNER_COLORS.values() for t in others)
    assert fig_losses(gd_hist).data[0].line.color == blue
    forked = gv.fork(grasp_hist, 4, gamma=0.5)
    both = fig_losses([("run", grasp_hist), ("fork", forked)])
    lines = {t.name: t.line for t in both.data if t.mode == "lines"}
    assert lines["run: loss/total"].color == lines["fork: loss/total"].color == red
    assert lines["run: loss/total"].dash != lines["fork: loss/total"].dash
    assert fig_gap(grasp_hist).data[1].line.color == red


def test_gap(grasp_hist, gd_hist):
    fig = fig_gap(grasp_hist)
    heat = [t for t in fig.data if isinstance(t, go.Heatmap)][0]
    assert np.asarray(heat.z).shape == (grasp_hist.horizon, len(grasp_hist))
    np.testing.assert_allclose(np.asarray(heat.z)[:, -1], grasp_hist.last.gap.mean(0), rtol=1e-6)
    fig_b = fig_gap(grasp_hist, b=1)
    np.testing.assert_allclose(np.asarray(fig_b.data[0].z)[:, 0], grasp_hist[0].gap[1], rtol=1e-6)
    empty = fig_gap(gd_hist)  # shooting planner: no gap, a message instead
    assert len(empty.data) == 0 and "no virtual states" in empty.layout.annotations[0].text


def test_losses_names_and_syncs(grasp_hist, gd_hist):
    fig = fig_losses(grasp_hist)
    n = names(fig)
    for m in (M.LOSS_TOTAL, M.LOSS_DYNAMICS, M.LOSS_GOAL, M.GOAL_DISTANCE):
        assert m in n
    tot = fig.data[n.index(M.LOSS_TOTAL)]
    np.testing.assert_allclose(tot.y, grasp_hist.series(M.LOSS_TOTAL), rtol=1e-6)
    assert "sync event" in n
    assert list(fig.data[n.index("sync event")].x) == [4, 8]
    gfig = fig_losses(gd_hist)  # shooting: only the terms it has
    assert M.LOSS_TOTAL in names(gfig) and M.LOSS_DYNAMICS not in names(gfig)


def test_losses_branches(grasp_hist):
    forked = gv.fork(grasp_hist, 4, gamma=0.5)
    fig = fig_losses([("main", grasp_hist), ("fork k=4", forked)])
    n = names(fig)
    assert metric_name(M.LOSS_TOTAL, "main") in n and metric_name(M.LOSS_TOTAL, "fork k=4") in n
    assert list(fig.data[n.index("fork k=4: loss/total")].x) == forked.iterations


def test_schedules():
    cfg = gv.planner_config("grasp", "wall", steps=100, sigma_schedule="linear", sigma=0.2, sigma_end=0.0, sync_every=25)
    c = grasp_schedule_curves(cfg)
    assert c["sigmas"].shape == (100,) and c["gammas"].shape == (100,)
    assert c["sigmas"][0] == pytest.approx(0.2) and c["sigmas"][-1] < 0.01
    assert c["sync_iterations"] == [25, 50, 75, 100]
    fig = fig_schedules(**c)
    assert names(fig)[:2] == [M.NOISE_SIGMA, M.GOAL_WEIGHT]
    assert len(fig.data[0].y) == 100
    assert grasp_schedule_curves(gv.planner_config("grasp-no-sync", "wall", steps=10))["sync_iterations"] == []


def test_landscape_figure(problem, grasp_hist):
    from graspviz.analysis.landscape import landscape
    r = landscape(problem, grasp_hist, resolution=7)
    fig = fig_landscape(r)
    n = names(fig)
    assert n[0].startswith(M.LOSS_SHOOTING) and n[3].startswith(M.LOSS_TOTAL)
    assert np.asarray(fig.data[0].z).shape == (7, 7)
    assert "PC1" in fig.layout.xaxis.title.text


def test_race_figure(problem):
    from graspviz.analysis.race import race
    r = race(WORLD, problem, planners=("gd", "cem"), steps=3, simulate=True)
    for name in ("gd", "cem"):
        rec = r["planners"][name]
        assert len(rec["wall_time"]) == len(rec["goal_distance"]) == len(rec["success_model"])
        assert len(rec["success_true"]) == len(rec["wall_time_true"]) == len(rec["iterations_true"])
        assert rec["iterations_true"][-1] == rec["iterations"][-1]
        assert np.all(np.diff(rec["wall_time"]) >= 0)
        assert set(np.unique(rec["success_model"])) <= {0.0, 0.5, 1.0}
    sparse = race(WORLD, problem, planners=("gd",), steps=12, stride=1, simulate=True, max_simulations=4)["planners"]["gd"]
    assert sparse["iterations_true"] == [0, 4, 8, 12] and len(sparse["iterations"]) == 13
    fig = fig_race(r)
    n = names(fig)
    assert f"GD shooting: {M.GOAL_DISTANCE}" in n and f"CEM: {M.GOAL_DISTANCE}" in n
    assert sum(x.endswith("success (simulator)") for x in n) == 2
