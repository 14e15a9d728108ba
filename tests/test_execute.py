"""Executing plans in the simulator, model error, the one MPC loop, and bring-your-own-model adapters."""

import re

import numpy as np
import pytest
import torch
from torch import nn

from graspviz.analysis import evaluate as E
from graspviz.analysis.execute import attach_truth, execute, model_error
from graspviz.analysis.mpc import mpc
from graspviz.core.errors import GraspvizError
from graspviz.core.history import History
from graspviz.core.model import WorldModel
from graspviz.core.types import Problem
from graspviz.planners import make_planner, run
from graspviz.worlds import World, get_world, learned


def _needs(name):
    assert learned.model_path(name).exists(), f"bundled model {name} missing from assets/"


class DriftWorld(World):
    """Model s' = s + a; the simulator adds a wind of ``drift`` in x at every step: the model lies by a known
    amount, so open-loop plans miss by T * drift and re-planning from the reached true state corrects it.
    Every simulator call is recorded (the start it was given)."""

    name = "test_drift"
    state_dim, action_dim, default_horizon = 2, 2, 8
    success_threshold, success_rule = 0.5, "position error < 0.5"
    simulator = True
    drift = 0.3

    def __init__(self):
        self.starts = []

    def make_model(self):
        return WorldModel(lambda s, a: s + a, 2, 2, action_low=-1.0, action_high=1.0, name="no wind")

    def sample_pairs(self, n, horizon, rng):
        start = rng.uniform(-1, 1, (n, 2))
        return start, start + np.array([2.0, 1.0])

    def simulate(self, start, actions):
        self.starts.append(np.array(start))
        s = np.asarray(start, dtype=np.float64)
        out = [s]
        for t in range(np.shape(actions)[1]):
            s = s + np.clip(np.asarray(actions)[:, t], -1, 1) + np.array([self.drift, 0.0])
            out.append(s)
        return np.stack(out, 1)


def _gd(steps=60):
    return make_planner("gd", steps=steps, lr=0.03, action_noise=0.0)


def test_mpc_corrects_a_lying_model_where_open_loop_cannot():
    w = DriftWorld()
    p = w.sample_problems(6, 8, seed=0)
    plan = run(_gd(), p).last.actions
    open_loop = execute(w, p, plan)
    assert not open_loop.success.any()
    np.testing.assert_allclose(open_loop.final_distance, 8 * w.drift, atol=0.05)  # the wind, T times
    closed = mpc(w, _gd(), p, replan_every=1, replan_steps=60)
    assert closed.success.all(), closed.final_distance
    assert closed.final_distance.max() <= w.drift + 0.05  # only the last step's wind is left
    assert closed.plans == 8 and closed.actions.shape == (6, 8, 2) and closed.true.shape == (6, 9, 2)


def test_mpc_never_resets_the_simulator_mid_episode():
    w = DriftWorld()
    p = w.sample_problems(3, 6, seed=1)
    out = mpc(w, _gd(10), p, replan_every=2)
    start, _ = w.true_endpoints(p)
    assert len(w.starts) == out.plans and all(np.array_equal(s, start) for s in w.starts)
    np.testing.assert_allclose(out.true, w.simulate(start, out.actions))  # one continuous rollout


def test_mpc_with_one_plan_is_open_loop_execution():
    w = DriftWorld()
    p = w.sample_problems(4, 5, seed=2)
    one = mpc(w, _gd(), p, replan_every=5, seed=3)
    plan = run(_gd(), p, seed=3).last.actions
    np.testing.assert_allclose(one.actions, plan)
    np.testing.assert_allclose(one.true, execute(w, p, plan).true)


def test_mpc_warm_starts_from_the_rest_of_the_plan():
    """With a single iteration per re-plan, only the warm start keeps the (already good) rest of the plan."""
    w = DriftWorld()
    w.drift = 0.0
    p = w.sample_problems(4, 6, seed=4)
    out = mpc(w, _gd(200), p, replan_every=2, replan_steps=1)
    assert out.success.all(), out.final_distance


def test_the_benchmark_runs_the_same_mpc_loop():
    w = DriftWorld()
    rows = E.evaluate(w, ["gd"], [6], trials=4, seed=0, mpc=True, replan_every=2, replan_steps=5,
                      settings={"gd": dict(steps=20, lr=0.03, action_noise=0.0)}, progress=False)
    direct = mpc(w, _gd(20), E.make_problem(w, E.evaluation_seeds(0, 4), 6), replan_every=2, replan_steps=5, seed=0)
    assert rows[0]["per_trial"]["final_distance"] == direct.final_distance.tolist()


def test_execute_and_model_error_shapes():
    _needs("pointmaze_mlp")
    w = get_world("pointmaze")
    p = w.sample_problems(2, 4, seed=0)
    h = run(make_planner("cem", steps=2, samples=20, elites=4), p, 0)
    out = execute(w, p, h.last.actions)
    assert out.true.shape == (2, 5, 4) and out.success.shape == (2,) and out.final_distance.shape == (2,)
    err = model_error(w, h)
    assert err.shape == (2, 5) and np.allclose(err[:, 0], 0, atol=1e-5)


def test_model_error_is_where_the_model_lies():
    w = DriftWorld()
    p = w.sample_problems(2, 5, seed=0)
    h = run(_gd(5), p)
    np.testing.assert_allclose(model_error(w, h), np.tile(w.drift * np.arange(6), (2, 1)), atol=1e-5)


def test_wall_pixels_problems_carry_their_true_endpoints():
    _needs("wall_pixels_ae")
    w = get_world("wall_pixels")
    p = w.sample_problems(2, 5, seed=0)
    true_start, true_goal = w.sample_pairs(2, 5, np.random.default_rng(0))
    assert p.start.shape == (2, w.state_dim)
    np.testing.assert_array_equal(p.true_start, true_start)
    np.testing.assert_array_equal(p.true_goal, true_goal)
    h = run(make_planner("gd", steps=2), p, 0)
    np.testing.assert_array_equal(h.true_start, true_start)  # and the run keeps them
    out = execute(w, p, h.last.actions)
    assert out.true.shape == (2, 6, 2)
    np.testing.assert_array_equal(out.true[:, 0], true_start)
    assert model_error(w, h).shape == (2, 6)
    assert np.abs(w.to_true(p.start.numpy()) - true_start).max() < 4.5  # decoding is an estimate, near the truth


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


# -- graspviz execute: one verdict per failed problem (graspviz.analysis.diagnose) ---------------------------
class WindyWorld(World):
    """Model s' = s + a; the simulator adds a wind of 0.3 in x wherever y > 10. Four fixed problems whose verdicts
    are known by construction: 0 reachable, no wind (success); 1 reachable on the model, windy (the model lied;
    its error 0.3 t first reaches 0.5 at step 2); 2 and 3 out of reach in T = 8 steps of |a| <= 1 (the optimiser
    failed), without wind (the error stays 0) and with it (step 2 again)."""

    name = "test_windy"
    state_dim, action_dim, default_horizon = 2, 2, 8
    success_threshold, success_rule = 0.5, "position error < 0.5"
    simulator = True
    planner_defaults = {"gd": dict(lr=0.03, action_noise=0.0)}
    wind = 0.3
    STARTS = [[0.0, 0.0], [0.0, 20.0], [0.0, 0.0], [0.0, 20.0]]
    GOALS = [[2.0, 1.0], [2.0, 21.0], [30.0, 0.0], [30.0, 20.0]]
    KINDS = ["success", "model_lied", "optimiser_failed", "optimiser_failed"]
    FIRST = [-1, 2, -1, 2]

    def make_model(self):
        return WorldModel(lambda s, a: s + a, 2, 2, action_low=-1.0, action_high=1.0, name="no wind")

    def sample_pairs(self, n, horizon, rng):
        return np.array(self.STARTS[:n]), np.array(self.GOALS[:n])

    def simulate(self, start, actions):
        s = np.asarray(start, dtype=np.float64)
        out = [s]
        for t in range(np.shape(actions)[1]):
            s = s + np.clip(np.asarray(actions)[:, t], -1, 1) + np.where(s[:, 1:2] > 10, [self.wind, 0.0], 0.0)
            out.append(s)
        return np.stack(out, 1)


READING = {"model_lied": "the model lied (the model reaches the goal, the simulator does not)",
           "optimiser_failed": "the optimiser failed (the model's own rollout misses the goal)"}


def _execute_lines(capsys, monkeypatch, world, argv):
    """``graspviz execute`` in-process with ``world`` (when given) in place of the named one; returns (stdout lines,
    the History it planned)."""
    import graspviz.planners
    import graspviz.worlds
    from graspviz import cli
    runs = []
    real_run = graspviz.planners.run

    def recording_run(*a, **k):
        runs.append(real_run(*a, **k))
        return runs[-1]
    monkeypatch.setattr(graspviz.planners, "run", recording_run)
    if world is not None:
        monkeypatch.setattr(graspviz.worlds, "get_world", lambda name: world)
    assert cli.main(["execute", *map(str, argv)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(runs) == 1
    return out, runs[0]


def _verdict_lines(out):
    return {int(m.group(1)): line for line in out if (m := re.match(r"problem (\d+): ", line))}


def test_execute_prints_a_verdict_per_failed_problem_known_answer(capsys, monkeypatch):
    """On a world whose verdicts are known by construction: exactly the failed problems get a line, each with its
    reading and the first step the model's error reaches the threshold."""
    w = WindyWorld()
    out, _ = _execute_lines(capsys, monkeypatch, w, ["--world", "pointmaze", "--planner", "gd", "--n", 4,
                                                     "--horizon", 8, "--steps", 200])
    assert out[0].startswith("pointmaze gd n=4 T=8: success 0.25, median final distance ")
    assert out[1].startswith("settings different from the planner's fixed defaults")
    assert out[2].startswith("verdicts: simulator: 1 of 4 reach the goal (position error < 0.5) | model: 2 of 4 | "
                             "median position error "), out[2]
    lines = _verdict_lines(out)
    assert sorted(lines) == [1, 2, 3], out  # problem 0 succeeds: no line
    for b, line in lines.items():
        assert line.startswith(f"problem {b}: {READING[w.KINDS[b]]}: simulator position error "), line
        first = w.FIRST[b]
        assert line.endswith(f"the model's error first reaches 0.5 at step {first}" if first >= 0
                             else "the model's error stays below 0.5"), line
    # problem 1 reaches the goal on the model and misses by the wind, 8 x 0.3, in the simulator
    m = re.search(r"simulator position error ([\d.e+-]+) >= 0\.5; model position error ([\d.e+-]+) < 0\.5", lines[1])
    assert m and abs(float(m.group(1)) - 8 * w.wind) < 0.05 and float(m.group(2)) < 0.05, lines[1]


def _first_over(err, threshold):
    over = [t for t, e in enumerate(err) if np.isfinite(e) and e >= threshold]
    return over[0] if over else -1


def test_execute_verdicts_match_the_simulator_on_pointmaze(capsys, monkeypatch):
    """On the learned pointmaze model and its MuJoCo simulator: the printed verdicts agree with the plan it made
    executed here in the simulator and its model rollout judged here, by the world's rule."""
    _needs("pointmaze_mlp")
    out, hist = _execute_lines(capsys, monkeypatch, None, ["--world", "pointmaze", "--planner", "grasp", "--n", 6,
                                                           "--horizon", 20, "--steps", 5])
    w = get_world("pointmaze")
    start, goal = w.true_endpoints(w.sample_problems(6, 20, seed=0))
    true = w.simulate(start, np.array(hist.last.actions, dtype=np.float64))
    model = w.to_true(np.array(hist.last.rollout, dtype=np.float64))
    ok_true, d_true = w.judge(true[:, -1], goal)
    ok_model, d_model = w.judge(model[:, -1], goal)
    err = w.distance(model, true)
    assert out[0].startswith(f"pointmaze grasp n=6 T=20: success {ok_true.mean():.2f}, median final distance "
                             f"{np.median(d_true):.3g} (open loop")
    assert f"simulator: {int(ok_true.sum())} of 6 reach the goal (position error < 0.5) | model: " \
           f"{int(ok_model.sum())} of 6" in out[2], out[2]
    lines = _verdict_lines(out)
    failed = [b for b in range(6) if not ok_true[b]]
    assert sorted(lines) == failed and failed, out  # (these settings leave some problems failed)
    kinds = set()
    for b in failed:
        kind = "model_lied" if ok_model[b] else "optimiser_failed"
        kinds.add(kind)
        line = lines[b]
        assert line.startswith(f"problem {b}: {READING[kind]}: simulator position error {d_true[b]:.3g} >= 0.5; "
                               f"model position error {d_model[b]:.3g} {'<' if ok_model[b] else '>='} 0.5; "), line
        first = _first_over(err[b], 0.5)
        assert line.endswith(f"first reaches 0.5 at step {first}" if first >= 0 else "stays below 0.5"), line
    assert kinds == {"model_lied", "optimiser_failed"}  # both readings are exercised


def test_mpc_verdicts_of_one_plan_are_the_open_loop_verdicts():
    """An MPC episode with a single plan is open-loop execution: its verdicts, distances and first lies are those
    diagnose gives on that plan."""
    from graspviz.analysis.diagnose import diagnose, diagnose_mpc
    w = WindyWorld()
    p = w.sample_problems(4, 8, seed=0)
    one = mpc(w, _gd(200), p, replan_every=8, seed=3)
    ref = diagnose(w, run(_gd(200), p, seed=3))
    got = diagnose_mpc(w, one, w.true_endpoints(p)[1])
    assert got.kinds == ref.kinds == tuple(w.KINDS)
    np.testing.assert_array_equal(got.first_lie, ref.first_lie)
    np.testing.assert_allclose(got.model_error, ref.model_error)
    np.testing.assert_allclose(got.distance_model, ref.distance_model)


def test_mpc_verdicts_judge_what_each_plan_predicted():
    """Re-planning every step against a steady wind the model does not know: every plan's model rollout reaches
    the goal, so a miss is the model's lie; its one-step predictions are off by exactly the wind (below the
    threshold), so the error never reaches it. A stronger wind makes the first step a lie."""
    from graspviz.analysis.diagnose import diagnose_mpc
    w = DriftWorld()
    p = w.sample_problems(4, 6, seed=0)
    out = mpc(w, _gd(), p, replan_every=1, replan_steps=60)
    assert out.predicted.shape == out.true.shape == (4, 7, 2)
    np.testing.assert_allclose(out.predicted[:, 1:] - out.true[:, 1:], np.tile([-w.drift, 0.0], (4, 6, 1)), atol=1e-6)
    d = diagnose_mpc(w, out, w.true_endpoints(p)[1])
    assert d.kinds == ("success",) * 4 and (d.first_lie == -1).all()
    w.drift = 0.7  # each step now lies by more than the 0.5 threshold, and the last step's wind misses the goal
    d = diagnose_mpc(w, mpc(w, _gd(), p, replan_every=1, replan_steps=60), w.true_endpoints(p)[1])
    assert d.kinds == ("model_lied",) * 4 and (d.first_lie == 1).all(), (d.kinds, d.first_lie)


def test_execute_with_mpc_prints_verdicts_per_failed_problem(capsys, monkeypatch):
    import graspviz.worlds
    from graspviz import cli
    w = DriftWorld()
    w.drift = 0.7
    monkeypatch.setattr(graspviz.worlds, "get_world", lambda name: w)
    assert cli.main(["execute", "--world", "pointmaze", "--planner", "gd", "--n", "3", "--horizon", "6",
                     "--steps", "60", "--replan-every", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "(MPC (re-plan every 1, 6 plans)" in out[0], out[0]
    head = next(line for line in out if line.startswith("verdicts: "))
    assert head.startswith("verdicts: simulator: 0 of 3 reach the goal (position error < 0.5) | model: 3 of 3") \
        and head.endswith("(model: what each plan predicted from the state it started in)"), head
    lines = _verdict_lines(out)
    assert sorted(lines) == [0, 1, 2], out
    assert all(line.startswith(f"problem {b}: {READING['model_lied']}: simulator position error ")
               and line.endswith("the model's error first reaches 0.5 at step 1") for b, line in lines.items()), lines
