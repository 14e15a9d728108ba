"""The command line: plan / show / worlds / planners / bench / serve and its errors."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

import graspviz as gv
from graspviz import cli
from graspviz.cli.common import _num
from graspviz.core.device import resolve_device
from graspviz.core.config import knobs
from graspviz.core.history import History
from graspviz.core.model import WorldModel
from graspviz.worlds import WORLDS, World

from helpers import Faulty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(capsys, *argv):
    """main(argv) in-process -> (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def flat(text: str) -> str:
    return " ".join(text.split())


# -- plan ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("world,planner", [("wall", "grasp"), ("point_mass", "gd"), ("hills", "cem"),
                                           ("hills", "grasp-no-noise")])
def test_plan_writes_a_loadable_run(capsys, tmp_path, world, planner):
    out_file = tmp_path / "run.npz"
    steps = 3
    code, out, err = run_cli(capsys, "plan", "--world", world, "--planner", planner, "--horizon", 6, "--steps", steps,
                             "--batch", 2, "--seed", 1, "--device", "cpu", "--out", out_file, "--no-progress")
    assert code == 0, err
    hist = History.load(out_file)
    assert hist.planner == ("grasp" if planner.startswith("grasp") else planner)
    assert hist.world == world and hist.horizon == 6 and hist.seed == 1 and hist.start.shape[0] == 2
    assert hist.iterations == list(range(steps + 1)) and hist.stop_reason is None
    assert hist.config["steps"] == steps
    # the summary names what the brief promises, with numbers from this very run
    assert f"iterations: {steps}" in out
    assert f"mean {float(np.mean(hist.last.goal_distance)):.4g}" in out
    assert "success (" in out and "/2" in out
    assert "consistency gap" in out and "wall time" in out
    if planner == "grasp-no-noise":
        assert hist.config["noise"] is False


def test_plan_applies_world_defaults_and_flags(capsys, tmp_path):
    f = tmp_path / "r.npz"
    code, _, err = run_cli(capsys, "plan", "--world", "wall", "--planner", "grasp", "--horizon", 5, "--steps", 2,
                           "--lr-actions", "0.02", "--sigma-schedule", "cosine", "--stop-grad", "false", "--no-sync",
                           "--out", f, "--device", "cpu")
    assert code == 0, err
    cfg = History.load(f).config
    suggested = gv.get_world("wall").config_for("grasp")
    assert cfg["lr_states"] == suggested.lr_states != type(suggested)().lr_states  # the world's, not overridden
    assert cfg["lr_actions"] == 0.02 and cfg["sigma_schedule"] == "cosine"
    assert cfg["stop_grad"] is False and cfg["sync"] is False


def test_plan_float64_and_stride(capsys, tmp_path):
    f = tmp_path / "r.npz"
    code, _, err = run_cli(capsys, "plan", "--world", "point_mass", "--planner", "gd", "--horizon", 4, "--steps", 5,
                           "--stride", 2, "--dtype", "float64", "--out", f, "--device", "cpu")
    assert code == 0, err
    hist = History.load(f)
    assert hist.iterations == [0, 2, 4, 5]
    assert hist.meta["dtype"] == "float64" and hist.last.actions.dtype == np.float64


def test_show_summarises_a_saved_run(capsys, tmp_path):
    f = tmp_path / "r.npz"
    assert run_cli(capsys, "plan", "--world", "hills", "--planner", "gd", "--steps", 2, "--horizon", 4, "--lr", 0.3,
                   "--out", f, "--device", "cpu")[0] == 0
    code, out, err = run_cli(capsys, "show", f)
    assert code == 0, err
    assert "gd on hills" in out and "iterations: 2" in out and "lr=0.3" in out


# -- help ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["--help"], ["plan", "--help"]])
def test_help_documents_every_planner_setting(capsys, argv):
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0
    text = flat(out)
    for name, cls in gv.PLANNERS.items():
        for k in knobs(cls.Config):
            flag = "--" + k.name.replace("_", "-")
            assert flag in text, (name, flag)
            assert flat(k.help) in text, (name, k.name)
            default = f"auto: {flat(k.auto)}" if k.auto else str(k.default).lower() \
                if isinstance(k.default, bool) else f"{k.default:g}" if isinstance(k.default, float) else str(k.default)
            assert f"{flat(k.help)} (default {default}" in text, (name, k.name)
            if k.low is not None and k.high is not None:
                assert f"{_num(k.low)}..{_num(k.high)}" in text, (name, k.name)
    for ablation in gv.ABLATIONS:
        assert ablation in text


def test_planners_and_worlds_tables(capsys):
    code, out, _ = run_cli(capsys, "worlds")
    assert code == 0
    for name, w in WORLDS.items():
        assert name in out and w.success_rule in out and w.description in out
    code, out, _ = run_cli(capsys, "planners", "--world", "wall")
    assert code == 0
    assert "--lr-states X" in out and "default 0.3" in out  # wall's suggested lr_states
    for ablation in gv.ABLATIONS:
        assert ablation in out


# -- bad input: exit code 2, one line, no traceback -------------------------------------------------------
BAD = {
    "unknown world": (["plan", "--world", "moon", "--planner", "grasp"], "unknown world 'moon'"),
    "unknown planner": (["plan", "--world", "wall", "--planner", "astar"], "unknown planner 'astar'"),
    "horizon 0": (["plan", "--world", "wall", "--planner", "grasp", "--horizon", "0"], "horizon"),
    "negative lr": (["plan", "--world", "wall", "--planner", "gd", "--lr=-1"], "lr"),
    "negative lr states": (["plan", "--world", "wall", "--planner", "grasp", "--lr-states", "-0.5"], "lr_states"),
    "foreign flag": (["plan", "--world", "wall", "--planner", "gd", "--sigma", "0.1"],
                     "--sigma is not a setting of planner 'gd'; its settings are: --steps --lr --optimizer --action-noise"),
    "non-numeric": (["plan", "--world", "wall", "--planner", "grasp", "--gamma", "lots"], "gamma"),
    "non-numeric int": (["plan", "--world", "wall", "--planner", "grasp", "--horizon", "ten"], "--horizon"),
    "bad choice": (["plan", "--world", "wall", "--planner", "grasp", "--sigma-schedule", "zigzag"], "sigma_schedule"),
    "bad bool": (["plan", "--world", "wall", "--planner", "grasp", "--sync", "maybe"], "sync"),
    "bad dtype": (["plan", "--world", "wall", "--planner", "grasp", "--dtype", "float16"], "--dtype"),
    "bad device": (["plan", "--world", "wall", "--planner", "grasp", "--device", "tpu"], "device"),
    "batch 0": (["plan", "--world", "wall", "--planner", "grasp", "--batch", "0"], "--batch"),
    "unknown flag": (["plan", "--world", "wall", "--planner", "grasp", "--colour", "red"], "--colour"),
    "no command": ([], "COMMAND"),
    "missing file": (["show", "/nonexistent/run.npz"], "does not exist"),
    "bench horizon 1": (["bench", "--micro", "--horizons", "1"], "horizons"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_exit_code_2(capsys, case):
    argv, needle = BAD[case]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("graspviz: error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in err


def test_abbreviated_flags_are_refused(capsys):
    code, _, err = run_cli(capsys, "plan", "--world", "wall", "--planner", "cem", "--sample", "10")
    assert code == 2 and "--sample" in err


def test_unwritable_out_is_refused_before_planning(capsys, tmp_path):
    code, _, err = run_cli(capsys, "plan", "--world", "wall", "--planner", "gd", "--steps", "1",
                           "--out", tmp_path / "no" / "such" / "dir" / "r.npz")
    assert code == 2 and "does not exist" in err


# -- a run that hits NaN keeps its history ---------------------------------------------------------------
class NaNWorld(World):
    """A linear world whose model starts returning NaN after some calls (for the early-stop path)."""

    name = "test_nan_world"
    description = "linear dot whose model turns NaN after 40 calls"
    state_dim, action_dim = 2, 2
    success_threshold = 0.1
    success_rule = "position error < 0.1"
    default_horizon = 4

    def make_model(self):
        return WorldModel(Faulty("nan", after=40), 2, 2, name="faulty")

    def sample_pairs(self, n, horizon, rng):
        return rng.normal(size=(n, 2)), rng.normal(size=(n, 2))

    def simulate(self, start, actions):
        s = np.asarray(start, dtype=np.float64)
        out = [s]
        for t in range(np.shape(actions)[1]):
            s = s + 0.5 * np.asarray(actions)[:, t]
            out.append(s)
        return np.stack(out, 1)


@pytest.fixture
def nan_world():
    WORLDS[NaNWorld.name] = NaNWorld
    yield NaNWorld
    WORLDS.pop(NaNWorld.name, None)


def test_nan_run_keeps_its_history_and_exits_1(capsys, tmp_path, nan_world):
    f = tmp_path / "nan.npz"
    code, out, err = run_cli(capsys, "plan", "--world", nan_world.name, "--planner", "gd", "--steps", 50,
                             "--pilot", 0, "--out", f, "--device", "cpu")  # (no pilot: the model counts its calls)
    assert code == 1, err
    hist = History.load(f)
    assert hist.stop_reason.kind is gv.StopKind.NONFINITE and "NaN" in hist.stop_reason.message
    assert 1 < len(hist) < 51
    evaluated = [s for s in hist.snapshots if s.evaluated]
    assert len(evaluated) >= len(hist) - 1 and all(np.isfinite(s.goal_distance).all() for s in evaluated)
    assert "stopped early: " + hist.stop_reason.message in out
    assert f"saved {f}" in out


# -- devices ---------------------------------------------------------------------------------------------
def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(gv.GraspvizError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(gv.GraspvizError, match="auto, cpu, cuda"):
        resolve_device("gpu0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_plan_on_cuda(capsys, tmp_path):
    f = tmp_path / "r.npz"
    code, _, err = run_cli(capsys, "plan", "--world", "wall", "--planner", "grasp", "--steps", 3, "--horizon", 5,
                           "--device", "cuda", "--out", f)
    assert code == 0, err
    assert History.load(f).meta["device"].startswith("cuda")


# -- serve --------------------------------------------------------------------------------------------------
def test_serve_delegates_to_the_app(capsys, monkeypatch):
    calls = []
    fake = types.ModuleType("graspviz.app")
    fake.serve = lambda **kw: calls.append(kw) or 0
    monkeypatch.setitem(sys.modules, "graspviz.app", fake)
    code, _, err = run_cli(capsys, "serve", "--port", 5999, "--allow-websocket-origin", "myhost:5999")
    assert code == 0, err
    assert calls == [dict(port=5999, address="127.0.0.1", show=False, allow_hosts=(), page=None,
                          websocket_origin=["127.0.0.1:5999", "localhost:5999", "myhost:5999"])]


def test_serve_opens_on_your_own_world(capsys, monkeypatch, tmp_path):
    """``serve --world module:attr`` imports the world, lists it in the world menu and opens pages on it."""
    import graspviz.app
    (tmp_path / "my_worlds_cli.py").write_text(
        "import graspviz as gv\n"
        "robot = gv.make_world(gv.WorldModel(lambda s, a: s + a, 2, 2, action_low=-1, action_high=1, name='dot'),\n"
        "                      name='robot_cli', threshold=0.2,\n"
        "                      sample=lambda n, horizon, rng: (rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 2))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from graspviz.worlds import WORLDS
    monkeypatch.setitem(WORLDS, "robot_cli", None)  # (registered below, removed after this test)
    calls = []
    monkeypatch.setattr(graspviz.app, "serve", lambda **kw: calls.append(kw) or 0)
    code, _, err = run_cli(capsys, "serve", "--world", "my_worlds_cli:robot")
    assert code == 0, err
    page = calls[0]["page"]()
    st = page.app.state
    assert st.world == "robot_cli" and "robot_cli" in page.app.w_world.options
    assert st.config["lr_states"] is None  # your world: automatic settings
    code, _, err = run_cli(capsys, "serve", "--world", "no_such_module:robot")
    assert code == 2 and "cannot import 'no_such_module'" in err


# -- the installed console script, once, end to end ------------------------------------------------------
def test_console_script(tmp_path):
    exe = shutil.which("graspviz", path=os.path.dirname(sys.executable)) or shutil.which("graspviz")
    if exe is None:
        pytest.skip("the graspviz console script is not installed (pip install -e .)")
    env = {**os.environ, "TQDM_DISABLE": "1"}
    f = tmp_path / "r.npz"
    ok = subprocess.run([exe, "plan", "--world", "hills", "--planner", "grasp", "--steps", "3", "--horizon", "4",
                         "--device", "cpu", "--out", str(f)], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "grasp on hills" in ok.stdout and History.load(f).iterations == [0, 1, 2, 3]
    bad = subprocess.run([sys.executable, "-m", "graspviz", "plan", "--world", "hills", "--planner", "grasp",
                          "--lr-states", "-1"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()] and bad.stderr.startswith("graspviz: error: ")


def test_knob_flags_cover_every_config_field():
    parser = cli.build_parser()
    plan = parser._subparsers._group_actions[0].choices["plan"]
    flags = set(plan._option_string_actions)
    for cls in gv.PLANNERS.values():
        for f in dataclasses.fields(cls.Config):
            assert "--" + f.name.replace("_", "-") in flags, f.name
