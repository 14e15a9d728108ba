"""A world's suggested planner settings come from ONE place, :meth:`World.config_for`, and every entry point runs
exactly that config: the CLI (``plan``, ``execute``), the benchmark, tuning, the race and the app, for every world
x planner x ablation. (Three copies of this logic once drifted: ``graspviz execute --world pointmaze --planner
grasp-no-sync`` ran GRASP's generic step sizes instead of the maze's.)"""

from __future__ import annotations

import pytest

import graspviz as gv
from graspviz import cli
from graspviz.analysis import evaluate as E
from graspviz.analysis import tuning as TU
from graspviz.analysis.race import race
from graspviz.core.history import History
from graspviz.planners import Planner

NAMES = [*gv.PLANNERS, *gv.ABLATIONS]
WORLDS = sorted(gv.WORLDS)
CHEAP = {"steps": 1}  # every entry point is run for real, one iteration


def expected(world: str, name: str, **overrides) -> dict:
    return gv.get_world(world).config_for(name, **{**CHEAP, **overrides}).to_dict()


def as_configured(config: dict, *auto: dict) -> dict:
    """A config a run recorded, with the automatic knobs it derived at run start (listed in ``auto``) put back to
    None (automatic), as :meth:`World.config_for` gives them: a world that suggests no settings (``wall_tokens``)
    runs on automatic ones. A suggested value overwritten by a derived one still differs from the expected."""
    return {**config, **{k: None for a in auto for k in a}}


@pytest.fixture
def built(monkeypatch):
    """Every planner constructed while the test runs, in order: [(planner name, config dict)]. The last one is the
    planner that ran (building a config constructs planners too)."""
    seen = []
    init = Planner.__init__

    def recording(self, config=None, **overrides):
        init(self, config, **overrides)
        seen.append((self.name, self.config.to_dict()))
    monkeypatch.setattr(Planner, "__init__", recording)
    return seen


def test_config_for_layers_defaults_suggestions_ablation_and_overrides():
    maze = gv.get_world("pointmaze")
    suggested = maze.planner_defaults["grasp"]
    cfg = maze.config_for("grasp-no-sync", sigma=0.2)
    assert cfg.sync is False and cfg.sigma == 0.2  # the ablation's switch, then the overrides
    assert (cfg.lr_states, cfg.sync_every) == (suggested["lr_states"], suggested["sync_every"]) == (0.02, 5)
    assert maze.config_for("grasp-no-sync", sync=True).sync is True  # an explicit override wins
    assert gv.planner_config("grasp-no-sync", "pointmaze") == maze.config_for("grasp-no-sync")  # the public alias
    assert gv.get_world("wall").config_for("cem").steps == 10 != gv.make_planner("cem").config.steps


@pytest.mark.parametrize("world", WORLDS)
def test_cli_plan_runs_the_worlds_config(world, capsys, tmp_path):
    for name in NAMES:
        out = tmp_path / f"{name}.npz"
        code = cli.main(["plan", "--world", world, "--planner", name, "--steps", "1", "--horizon", "2",
                         "--device", "cpu", "--no-progress", "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        hist = History.load(out)
        assert as_configured(hist.config, hist.meta.get("auto", {})) == expected(world, name), (world, name)


@pytest.mark.parametrize("world", WORLDS)
def test_benchmark_tuning_race_and_app_run_the_worlds_config(world, built):
    from graspviz.app.state import AppState
    w = gv.get_world(world)
    for name in NAMES:
        (row,) = E.evaluate(w, [name], [2], 1, settings={name: CHEAP}, check_every=0, progress=False)
        assert as_configured(row["config"], *row["auto"]) == expected(world, name), ("bench", world, name)
        rec = TU.tune(w, name, 2, 1, trials=1, base=CHEAP, check_every=0)
        assert rec["log"][0]["config"] == expected(world, name), ("tune", world, name)
        st = AppState(world=world, planner=name, horizon=2, batch=1)
        assert st.config == expected(world, name, steps=st.config["steps"]), ("app", world, name)
        built.clear()
        st.set_config("steps", 1)
        assert st.run(), st.message
        ran, config = built[-1]
        assert (ran, as_configured(config, st.derived())) == (gv.planners.family(name), expected(world, name)), \
            ("app run", world, name)
    result = race(w, w.sample_problems(1, 2), planners=NAMES, steps=1)
    for name in NAMES:
        assert result["planners"][name]["config"] == expected(world, name), ("race", world, name)


@pytest.mark.parametrize("world", ["pointmaze", "pusht", "wall_pixels"])
def test_cli_execute_runs_the_worlds_config(world, capsys, built):
    for name in NAMES:
        built.clear()
        assert cli.main(["execute", "--world", world, "--planner", name, "--n", "1", "--horizon", "2",
                         "--steps", "1"]) == 0, capsys.readouterr().err
        assert built[-1] == (gv.planners.family(name), expected(world, name)), (world, name)
        capsys.readouterr()


def test_pointmaze_ablation_uses_the_mazes_step_sizes(capsys):
    """The case that drifted, as a user runs it."""
    assert cli.main(["execute", "--world", "pointmaze", "--planner", "grasp-no-sync", "--n", "2"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("settings different from the planner's fixed defaults"))
    for setting in ("lr_states=0.02", "lr_actions=0.005", "sync_every=5", "sync=False"):
        assert setting in line, line
