"""The adversarial-gradient test (graspviz.analysis.adversarial): toy worlds whose answer is known by construction,
the gradient it measures against GRASP's own objective, bad input, the CLI and the figure."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

import graspviz as gv
from graspviz import cli
from graspviz.analysis import adversarial as adv
from graspviz.core.errors import GraspvizError
from graspviz.planners.grasp import grasp_terms
from graspviz.plotting import fig_adversarial
from graspviz.plotting.adversarial import GRADIENT, RANDOM


class Toy(nn.Module):
    """A 4-D latent whose real frames are (x, y, 0, 0): a true 2-D position, two coordinates the data never uses.
    The decoder is linear and sees only (x, y). ``k`` couples the unused coordinates into the position's dynamics:
    k = 0 is an honest model (its state-input gradient lies in the coordinates the decoder sees); a large k is an
    adversarial one (the gradient lives mostly in the coordinates the decoder cannot see)."""

    state_dim, action_dim = 4, 2

    def __init__(self, k: float):
        super().__init__()
        self.k = k
        g = torch.Generator().manual_seed(0)
        self.register_buffer("w", torch.randn(2, 16, generator=g, dtype=torch.float64))

    def step(self, s, a):
        xy = s[:, :2] + a + self.k * s[:, 2:]
        return torch.cat([xy, s[:, 2:]], 1)

    def decode(self, z):
        return (z[:, :2] @ self.w.to(z.dtype)).reshape(-1, 4, 4)


def toy_world(k: float, name: str, decode: bool = True):
    model = Toy(k)
    if not decode:
        model.decode = None

    def sample(n, horizon, rng):
        return rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (n, 2))

    def to_planning(x):
        x = np.asarray(x, np.float64)
        return np.concatenate([x, np.zeros(x.shape[:-1] + (2,))], -1)

    return gv.make_world(model.double(), name=name, sample=sample, to_planning=to_planning, true_state_dim=2,
                         horizon=6, planner_defaults={"grasp": dict(steps=10, lr_states=0.05, lr_actions=0.05,
                                                                    sigma=0.05, sync_every=5, sync_steps=2)})


def measure(world, **kw):
    return adv.adversarial(world, **{**dict(n=4, draws=6, references=64, eps=(0.01, 0.05)), **kw})


def test_index_separates_an_adversarial_model_from_an_honest_one():
    honest, sneaky = measure(toy_world(0.0, "toy_honest")), measure(toy_world(10.0, "toy_sneaky"))
    # honest: the gradient lies in the 2 visible coordinates, a random unit direction has ~1/2 of its length
    # there, so A ~ sqrt(1/2); sneaky: ~1/10 of the gradient is visible, so A ~ 0.7 / 0.1
    assert honest.headline() < 0.9, honest.summary()
    assert sneaky.headline() > 3.0, sneaky.summary()
    for r in (honest, sneaky):
        s = r.summary()
        assert s["loss_drop_grad"] > 0 and abs(s["loss_drop_rand"]) < s["loss_drop_grad"]  # the gradient descends
        assert abs(r.summary(1)["adversarial_index"] / s["adversarial_index"] - 1) < 0.2  # first order: eps-stable
        # a random step moves sideways to the nearest real frame (|dM| / step ~ 0); |dM| / step <= 1 always
        assert abs(s["off_manifold_rand"]) < 0.25 and np.all(np.abs(r.dmanifold_grad) <= r.step[:, None] + 1e-9)


class ToyHistory(Toy):
    """Toy with a window of ``history`` frames (N, h, S), oldest first: the newest frame plus a velocity term."""

    history = 3

    def step(self, s, a):
        return super().step(s[:, -1] + 0.5 * (s[:, -1] - s[:, -2]), a)


@pytest.mark.parametrize("cls", [Toy, ToyHistory])
def test_gradient_is_the_term_grasp_stop_gradient_cuts(cls):
    """d(terms)/d(states) = dL/ds with gradients through the model's state input minus GRASP's reshaped dL/ds
    (with a history window too, where each virtual state feeds several predictions)."""
    torch.manual_seed(1)
    model = gv.WorldModel(cls(3.0).double(), dtype=torch.float64)
    B, T, S = 3, 5, 4
    s0, goal = torch.randn(B, S, dtype=torch.float64), torch.randn(B, S, dtype=torch.float64)
    states, actions = torch.randn(B, T - 1, S, dtype=torch.float64), torch.randn(B, T, 2, dtype=torch.float64)
    gamma = 0.7
    _, g = adv.state_input_gradient(model, s0, states, actions, goal, gamma)

    def grad(stop):
        x = states.clone().requires_grad_(True)
        dyn, goal_err, _, _ = grasp_terms(model, s0, x, actions, goal, stop_grad=stop)
        return torch.autograd.grad((dyn + gamma * goal_err).sum(), [x])[0]
    assert torch.allclose(g, grad(False) - grad(True), atol=1e-10)
    assert g.abs().max() > 0.1


def test_history_model_runs_and_separates():
    world = gv.make_world(ToyHistory(10.0).double(), name="toy_history", horizon=6,
                          sample=lambda n, horizon, rng: (rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (n, 2))),
                          to_planning=lambda x: np.concatenate([x, np.zeros(x.shape[:-1] + (2,))], -1),
                          true_state_dim=2, planner_defaults=toy_world(0.0, "toy_h").planner_defaults)
    r = measure(world)
    assert r.units == 4 * 5 * len(r.iterations) and r.headline() > 3.0, r.summary()


def test_nearest_distance():
    refs = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    z = torch.tensor([[0.0, 1.0], [3.0, 5.0], [6.0, 8.0]], dtype=torch.float64)
    assert torch.allclose(adv.nearest_distance(z, refs), torch.tensor([1.0, 1.0, 5.0], dtype=torch.float64))


def test_world_without_decoder_is_one_line_error(capsys):
    with pytest.raises(GraspvizError, match="has no decoder"):
        measure(toy_world(0.0, "toy_blind", decode=False))
    code = cli.main(["adversarial", "--world", "wall"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "'wall' has no decoder" in err, err
    for bad, what in ((dict(eps=(0.0,)), "eps"), (dict(draws=0), "draws"), (dict(fractions=(2.0,)), "fractions")):
        with pytest.raises(GraspvizError, match=what):
            measure(toy_world(0.0, "toy_bad"), **bad)


def test_cli_prints_the_index_and_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(gv.WORLDS, "toy_cli", type(toy_world(10.0, "toy_cli")))
    out = tmp_path / "adv.json"
    code = cli.main(["adversarial", "--world", "toy_cli", "--n", "3", "--draws", "4", "--references", "32",
                     "--eps", "0.002", "0.004", "--json", str(out), "--threads", "1"])
    text = capsys.readouterr().out
    assert code == 0 and "adversarial index" in text and "not small" not in text, text
    data = json.loads(out.read_text())
    assert data["world"] == "toy_cli" and data["adversarial_index"] > 3.0
    assert len(data["summary"]) == 2 and len(data["by_iteration"]) == len(data["iterations"])
    assert len(data["units"]["index"]) == min(400, data["units_total"])
    fig = fig_adversarial([data, data])
    names = {t.name for t in fig.data}
    assert any(GRADIENT in str(n) for n in names) and any(RANDOM in str(n) for n in names)
    assert "A = " in fig.layout.title.text
    # a step far beyond first order is flagged
    code = cli.main(["adversarial", "--world", "toy_cli", "--n", "3", "--draws", "4", "--references", "32",
                     "--eps", "0.002", "5", "--threads", "1"])
    assert code == 0 and "at eps 5 the steps are not small" in capsys.readouterr().out


def test_figure_without_results_says_so():
    fig = fig_adversarial([])
    assert not fig.data and "no adversarial-test results" in fig.layout.annotations[0].text
