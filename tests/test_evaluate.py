"""The comparison benchmark (graspviz.analysis.evaluate, .tuning, .report) and ``graspviz bench`` / ``tune`` / ``scaling``.

Small on purpose: the --quick preset once, everything else on 2-3 problems and a handful of
iterations. Speed targets live in the benchmark itself, never here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import graspviz as gv
from graspviz import cli
from graspviz.analysis import evaluate as E
from graspviz.analysis import report as R
from graspviz.analysis import tuning as TU
from graspviz.worlds.analytic import Wall
from helpers import assert_one_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: keyword arguments of a tiny benchmark: a few iterations, few samples
TINY = dict(check_every=2, progress=False,
            settings={"grasp": dict(steps=6, sync_every=3, sync_steps=2), "cem": dict(steps=3, samples=16, elites=4)})


@pytest.fixture(scope="module")
def quick_rows():
    return E.quick(progress=False)


# -- the --quick preset and the output formats ------------------------------------------------------------
def test_quick_preset_rows_have_the_documented_keys(quick_rows):
    q = E.QUICK
    assert len(quick_rows) == len(q["horizons"]) * len(q["planners"])
    assert [(r["horizon"], r["planner"]) for r in quick_rows] == [(T, p) for T in q["horizons"] for p in q["planners"]]
    for r in quick_rows:
        assert set(E.ROW_KEYS) <= set(r)
        assert r["world"] == "wall" and r["trials"] == 8 and r["seed"] == 0 and r["backend"] == "serial"
        assert 0 <= r["ci_low"] <= r["success_rate"] <= r["ci_high"] <= 1
        assert (r["ci_low"], r["ci_high"]) == E.wilson(r["successes"], r["trials"])
        assert r["successes"] == sum(r["per_trial"]["success"])
        assert r["config"] == gv.get_world("wall").config_for(r["planner"], **q["settings"][r["planner"]]).to_dict()
        assert r["iterations"] == q["settings"][r["planner"]]["steps"]
        assert r["per_trial"]["seed"] == list(range(8))  # trial i is the problem seeded seed + i
        times = [t for t in r["per_trial"]["time_to_success_s"] if t is not None]
        assert len(times) == r["successes"]
        if times:
            assert r["median_time_to_success_s"] == pytest.approx(float(np.median(times)))
        else:
            assert r["median_time_to_success_s"] is None
    assert any(r["successes"] > 0 for r in quick_rows)  # the preset exercises time-to-success


def test_trial_i_is_the_problem_seeded_seed_plus_i():
    world = gv.get_world("wall")
    p = E.make_problem(world, [5, 6, 7], 10)
    for i, s in enumerate((5, 6, 7)):
        ref = world.sample_problems(1, 10, seed=s)
        assert np.array_equal(p.start[i].numpy(), ref.start[0].numpy())
        assert np.array_equal(p.goal[i].numpy(), ref.goal[0].numpy())


def test_markdown_json_and_curves(quick_rows, tmp_path):
    md = R.to_markdown(quick_rows)
    lines = md.strip().splitlines()
    assert lines[2] == "| H | GRASP | GD shooting | CEM | Collocation | GRASP / CEM time |"
    assert [ln.split("|")[1].strip() for ln in lines[4:]] == ["20", "40"]
    for ln, T in zip(lines[4:], (20, 40)):  # the last column: GRASP's median time to success over CEM's
        g, c = ({r["planner"]: r for r in quick_rows if r["horizon"] == T}[p]["median_time_to_success_s"]
                for p in ("grasp", "cem"))
        assert ln.split("|")[-2].strip() == ("-" if g is None or c is None else f"{g / c:.2f}x"), ln
    r = quick_rows[0]
    assert f"{100 * r['success_rate']:.1f} [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]" in lines[4]
    assert "success % [95% Wilson CI] / median seconds" in lines[0]

    path = tmp_path / "rows.json"
    text = R.to_json(quick_rows, path)
    assert json.loads(text) == json.loads(path.read_text())
    back = R.from_json(path)
    assert isinstance(back, list) and len(back) == len(quick_rows)
    assert back[0]["per_trial"]["success"] == quick_rows[0]["per_trial"]["success"]
    assert R.to_markdown(back) == md

    cv = R.curves(quick_rows)
    assert list(cv) == list(E.QUICK["planners"])
    for p, c in cv.items():
        assert c["horizons"] == [20, 40]
        rs = [r for r in quick_rows if r["planner"] == p]
        assert c["success"] == [r["success_rate"] for r in rs]
        assert c["median_time_s"] == [r["median_time_to_success_s"] for r in rs]
        assert all(lo <= s <= hi for lo, s, hi in zip(c["ci_low"], c["success"], c["ci_high"]))


# -- statistics ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k, n, low, high", [(0, 10, 0.0, 0.27753), (5, 10, 0.23659, 0.76341), (10, 10, 0.72247, 1.0),
                                             (1, 1, 0.20655, 1.0), (59, 100, 0.49201, 0.68133)])
def test_wilson_interval_known_values(k, n, low, high):
    lo, hi = E.wilson(k, n)
    assert lo == pytest.approx(low, abs=2e-5) and hi == pytest.approx(high, abs=2e-5)


def test_wilson_symmetry_and_edges():
    for n in (1, 7, 30):
        for k in range(n + 1):
            lo, hi = E.wilson(k, n)
            lo2, hi2 = E.wilson(n - k, n)
            assert lo == pytest.approx(1 - hi2) and hi == pytest.approx(1 - lo2)
            assert 0 <= lo <= k / n <= hi <= 1
    assert E.wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(gv.GraspvizError):
        E.wilson(3, 2)


# -- time-to-success ----------------------------------------------------------------------------------------
def test_time_to_success_is_none_when_nothing_succeeds():
    # GD with zero step size and no noise never moves: every start is across the wall from its goal
    rows = E.evaluate("wall", ["gd"], [8], 3, check_every=1, progress=False,
                      settings={"gd": dict(steps=3, lr=0.0, action_noise=0.0)})
    (r,) = rows
    assert r["successes"] == 0 and r["success_rate"] == 0.0 and r["ci_low"] == 0.0
    assert r["median_time_to_success_s"] is None and r["median_iterations_to_success"] is None
    assert r["per_trial"]["time_to_success_s"] == [None] * 3
    assert "| 0.0 [0.0, 56.1] / - |" in R.to_markdown(rows)
    assert R.curves(rows)["gd"]["median_time_s"] == [None]


class SleepyWall(Wall):
    """The wall world with a slow simulator that reports success from its ``after``-th call on."""

    name = "sleepy_wall"

    def __init__(self, sleep=0.05, after=5):
        self.sleep, self.after, self.calls = sleep, after, 0

    def simulate(self, start, actions):
        time.sleep(self.sleep)
        self.calls += 1
        return super().simulate(start, actions)

    def is_success(self, states, goals):
        return np.full(len(states), self.calls > self.after)


def test_time_to_success_excludes_the_checks():
    world = SleepyWall(sleep=0.05, after=5)
    (r,) = E.evaluate(world, ["collocation"], [6], 2, check_every=1, progress=False,
                      settings={"collocation": dict(steps=20)})
    # checks at iterations 0, 1, ...: the 6th check (iteration 5) is the first success
    assert r["per_trial"]["iterations_to_success"] == [5, 5]
    assert r["successes"] == 2 and r["world"] == "sleepy_wall"
    # 6 checks slept 0.3 s before that point; the planning time of 5 tiny iterations is far below it
    assert 0 < r["median_time_to_success_s"] < 0.1
    assert world.calls == 7  # the batch stopped once every trial had succeeded (+1 final judgement)


def test_check_every_zero_judges_the_final_plan():
    world = SleepyWall(sleep=0.0, after=0)
    (r,) = E.evaluate(world, ["collocation"], [6], 2, check_every=0, progress=False,
                      settings={"collocation": dict(steps=4)})
    assert r["per_trial"]["iterations_to_success"] == [4, 4] and world.calls == 1


# -- MPC, chunks, tuning ------------------------------------------------------------------------------------
def test_mpc_rows():
    rows = E.evaluate("wall", ["cem"], [8], 2, mpc=True, replan_every=3, replan_steps=2, **TINY)
    (r,) = rows
    assert r["mpc"] == dict(replan_every=3, replan_steps=2)
    assert len(r["per_trial"]["success"]) == 2 and r["iterations"] == 3
    assert "MPC" in R.to_markdown(rows).splitlines()[0]


def test_chunks_cover_every_trial():
    rows = E.evaluate("wall", ["cem"], [8], 5, chunk=2, **TINY)
    (r,) = rows
    assert r["batch"] == 2 and r["planner_seeds"] == [0, 1, 2]
    assert r["per_trial"]["seed"] == [0, 1, 2, 3, 4] and len(r["per_trial"]["final_distance"]) == 5


def test_tuning_seeds_are_disjoint_from_evaluation_seeds():
    rec = TU.tune("wall", "grasp", 8, 3, seed=2, trials=3, base=dict(steps=4, sync_every=2, sync_steps=1))
    assert rec["tuning_seeds"] == [10_002, 10_003, 10_004]
    assert not set(rec["tuning_seeds"]) & set(E.evaluation_seeds(2, 9_999))
    world = gv.get_world("wall")
    tune_p, eval_p = E.make_problem(world, rec["tuning_seeds"], 8), E.make_problem(world, E.evaluation_seeds(2, 50), 8)
    for s in tune_p.start.numpy():
        assert not (eval_p.start.numpy() == s).all(-1).any()
    assert len(rec["log"]) == 3 and rec["log"][0]["overrides"] == {}  # config 0: the world's settings
    assert rec["log"][0]["config"] == world.config_for("grasp", steps=4, sync_every=2, sync_steps=1).to_dict()
    assert all(e["config"]["steps"] == 4 for e in rec["log"])  # base overrides hold for every draw
    assert {"lr_states", "lr_actions", "sigma", "gamma"} == set(rec["log"][1]["overrides"])
    assert rec["best"] == rec["log"][rec["best_index"]]["config"]
    again = TU.tune("wall", "grasp", 8, 3, seed=2, trials=3, base=dict(steps=4, sync_every=2, sync_steps=1))
    assert [e["overrides"] for e in again["log"]] == [e["overrides"] for e in rec["log"]]  # the search is seeded


def test_tuned_settings_are_recorded_in_rows():
    settings, tuning = TU.tune_all("wall", ["cem"], [8], 2, seed=0, trials=2,
                                  base={"cem": dict(steps=2, samples=16, elites=4)})
    rows = E.evaluate("wall", ["cem"], [8], 2, settings=settings, tuning=tuning, progress=False)
    (r,) = rows
    assert r["tuned"] and r["config"] == settings[("cem", 8)]
    assert r["tuning"]["tuning_seeds"] == [10_000, 10_001] and len(r["tuning"]["log"]) == 2
    json.loads(R.to_json(rows))  # tuple keys and all: serialisable
    assert "Tuned: CEM." in R.to_markdown(rows)


@pytest.mark.parametrize("name", [*gv.PLANNERS, *gv.ABLATIONS])
def test_search_space_draws_are_valid_configs(name):
    world = gv.get_world("wall")
    rng = np.random.default_rng(0)
    space = TU.search_space(name)
    assert space
    for _ in range(20):
        draw = TU.sample_settings(name, world, rng)
        cfg = E.config_of(world, name, draw)  # validated against the knob bounds
        if name == "cem":
            assert 2 <= cfg.elites <= cfg.samples
    if name == "grasp-no-goal":
        assert "gamma" not in space
    if name == "grasp-no-noise":
        assert "sigma" not in space


# -- Ray --------------------------------------------------------------------------------------------------
def test_ray_matches_serial():
    ray = pytest.importorskip("ray")
    kw = dict(TINY, horizons=[8, 12], trials=4, chunk=2)
    serial = E.evaluate("wall", ["grasp", "cem"], **kw)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        distributed = E.evaluate("wall", ["grasp", "cem"], backend="ray", **kw)
    finally:
        ray.shutdown()
    assert len(serial) == len(distributed)
    for a, b in zip(serial, distributed):
        assert (a["horizon"], a["planner"], a["config"]) == (b["horizon"], b["planner"], b["config"])
        for k in ("seed", "success", "iterations_to_success", "final_success", "final_distance"):
            assert a["per_trial"][k] == b["per_trial"][k], (a["planner"], a["horizon"], k)
        assert b["backend"] == "ray" and b["planner_seeds"] == a["planner_seeds"] == [0, 1]


def test_serial_path_never_imports_ray_or_front_ends():
    script = textwrap.dedent("""
        import sys
        BLOCKED = {"ray", "plotly", "panel", "matplotlib", "IPython"}
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import graspviz.analysis.evaluate as E, graspviz.analysis.scaling as S, graspviz.cli
        rows = E.evaluate("wall", ["cem"], [4], 2, progress=False, settings={"cem": dict(steps=1, samples=8, elites=2)})
        S.scaling((2,), (1,), iters=1, warmup=0, S=2, A=2, hidden=4)
        print("ok", rows[0]["trials"])
    """)
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok 2")


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, match", [
    (dict(planners=["nope"]), "unknown planner 'nope'"),
    (dict(world="moon"), "unknown world 'moon'"),
    (dict(horizons=[8, 0]), "horizon must be an integer >= 1"),
    (dict(trials=0), "trials must be an integer >= 1"),
    (dict(planners=[]), "planners must not be empty"),
    (dict(check_every=-1), "check_every must be"),
    (dict(backend="spark"), "backend must be"),
    (dict(settings={"cem": dict(colour=1)}), "has no setting 'colour'"),
])
def test_bad_input_is_one_line(kw, match):
    args = dict(world="wall", planners=["cem"], horizons=[8], trials=2, progress=False)
    args.update(kw)
    with pytest.raises(gv.GraspvizError, match=match) as e:
        E.evaluate(args.pop("world"), args.pop("planners"), args.pop("horizons"), args.pop("trials"), **args)
    assert_one_line(e.value)


# -- CLI ------------------------------------------------------------------------------------------------
TINY_CLI = ["bench", "--quick", "--horizons", "6", "--trials", "2", "--planners", "cem", "--set", "cem.samples=16",
            "--set", "cem.elites=4", "--set", "cem.steps=2", "--no-progress"]


def test_cli_bench_writes_json_and_markdown(tmp_path, capsys):
    js, md = tmp_path / "b.json", tmp_path / "b.md"
    assert cli.main([*TINY_CLI, "--json", str(js), "--markdown", str(md)]) == 0
    rows = json.loads(js.read_text())
    assert len(rows) == 1 and rows[0]["config"]["samples"] == 16 and rows[0]["trials"] == 2
    assert md.read_text() in capsys.readouterr().out


def test_cli_bench_tune(capsys):
    assert cli.main([*TINY_CLI, "--tune", "--tune-budget", "2", "--tune-trials", "2"]) == 0
    out = capsys.readouterr()
    assert "Tuned: CEM." in out.out and "tuning problems (seeds 10000+i" in out.err


@pytest.mark.parametrize("argv, match", [
    (["--planners", "nope"], "unknown planner 'nope'"),
    (["--world", "moon"], "unknown world 'moon'"),
    (["--horizons", "0"], "horizons must be integers >= 1"),
    (["--trials", "0"], "--trials must be an integer >= 1"),
    (["--set", "cem.samples"], "--set expects PLANNER.KNOB=VALUE"),
    (["--set", "mppi.samples=4"], "not benchmarked"),
    (["--set", "cem.samples=lots"], "CEMConfig.samples must be an integer"),
    (["--ray-address", "auto"], "needs --backend ray"),
])
def test_cli_bad_input_is_one_line(argv, match, capsys):
    assert cli.main(["bench", "--quick", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err, err


def test_cli_tune_and_scaling_subcommands(tmp_path, capsys):
    js = tmp_path / "t.json"
    assert cli.main(["tune", "--planners", "cem", "--horizon", "6", "--budget", "2", "--trials", "2",
                     "--set", "cem.steps=2", "--set", "cem.samples=16", "--set", "cem.elites=4", "--json", str(js)]) == 0
    assert json.loads(js.read_text())[0]["tuning_seeds"] == [10_000, 10_001]
    assert cli.main(["scaling", "--horizons", "2", "4", "--batches", "1", "--iters", "1", "--state-dim", "2",
                     "--action-dim", "2", "--hidden", "4"]) == 0
    out = capsys.readouterr().out
    assert "| T | B | grasp-no-sync | gd |" in out and "time x" in out


# -- simulator worlds: judged on the TRUE rollout ---------------------------------------------------------
SIM_TINY = dict(check_every=2, progress=False, settings={"cem": dict(steps=2, samples=16, elites=4)})


def _recording(base):
    """A subclass of the world class ``base`` that records what reaches its simulator, its success test and its
    map from true to planning states."""

    class Recording(base):  # keeps the registered name (the learned model is looked up by it)

        def __init__(self):
            super().__init__()
            self.sim_calls, self.success_calls, self.encoded = [], [], []

        def simulate(self, start, actions):
            out = super().simulate(start, actions)
            self.sim_calls.append((np.array(start, dtype=float), np.array(actions, dtype=float), out))
            return out

        def is_success(self, states, goals):
            ok = super().is_success(states, goals)
            self.success_calls.append((np.array(states, dtype=float), np.array(goals, dtype=float), np.array(ok)))
            return ok

        def to_planning(self, true_states):
            z = super().to_planning(true_states)
            self.encoded.append((np.array(true_states, dtype=float), np.array(z)))
            return z

    return Recording()


def test_latent_world_problems_carry_the_true_positions():
    from graspviz.worlds.analytic import Wall
    world = gv.get_world("wall_pixels")
    p = E.make_problem(world, [3, 4], 10)
    assert p.start.shape == (2, world.state_dim)  # the planner sees latents
    true = [Wall().sample_pairs(1, 10, np.random.default_rng(s)) for s in (3, 4)]
    start, goal = world.true_endpoints(p)
    np.testing.assert_array_equal(start, np.concatenate([t[0] for t in true]))
    np.testing.assert_array_equal(goal, np.concatenate([t[1] for t in true]))
    np.testing.assert_allclose(world.to_planning(start), p.start.numpy(), atol=1e-5)  # encode(true) = start
    wall = gv.get_world("wall")  # state worlds: both maps are the identity, and the problem is its own truth
    q = E.make_problem(wall, [3, 4], 10)
    assert q.true_start is None and np.array_equal(wall.true_endpoints(q)[0], q.start.double().numpy())
    assert np.array_equal(wall.to_true(start), start) and np.array_equal(wall.to_planning(start), start)


@pytest.mark.parametrize("mpc", [False, True])
def test_wall_pixels_is_judged_on_the_true_position_rollout(mpc):
    from graspviz.worlds.sims import WallPixels
    world = _recording(WallPixels)
    (r,) = E.evaluate(world, ["cem"], [6], 2, mpc=mpc, replan_every=2, replan_steps=1, **SIM_TINY)
    assert world.sim_calls and world.success_calls
    for start, actions, out in world.sim_calls:  # the simulator only ever sees true 2-D positions
        assert start.shape == (2, 2) and out.shape == (2, actions.shape[1] + 1, 2)
    states, goals, ok = world.success_calls[-1]
    assert states.shape == goals.shape == (2, 2)
    assert r["per_trial"]["final_success"] == ok.tolist()
    np.testing.assert_allclose(r["per_trial"]["final_distance"], np.linalg.norm(states - goals, axis=-1))
    seeds = r["per_trial"]["seed"]
    from graspviz.worlds.analytic import Wall
    goal_xy = np.concatenate([Wall().sample_pairs(1, 6, np.random.default_rng(s))[1] for s in seeds])
    np.testing.assert_allclose(goals, goal_xy, atol=1e-9)  # the true goal, not a decoded estimate
    if mpc:
        # the executed actions are ONE rollout from the true start: the last simulation runs all 6
        start, actions, out = world.sim_calls[-1]
        assert actions.shape[1] == 6 and np.allclose(out[:, -1], states)
        # re-plans 2 and 3 start at the ENCODED true states reached after 2 and 4 actions (the first two
        # encodings are the benchmark's problem: its starts and goals)
        assert [xy.shape for xy, _ in world.encoded] == [(2, 2)] * 4
        for (xy, _), k in zip(world.encoded[2:], (2, 4)):
            np.testing.assert_allclose(xy, out[:, k])


def test_mpc_replanning_never_is_open_loop_with_the_same_seed():
    kw = dict(settings={"cem": dict(steps=3, samples=16, elites=4)}, progress=False)
    (ol,) = E.evaluate("wall_pixels", ["cem"], [5], 2, check_every=0, **kw)
    (mp,) = E.evaluate("wall_pixels", ["cem"], [5], 2, mpc=True, replan_every=5, **kw)
    assert mp["per_trial"]["final_distance"] == pytest.approx(ol["per_trial"]["final_distance"])
    assert mp["per_trial"]["success"] == ol["per_trial"]["final_success"]


@pytest.mark.parametrize("mpc", [False, True])
def test_pusht_success_includes_the_angle(mpc):
    from graspviz.worlds.sims import PushT
    world = _recording(PushT)
    (r,) = E.evaluate(world, ["cem"], [3], 2, mpc=mpc, replan_every=1, replan_steps=1, **SIM_TINY)
    states, goals, ok = world.success_calls[-1]
    assert states.shape == goals.shape == (2, 5)
    angle = np.abs((states[:, 4] - goals[:, 4] + np.pi) % (2 * np.pi) - np.pi)
    expected = (np.linalg.norm(states[:, :4] - goals[:, :4], axis=-1) < 20) & (angle < np.pi / 9)
    assert r["per_trial"]["final_success"] == expected.tolist() == ok.tolist()
    if mpc:  # never reset mid-episode (the 5-D state has no velocity): one rollout of all 3 actions
        start, actions, out = world.sim_calls[-1]
        assert actions.shape[1] == 3 and np.allclose(out[:, -1], states)
        replans = world.encoded[2:]  # after the benchmark's problem (starts, goals): the 2 re-plans
        assert len(replans) == 2
        for k, (true_state, _) in enumerate(replans, 1):  # re-plan k starts where k actions left us
            np.testing.assert_allclose(true_state, out[:, k])


def test_markdown_of_open_loop_and_mpc_rows_together():
    kw = dict(settings={"cem": dict(steps=2, samples=16, elites=4)}, progress=False)
    ol = E.evaluate("wall", ["cem", "gd"], [4, 6], 2, check_every=0, **kw)
    mp = E.evaluate("wall", ["cem", "gd"], [4, 6], 2, mpc=True, replan_every=2, replan_steps=1, **kw)
    md = R.to_markdown(ol + mp)
    lines = md.strip().splitlines()
    assert "open loop and MPC" in lines[0] and "only the final plan is judged" in lines[0]
    assert "re-plan every 2 executed actions with 1 iterations" in lines[0]
    assert "Settings: the world's suggested ones, except CEM (steps=2, samples=16, elites=4)." in lines[0]
    assert R.overrides_of(ol[1]) == {} and R.overrides_of(dict(ol[1], world="moon")) is None
    assert [ln.split("|")[1].strip() for ln in lines[4:]] == ["4 open loop", "4 MPC", "6 open loop", "6 MPC"]
    r = mp[3]  # T = 6, GD, MPC
    assert lines[7].split("|")[3].strip().startswith(f"{100 * r['success_rate']:.1f} [")
    assert R.to_markdown(json.loads(R.to_json(ol + mp))) == md
    assert "checked in the simulator every 10 iterations" in R.to_markdown(E.evaluate("wall", ["cem"], [4], 1, **kw))


def test_cli_bench_threads_are_set_recorded_and_restored(tmp_path, capsys):
    import torch
    before = torch.get_num_threads()
    js = tmp_path / "t.json"
    assert cli.main([*TINY_CLI, "--threads", "1", "--json", str(js)]) == 0
    assert torch.get_num_threads() == before
    (row,) = json.loads(js.read_text())
    assert row["threads"] == 1 and "torch CPU threads: 1" in R.to_markdown([row])
    assert cli.main([*TINY_CLI, "--threads", "0"]) == 2
    assert "--threads must be an integer >= 1" in capsys.readouterr().err
