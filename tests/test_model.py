"""The world-model wrapper: protocol, one-call predictions, history windows, rollouts, bounds, devices."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

import graspviz as gv
from graspviz.core.model import WorldModel, as_world_model
from helpers import MLP, Counting, needs_cuda


class WithStep(nn.Module):
    state_dim, action_dim = 2, 1

    def forward(self, s, a):  # must not be used when a step method exists
        raise AssertionError("forward called")

    def step(self, s, a):
        return s + a


class Windowed(nn.Module):
    """A history-3 model: the next state is the last state plus the mean velocity plus the action."""

    state_dim, action_dim, history = 2, 2, 3

    def forward(self, s, a):  # s (N, 3, S)
        assert s.ndim == 3 and s.shape[1] == 3
        return s[:, -1] + (s[:, -1] - s[:, 0]) / 2 + a


def test_wraps_modules_step_methods_and_plain_callables():
    m = WorldModel(WithStep())
    assert (m.state_dim, m.action_dim, m.history) == (2, 1, 1)
    torch.testing.assert_close(m.step(torch.ones(4, 2), torch.ones(4, 1)), torch.full((4, 2), 2.0))
    f = WorldModel(lambda s, a: s * 0.5 + a, state_dim=3, action_dim=3, name="half")
    assert f.name == "half" and f.device.type == "cpu" and f.dtype == torch.float32
    mlp = WorldModel(MLP(3, 2))
    assert mlp.dtype == torch.float64  # taken from the parameters
    assert as_world_model(mlp) is mlp
    assert as_world_model(mlp, dtype=torch.float32).dtype == torch.float32
    with pytest.raises(gv.GraspvizError, match="already a WorldModel"):
        WorldModel(mlp)


def test_predict_is_one_call_for_every_step_of_every_problem():
    c = Counting(MLP(3, 2))
    m = WorldModel(c)
    c.calls = 0
    traj, acts = torch.randn(4, 7, 3, dtype=torch.float64), torch.randn(4, 7, 2, dtype=torch.float64)
    out = m.predict(m.windows(traj), acts)
    assert c.calls == 1 and out.shape == (4, 7, 3)
    for t in range(7):
        torch.testing.assert_close(out[:, t], c.inner(traj[:, t], acts[:, t]))


def test_rollout_is_the_sequential_model_rollout():
    inner = MLP(3, 2)
    m = WorldModel(inner)
    s0, acts = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 5, 2, dtype=torch.float64)
    roll = m.rollout(s0, acts)
    assert roll.shape == (2, 6, 3)
    s = s0
    for t in range(5):
        s = inner(s, acts[:, t])
        torch.testing.assert_close(roll[:, t + 1], s)
    assert m.rollout(s0, acts[:, :0]).shape == (2, 1, 3)


def test_history_windows_pad_with_the_first_state():
    m = WorldModel(Windowed())
    traj = torch.arange(2 * 4 * 2, dtype=torch.float32).reshape(2, 4, 2)
    win = m.windows(traj)
    assert win.shape == (2, 4, 3, 2)
    torch.testing.assert_close(win[:, 0], traj[:, :1].expand(2, 3, 2))  # s_0 repeated
    torch.testing.assert_close(win[:, 1], torch.stack([traj[:, 0], traj[:, 0], traj[:, 1]], 1))
    torch.testing.assert_close(win[:, 3], traj[:, 1:4])
    # the rollout builds the same windows step by step, and predict on the rollout's windows agrees
    s0, acts = torch.randn(2, 2), torch.randn(2, 5, 2)
    roll = m.rollout(s0, acts)
    torch.testing.assert_close(m.predict(m.windows(roll[:, :-1]), acts), roll[:, 1:])


def test_clip_and_bounds():
    m = WorldModel(lambda s, a: s + a, 2, 2, action_low=-1.0, action_high=[0.5, 2.0])
    torch.testing.assert_close(m.clip(torch.tensor([[-3.0, 3.0], [0.7, 0.0]])), torch.tensor([[-1.0, 2.0], [0.5, 0.0]]))
    free = WorldModel(lambda s, a: s + a, 2, 2)
    x = torch.tensor([[-30.0, 30.0]])
    assert free.clip(x) is x
    with pytest.raises(gv.GraspvizError, match="action_low must be below action_high"):
        WorldModel(lambda s, a: s + a, 2, 2, action_low=1.0, action_high=1.0)
    with pytest.raises(gv.GraspvizError, match=r"action_high must be a finite number or 2 numbers"):
        WorldModel(lambda s, a: s + a, 2, 2, action_low=-1.0, action_high=[1.0, 2.0, 3.0])


def test_to_changes_dtype_and_keeps_the_original():
    m = WorldModel(MLP(3, 2, dtype=torch.float32), action_low=-1, action_high=1)
    m64 = m.to(dtype=torch.float64)
    assert m64.dtype == torch.float64 and m64.action_low.dtype == torch.float64
    assert m.dtype == torch.float32
    out = m64.step(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64))
    assert out.dtype == torch.float64


def test_problem_moves_inputs_to_the_model_and_selects():
    world = gv.get_world("point_mass")
    model = world.model(dtype=torch.float64)
    p = gv.Problem(model, [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]], torch.ones(2, 4, dtype=torch.float32), 5)
    assert p.start.dtype == p.goal.dtype == torch.float64 and p.batch == 2
    one = gv.Problem(model, torch.zeros(4), torch.ones(4), 3)
    assert one.start.shape == (1, 4)
    sub = p.select(1)
    assert sub.batch == 1 and torch.equal(sub.start, p.start[1:2])
    assert p.select([0, 1]).batch == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.horizon = 3


@needs_cuda
def test_cuda_model_and_problem():
    m = gv.get_world("wall").model(device="cuda")
    p = gv.Problem(m, torch.tensor([[10.0, 10.0]]), torch.tensor([[50.0, 50.0]]), 4)
    assert p.start.device.type == "cuda"
    h = gv.run(gv.make_planner("grasp", steps=2), p)
    assert h.stop_reason is None and h.meta["device"].startswith("cuda")
