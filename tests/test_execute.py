"""Executing plans in the simulator, model error, MPC, and bring-your-own-model adapters."""

import pytest
import numpy as np
import torch
from torch import nn

from graspviz.errors import GraspvizError
from graspviz.execute import execute, model_error, mpc
from graspviz.planners import make_planner
from graspviz.planners.base import run
from graspviz.types import Problem
from graspviz.worlds import WorldModel, get_world, learned


def _needs(name):
    assert learned.model_path(name).exists(), f"bundled model {name} missing from assets/"


def test_execute_and_model_error_shapes():
    _needs("pointmaze_mlp")
    w = get_world("pointmaze")
    p = w.sample_problems(2, 4, seed=0)
    h = run(make_planner("cem", steps=2, samples=20, elites=4), p, 0)
    out = execute(w, p.start, h.last.actions, p.goal)
    assert out["true"].shape == (2, 5, 4) and out["success"].shape == (2,) and out["final_distance"].shape == (2,)
    err = model_error(w, h)
    assert err.shape == (2, 5) and np.allclose(err[:, 0], 0, atol=1e-5)


def test_mpc_runs():
    _needs("pointmaze_mlp")
    w = get_world("pointmaze")
    p = w.sample_problems(2, 4, seed=1)
    out = mpc(w, make_planner("grasp", steps=3), p, replan_every=2, seed=0)
    assert out["true"].shape == (2, 5, 4) and out["actions"].shape == (2, 4, 2) and out["replans"] == 2


def test_wall_pixels_latent_execute():
    _needs("wall_pixels_ae")
    w = get_world("wall_pixels")
    p = w.sample_problems(2, 5, seed=0)
    assert p.start.shape == (2, w.state_dim)
    h = run(make_planner("gd", steps=2), p, 0)
    out = execute(w, p.start, h.last.actions, p.goal)
    assert out["true"].shape == (2, 6, 2)
    assert model_error(w, h).shape == (2, 6)
    np.testing.assert_allclose(w.positions(p.start.numpy()), w.last_true[0], atol=1e-6)


# -- bring your own model ---------------------------------------------------------------------------
class HistoryModel(nn.Module):
    """A randomly initialised model with a window of h = 3 states: step(s (N, 3, S), a) -> (N, S)."""

    def __init__(self, S=4, A=2):
        super().__init__()
        self.net = nn.Linear(3 * S + A, S)

    def forward(self, s, a):
        return s[:, -1] + 0.1 * torch.tanh(self.net(torch.cat([s.flatten(1), a], -1)))


class PatchModel(nn.Module):
    """Patch-token latents (N, P, D) handled as flat states (N, P * D)."""

    P, D = 4, 3

    def __init__(self):
        super().__init__()
        self.mix = nn.Linear(self.D + 2, self.D)

    def forward(self, s, a):
        tok = s.reshape(-1, self.P, self.D)
        aa = a[:, None].expand(-1, self.P, -1)
        return (tok + 0.1 * torch.tanh(self.mix(torch.cat([tok, aa], -1)))).reshape(-1, self.P * self.D)


def test_byo_history_window():
    torch.manual_seed(0)
    m = WorldModel(HistoryModel(), 4, 2, history=3, action_low=-1, action_high=1)
    p = Problem(m, torch.zeros(2, 4), torch.full((2, 4), 0.2), 5)
    h = run(make_planner("grasp", steps=4), p, 0)
    assert h.last.rollout.shape == (2, 6, 4)


def test_byo_patch_tokens_and_dtype_swap():
    torch.manual_seed(0)
    m = WorldModel(PatchModel(), 12, 2, action_low=-1, action_high=1)
    p = Problem(m, torch.zeros(1, 12), torch.full((1, 12), 0.1), 4)
    h = run(make_planner("grasp", steps=4), p, 0)
    assert h.last.actions.shape == (1, 4, 2)
    m64 = m.to(dtype=torch.float64)
    assert m64.dtype == torch.float64 and m.dtype == torch.float32
    h64 = run(make_planner("grasp", steps=2), Problem(m64, torch.zeros(1, 12), torch.full((1, 12), 0.1), 4), 0)
    assert h64.last.rollout.dtype == np.float64


def test_attach_truth_is_saved_with_the_history(tmp_path):
    from graspviz.execute import attach_truth
    from graspviz.history import History
    w = get_world("pointmaze")
    p = w.sample_problems(2, 4, seed=0)
    h = run(make_planner("grasp", steps=4), p, 0, stride=2)
    assert "true_rollout" not in h.last.extras
    t = attach_truth(w, h, iterations="all")
    assert "true_rollout" not in h.last.extras  # the original is untouched
    for snap in t.snapshots:
        assert snap.extras["true_rollout"].shape == (2, 5, 4) and snap.extras["model_error"].shape == (2, 5)
        np.testing.assert_allclose(snap.extras["model_error"], model_error(w, h, snap.iteration))
    t.save(tmp_path / "run.npz")
    back = History.load(tmp_path / "run.npz")
    np.testing.assert_array_equal(back.last.extras["model_error"], t.last.extras["model_error"])
    only_last = attach_truth(w, h)
    assert [("model_error" in s.extras) for s in only_last.snapshots] == [False, False, True]
    with pytest.raises(GraspvizError, match="not recorded"):
        attach_truth(w, h, iterations=[1])
