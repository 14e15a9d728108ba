"""Automatic (scale-aware) settings: derived from the model and the problem at run start, stored in the run,
equivariant under a change of units, refused in one line for models that cannot be probed; and your own world."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_one_line
from test_cli import run_cli

import graspviz as gv
from graspviz.analysis.evaluate import evaluate
from graspviz.core.optim import adam_init, adam_step
from graspviz.worlds.rescaled import rescaled

UNITS = [(1.0, 1.0), (0.01, 1.0), (100.0, 1.0), (1.0, 10.0)]
#: how each automatic knob scales with the states (c) and the actions (d): value(c, d) = value(1, 1) c^i d^j
EXPONENTS = {"lr_states": (1, 0), "sigma": (1, 0), "lr_actions": (0, 1), "gamma": (0, 0), "sync_every": (0, 0),
             "lr_sync": (0, 1), "action_scale": (0, 0), "temperature": (2, 0), "noise_std": (0, 0)}


def _derived(planner, world, horizon=20, batch=8):
    """What the rules derive (no pilot runs: their choice is tested in test_pilot.py)."""
    problem = world.sample_problems(batch, horizon=horizon, seed=0)
    config = world.config_for(planner, "auto").to_dict()
    return gv.make_planner(planner, config).resolve(problem, warn=False, pilot=False).auto


@pytest.mark.parametrize("planner", ["grasp", "gd", "cem", "mppi", "collocation"])
def test_derived_values_follow_the_units(planner):
    """States x c and actions x d: every step and spread the rules derive scales as its units say (GD with SGD:
    its step is per unit of gradient, so c^-2 d^2)."""
    base = gv.get_world("wall")
    ref = _derived(planner, rescaled(base))
    assert ref, "nothing was derived"
    sgd = planner == "gd" and base.config_for("gd", "auto").optimizer == "sgd"
    for c, d in UNITS[1:]:
        got = _derived(planner, rescaled(base, c, d))
        for name, v in got.items():
            if isinstance(v, str):  # a choice (GD's optimizer): the same in any units
                assert v == ref[name], (planner, name, c, d)
                continue
            i, j = (-2, 2) if (name == "lr" and sgd) else (0, 1) if name == "lr" else EXPONENTS[name]
            assert v == pytest.approx(ref[name] * c ** i * d ** j, rel=2e-3), (planner, name, c, d)


@pytest.mark.parametrize("planner", ["grasp", "cem"])
def test_default_success_survives_a_change_of_units(planner):
    """The guard of the scale-invariance table (docs/results/auto_settings.md): default success on a world in
    other units stays within a generous margin of the original; the fixed (absolute) settings do not."""
    base, T, n = gv.get_world("hills"), 12, 16

    def rates(settings):
        out = []
        for c, d in UNITS:
            row, = evaluate(rescaled(base, c, d), [planner], [T], n, check_every=0, progress=False,
                            settings_from=settings)
            out.append(row["success_rate"])
        return out

    auto = rates("auto")
    assert max(auto) - min(auto) <= 0.25, auto
    if planner == "grasp":  # the guard has teeth: absolute step sizes break on other units
        fixed = rates("fixed")
        assert max(fixed) - min(fixed) > 0.5, fixed


def test_adam_steps_are_the_same_in_any_units():
    """Adam's epsilon is relative (core/optim.py): iterates and step x c with gradients x k give the same update
    in the new units, also for gradients 10^8 times smaller (an absolute 1e-8 would damp those to nothing); each
    problem's update ignores the others' gradient scale; no gradient, no step."""
    gen = torch.Generator().manual_seed(0)
    x, g = torch.randn(3, 5, 2, generator=gen), torch.randn(3, 5, 2, generator=gen)
    ref, _ = adam_step(x, g, adam_init(x), 1, 0.1)
    for c, k in [(1e-4, 1e-8), (100.0, 1e4)]:
        got, _ = adam_step(x * c, g * k, adam_init(x), 1, 0.1 * c)
        assert torch.allclose(got / c, ref, rtol=1e-5, atol=1e-6), (c, k)
    other, _ = adam_step(x, g * torch.tensor([1e6, 1.0, 1.0])[:, None, None], adam_init(x), 1, 0.1)
    assert torch.allclose(other[1:], ref[1:])
    still, _ = adam_step(x, torch.zeros_like(g), adam_init(x), 1, 0.1)
    assert torch.equal(still, x)


def test_collocation_plans_on_a_world_10000_times_smaller():
    """End to end: point_mass with states x 1e-4 (its gradients 10^8 times smaller). With torch's absolute epsilon
    collocation's success fell from 100% to 0% there (docs/results/auto_settings.md)."""
    base, n = gv.get_world("point_mass"), 16
    rates = [evaluate(rescaled(base, c, 1.0), ["collocation"], [30], n, check_every=0, progress=False,
                      settings_from="auto")[0]["success_rate"] for c in (1.0, 1e-4)]
    assert rates[0] >= 0.75 and rates[1] >= rates[0] - 0.25, rates


def test_auto_runs_store_replay_and_fork_their_derived_values(tmp_path):
    problem = gv.get_world("hills").sample_problems(3, horizon=8, seed=1)
    planner = gv.make_planner("grasp", steps=12)
    a, b = gv.run(planner, problem, seed=4), gv.run(planner, problem, seed=4)
    assert a.meta["auto"] and a.meta["auto"] == b.meta["auto"] and a.config["lr_states"] == a.meta["auto"]["lr_states"]
    assert np.array_equal(a.last.actions, b.last.actions)  # reproducible from (config, seed)
    a.save(tmp_path / "a.npz")
    back = gv.History.load(tmp_path / "a.npz")
    assert back.meta["auto"] == a.meta["auto"] and back.meta["scales"]["distance"] > 0
    f = gv.fork(back, 6, problem, steps=6)
    assert f.meta["auto"] == a.meta["auto"]  # a fork plans with the values the run derived
    assert np.allclose(f.last.actions, a.last.actions, atol=1e-5)  # and replays it exactly


class _Constant(torch.nn.Module):
    def forward(self, s, a):
        return s * 1.0 + 0.0 * a


class _NaNAway(torch.nn.Module):
    """Finite on the wrapper's validation input, NaN on states away from the origin (where the probe looks)."""

    def forward(self, s, a):
        return torch.where(s.abs().sum(-1, keepdim=True) > 5, s * float("nan"), s + a)


class _Shape(torch.nn.Module):
    def forward(self, s, a):
        return (s + a)[: max(len(s) // 2, 1)] if len(s) > 16 else s + a


@pytest.mark.parametrize("module, needle", [
    (_Constant(), "does not respond to its actions"),
    (_NaNAway(), "returned NaN/Inf on the scale probe"),
    (_Shape(), "on the scale probe, before any planning"),
])
def test_a_model_that_cannot_be_probed_is_refused_before_planning(module, needle):
    model = gv.WorldModel(module, 2, 2, action_low=-1, action_high=1)
    problem = gv.Problem(model, torch.full((4, 2), 10.0), torch.full((4, 2), 20.0), 6)
    calls = []
    with pytest.raises(gv.GraspvizError) as e:
        gv.run(gv.make_planner("grasp", steps=5), problem, callback=lambda s: calls.append(s))
    assert needle in assert_one_line(e.value) and calls == []


def test_a_model_without_action_bounds_gets_a_probed_range_and_one_warning():
    model = gv.WorldModel(lambda s, a: s + torch.tanh(a), 2, 2, name="tanh")
    problem = gv.Problem(model, torch.zeros(4, 2), torch.full((4, 2), 3.0), 6)
    with pytest.warns(UserWarning) as record:
        hist = gv.run(gv.make_planner("cem", steps=3, samples=32, elites=4), problem)
    lines = [str(w.message) for w in record if "declares no action bounds" in str(w.message)]
    assert len(lines) == 1 and "\n" not in lines[0] and "action_low / action_high" in lines[0]
    assert hist.meta["scales"]["action_source"] == "probe"
    assert 0.5 < hist.meta["scales"]["action"][0] < 20  # tanh saturates near 1: a range of a few units


def test_your_own_world_names_each_missing_part():
    model = gv.WorldModel(lambda s, a: s + a, 2, 2, action_low=-1, action_high=1, name="dot")
    bare = gv.make_world(model, name="bare")
    with pytest.raises(gv.GraspvizError, match="has no sample: sampling problems needs it; pass sample="):
        bare.sample_problems(2)

    def sample(n, horizon, rng):
        return rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 3

    judged = gv.make_world(model, name="nosuccess", sample=sample)
    problem = judged.sample_problems(2, horizon=5)
    with pytest.raises(gv.GraspvizError, match="has no success rule: .* pass success=.* or threshold="):
        judged.judge(problem.goal.numpy(), problem.goal.numpy())
    sim = gv.make_world(model, name="mine", sample=sample, threshold=0.5,
                        simulate=lambda s, a: np.concatenate([s[:, None], s[:, None] + np.cumsum(0.9 * a, 1)], 1))
    assert sim.config_for("grasp").lr_states is None  # no suggested settings: automatic ones
    problem = sim.sample_problems(4, horizon=5)
    hist = gv.run(gv.make_planner("grasp", steps=30), problem)
    out = gv.execute(sim, problem, hist.last.actions)
    assert out.true.shape == (4, 6, 2) and out.success.shape == (4,)
    err = gv.model_error(sim, hist)  # where the model lies: it moves by a, the simulator by 0.9 a
    assert err.shape == (4, 6) and err[:, 0].max() < 1e-9 and err[:, -1].min() > 0


def test_the_cli_summary_shows_the_derived_values(capsys):
    code, out, err = run_cli(capsys, "plan", "--world", "hills", "--planner", "grasp", "--settings", "auto",
                             "--steps", "3", "--horizon", "6", "--device", "cpu")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("auto (derived from the model and the problem): "))
    for name in ("lr_states", "lr_actions", "sigma", "gamma", "lr_sync"):
        assert f"{name}=" in line, line
    assert not any(x.startswith("pilot") for x in out.splitlines())  # 3 iterations: too few for a pilot
    code, out, err = run_cli(capsys, "plan", "--world", "hills", "--planner", "gd", "--settings", "auto",
                             "--steps", "30", "--horizon", "6", "--device", "cpu")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("auto (derived from the model and the problem): "))
    assert "optimizer=adam" in line and " lr=" in line, line
    assert "pilot (3 runs of 10 iterations on 1 problem): lr x" in out, out
    assert "(pilot runs included)" in out, out


def test_snapshot_tensors_are_writable_and_a_nan_stop_says_once_what_is_kept(recwarn):
    problem = gv.get_world("hills").sample_problems(2, horizon=5, seed=0)
    hist = gv.run(gv.make_planner("gd", steps=3), problem)
    t = hist.last.tensor("actions")
    t += 1.0  # a fresh tensor: no read-only warning, the snapshot is untouched
    assert not [w for w in recwarn if "not writable" in str(w.message)]
    assert not np.allclose(t.numpy(), hist.last.actions)

    calls = [0]

    def dies(s, a):
        calls[0] += 1
        return s + a * (float("nan") if calls[0] > 40 else 1.0)

    model = gv.WorldModel(dies, 2, 2, action_low=-1, action_high=1, name="dies")
    bad = gv.Problem(model, torch.zeros(2, 2), torch.ones(2, 2), 4)
    h = gv.run(gv.make_planner("gd", steps=50, pilot=0), bad)  # (no pilot runs: the model counts its calls)
    msg = h.stop_reason.message
    assert msg.count("are kept") + msg.count("is kept") == 1, msg
