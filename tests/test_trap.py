"""The designed greedy trap (graspviz.worlds.trap): its barrier, that deterministic GRASP stays stuck in it, that
GRASP's state noise gets out of it (notebook 03's story), and the trajectories figure notebook 03 draws."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

import graspviz as gv
import graspviz.planners.grasp as grasp_module
from graspviz.analysis.execute import execute
from graspviz.plotting import fig_trajectories
from graspviz.worlds.trap import BarrierDynamics, Trap

WORLD = Trap()
D = BarrierDynamics


pytestmark = pytest.mark.usefixtures("one_thread")  # (tests/conftest.py)


def step(s, a):
    return BarrierDynamics()(torch.tensor([s], dtype=torch.float64), torch.tensor([a], dtype=torch.float64))[0].tolist()


def test_a_move_into_the_face_stops_there():
    x, y = step([29.0, 32.0], [1.0, 0.5])  # from the left, meeting the face at y ~ 32.4
    assert x == pytest.approx(D.wall_l - D.eps) and y == pytest.approx(33.0)
    x, y = step([35.0, 30.0], [-1.0, 0.0])  # from the right
    assert x == pytest.approx(D.wall_r + D.eps) and y == pytest.approx(30.0)


def test_moves_past_the_ends_are_free():
    assert step([29.5, 40.0], [1.0, 0.0]) == pytest.approx([31.5, 40.0])  # above the barrier, into the band
    assert step([31.0, 24.0], [1.0, -1.0]) == pytest.approx([33.0, 22.0])  # below it
    assert step([31.0, 39.0], [0.0, -1.0]) == pytest.approx([31.0, D.bar_hi + D.eps])  # down onto its top end
    assert step([32.0, 25.0], [0.0, 1.0]) == pytest.approx([32.0, D.bar_lo - D.eps])  # up onto its bottom end


def test_the_straight_line_of_every_problem_hits_the_barrier():
    p = WORLD.sample_problems(64, seed=3)
    s, g = p.start.numpy(), p.goal.numpy()
    assert ((s[:, 0] < D.wall_l) != (g[:, 0] < D.wall_l)).all()  # opposite sides
    y_at_wall = s[:, 1] + (g[:, 1] - s[:, 1]) * ((D.wall_l + D.wall_r) / 2 - s[:, 0]) / (g[:, 0] - s[:, 0])
    assert (y_at_wall > D.bar_lo + 3).all() and (y_at_wall < D.bar_hi - 3).all()
    layout = WORLD.layout()
    assert layout["walls"] == [[D.wall_l, D.bar_lo, D.wall_r, D.bar_hi]]
    assert gv.get_world("wall").success_threshold == WORLD.success_threshold  # DotWall's success rule


def _run(problem, noise: bool, **overrides):
    cfg = WORLD.config_for("grasp", noise=noise, **overrides)
    h = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=cfg.steps, checkpoints=False)
    return h, execute(WORLD, problem, h.last.actions)


@pytest.mark.parametrize("lr_states, most", [(0.25, 0.0), (0.5, 0.0), (1.0, 0.125)])
def test_deterministic_grasp_stays_stuck_at_the_wall(lr_states, most):
    """Without the noise the plans stay against the wall's face, far from the goal (it starts ~36 away; the face
    is ~20 away): none gets round at the trap's step size (0.5) or half of it; at twice it the larger Adam steps
    carry a rare plan round (1 of these 16: the guard allows 2)."""
    problem = WORLD.sample_problems(16, seed=1)
    h, e = _run(problem, noise=False, lr_states=lr_states, steps=300)
    assert e.success.mean() <= most, e.success
    assert np.median(e.final_distance) > 12, e.final_distance
    if most == 0:
        assert (e.final_distance > 12).all(), e.final_distance
        final = e.true[:, -1]
        assert (np.abs(final[:, 0] - (D.wall_l + D.wall_r) / 2) < 3).all()  # against the wall's face


def test_noise_gets_grasp_out_of_the_trap():
    """Same problems, seed and settings: the noisy runs succeed on a good share of the problems, the deterministic
    ones on none (measured 0.50 vs 0.00 on these 32; the guard is generous). With the noise step silently adding
    zeros the 'noisy' run is the deterministic one, so the guard sees the noise itself."""
    problem = WORLD.sample_problems(32, seed=0)
    h_on, on = _run(problem, noise=True)
    h_off, off = _run(problem, noise=False)
    assert on.success.mean() >= off.success.mean() + 0.25, (on.success.mean(), off.success.mean())

    class ZeroNoise(types.ModuleType):  # grasp.py's torch, except that randn returns zeros
        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def randn(*shape, generator=None, **kw):
            return torch.zeros(*shape, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(grasp_module, "torch", ZeroNoise("torch"))
    try:
        h_zero, zero = _run(problem, noise=True)
    finally:
        mp.undo()
    assert h_zero.last.sigma > 0  # the schedule still says noise...
    np.testing.assert_array_equal(h_zero.last.actions, h_off.last.actions)  # ...but the plan is the deterministic one
    assert zero.success.mean() == off.success.mean()


def test_fig_trajectories_draws_each_panel_and_names_each_path_once():
    xy = np.array([[10.0, 30.0], [20.0, 31.0], [30.0, 32.0]])
    panels = [dict(title=f"problem {b}", start=xy[0], goal=xy[-1],
                   paths=[dict(name="with noise", xy=xy, color="#d62728"), dict(name="noise=False", xy=xy + 1,
                                                                               dash="dash", markers=True)])
              for b in range(3)]
    fig = fig_trajectories(panels, WORLD.layout(), cols=2, title="t")
    names = [t.name for t in fig.data]
    assert names.count("with noise") == 3 and names.count("wall") == 3
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert sorted(shown) == sorted(["wall", "with noise", "noise=False", "start", "goal"])
    assert [a.text for a in fig.layout.annotations] == ["problem 0", "problem 1", "problem 2"]
    assert list(fig.layout.xaxis.range) == WORLD.layout()["bounds"][0]
    with pytest.raises(ValueError, match="at least one panel"):
        fig_trajectories([])
