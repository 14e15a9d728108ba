"""The app's state object without a server: run, step, scrub, fork, export/import, errors, isolation."""

from __future__ import annotations

import dataclasses

import numpy as np
import param
import pytest

pytest.importorskip("panel")

import graspviz as gv
from graspviz.core import metrics as M
from graspviz.app.state import MAX_IMPORT_BYTES, AppState
from graspviz.core.history import snapshots_equal


def small(**kw):
    st = AppState(world="wall", planner="grasp", batch=2, horizon=12, **kw)
    st.set_config("steps", 10)
    st.set_config("sync_every", 5)
    return st


def test_defaults_follow_world_and_planner():
    st = AppState()
    assert st.config["lr_states"] == gv.get_world("wall").planner_defaults["grasp"]["lr_states"]
    st.planner = "gd"
    assert "lr" in st.config and "lr_states" not in st.config
    assert {k.name for k in st.knobs()} == set(st.config)
    st.world = "hills"
    assert st.horizon == gv.get_world("hills").default_horizon


def test_run_and_scrub():
    st = small()
    assert st.run()
    assert st.history is not None and st.history.last.iteration == 10 and st.iteration == 10
    assert st.progress == 100 and st.message == ""
    assert st.scrub(4) == 4 and st.snapshot.iteration == 4
    assert st.scrub(1000) == 10
    figs = st.figures()
    assert {"plan", "losses", "gap"} <= set(figs)
    assert M.LOSS_TOTAL in [t.name for t in figs["losses"].data]
    assert "iteration 10 of 10" in st.iteration_label()


def test_step_matches_run():
    a, b = small(), small()
    assert a.step(3) and a.history.last.iteration == 3 and a.iteration == 3
    assert a.step(2) and a.history.last.iteration == 5
    assert a.history.iterations == list(range(6))
    b.run(steps=5)
    for x, y in zip(a.history.snapshots, b.history.snapshots):
        np.testing.assert_array_equal(x.actions, y.actions)
        np.testing.assert_array_equal(x.states, y.states)
    assert np.all(np.diff([s.wall_time for s in a.history.snapshots]) >= 0)


def test_changed_setting_never_throws_the_run_away():
    """Continue after a settings change refuses (the run and its iterations stay) and says how to apply them."""
    st = small()
    st.step(2)
    hist = st.history
    st.set_config("gamma", 0.5)
    assert st.stale() == ["gamma: 0.003 -> 0.5"]
    assert "settings changed since this run (gamma: 0.003 -> 0.5)" in st.iteration_label()
    assert not st.step(1)
    assert st.history is hist and st.history.last.iteration == 2
    assert "Fork from here" in st.message and "Run" in st.message
    assert st.fork(steps=1) and st.fork_history.config["gamma"] == 0.5 and st.history is hist
    assert [r["kind"] for r in st.runs] == ["run", "fork"]
    assert st.run() and st.history.config["gamma"] == 0.5 and not st.stale()
    assert [r["history"] for r in st.runs][0] is hist  # the first run is still listed


def test_replay_steps_through_the_recording_without_extending_it():
    st = small()
    st.run()
    st.scrub(4)
    assert st.replay_step(1) and st.iteration == 5
    assert st.replay_step(-2) and st.iteration == 3
    st.scrub(10)
    assert not st.replay_step(1) and st.iteration == 10 and st.history.last.iteration == 10
    assert st.replay_step(1, loop=True) and st.iteration == 0
    assert st.step(2) and st.history.last.iteration == 12  # Continue is the one that optimises further


def _cursor(fig):
    return sorted((s.x0, s.xref, s.yref) for s in fig.layout.shapes if s.line.color == "black")


def test_losses_cursor_follows_the_cursor_and_the_curves_follow_the_run():
    """The losses' curves are drawn once per run; a Step moves only the cursor: one line per panel at the cursor's
    iteration, as ``add_vline`` draws it, and a new run or a fork redraws the curves."""
    st = small()
    st.run()
    st.scrub(3)
    a = st.figures(("losses",))["losses"]
    panels = sorted({(t.xaxis, t.yaxis) for t in a.data})
    assert _cursor(a) == sorted((3, x, f"{y} domain") for x, y in panels) and len(panels) == 4
    st.replay_step(1)
    b = st.figures(("losses",))["losses"]
    assert _cursor(b) == sorted((4, x, f"{y} domain") for x, y in panels) and _cursor(a)[0][0] == 3
    ref = gv.plotting.fig_losses([("run", st.history)], title="losses")
    ref.add_vline(x=4, line=dict(color="black", width=1.5))
    assert b.to_plotly_json() == ref.to_plotly_json()
    assert st.step(2)  # Continue: a longer run, longer curves
    c = st.figures(("losses",))["losses"]
    assert len(c.data[0].x) == len(st.history) == 13 and _cursor(c)[0][0] == 12
    st.scrub(5)
    assert st.set_config("gamma", 0.5) and st.fork()  # the fork joins the losses
    names = [t.name for t in st.figures(("losses",))["losses"].data]
    assert any(n.startswith("fork at k=5") for n in names)


def test_prefetch_diagnoses_the_next_then_the_previous_iteration():
    st = small()
    st.run()
    st.scrub(4)
    h = st.history
    assert st._diag.peek(h, 5) is None and st._diag.peek(h, 3) is None
    assert st.prefetch_diagnosis() and st._diag.peek(h, 5) is not None and st._diag.peek(h, 3) is None
    assert st.prefetch_diagnosis() and st._diag.peek(h, 3) is not None
    assert not st.prefetch_diagnosis()  # both neighbours known: nothing to do
    st.replay_step(1)
    assert st.diagnosis() is st._diag.peek(h, 5)  # the Step finds its verdicts computed


def test_slider_value_changes_next_run():
    st = small()
    st.run()
    d1 = st.history.last.goal_distance.copy()
    assert st.set_config("lr_actions", 0.001)
    st.run()
    assert st.history.config["lr_actions"] == 0.001
    assert not np.allclose(st.history.last.goal_distance, d1)


def test_bad_setting_is_a_message():
    st = small()
    assert not st.set_config("lr_states", -1.0)
    assert st.message_kind == "danger" and "lr_states" in st.message
    assert st.config["lr_states"] > 0  # unchanged


def test_fork_from_cursor():
    st = small()
    st.run()
    st.scrub(5)
    st.set_config("gamma", 0.5)
    assert st.fork()
    f = st.fork_history
    assert f.iterations[0] == 5 and f.last.iteration == 10
    assert f.meta["forked_from"]["overrides"] == {"gamma": 0.5}
    assert snapshots_equal(f[0], st.history.at(5))
    labels = [t.name for t in st.figures()["losses"].data]
    assert "run: loss/total" in labels and "fork at k=5: loss/total" in labels


def test_fork_without_run_is_a_message():
    st = small()
    assert not st.fork() and "run" in st.message


def test_export_import_round_trip():
    st = small(seed=3)
    st.run()
    st.scrub(7)
    data = st.export_bytes()
    other = AppState(world="hills", planner="gd")
    assert other.import_bytes(data)
    assert (other.world, other.planner, other.seed, other.horizon, other.batch) == ("wall", "grasp", 3, 12, 2)
    assert len(other.history) == len(st.history)
    for x, y in zip(other.history.snapshots, st.history.snapshots):
        assert snapshots_equal(x, y)
    other.scrub(7)
    fa, fb = st.figures(), other.figures()
    for key in ("plan", "losses", "gap"):
        assert [t.name for t in fa[key].data] == [t.name for t in fb[key].data]
        for ta, tb in zip(fa[key].data, fb[key].data):
            if getattr(ta, "y", None) is not None:
                np.testing.assert_array_equal(np.asarray(ta.y, dtype=float), np.asarray(tb.y, dtype=float))
    assert other.step(1) and other.history.last.iteration == 11  # imported runs continue


def test_bad_files_are_messages():
    st = small()
    assert not st.import_bytes(b"not a run file")
    assert st.message_kind == "danger" and st.message
    assert not st.import_bytes(b"")
    assert not st.import_bytes(b"0" * (MAX_IMPORT_BYTES + 1)) and "50 MB" in st.message
    st.clear_message()
    assert st.export_bytes() == b"" and "nothing to export" in st.message


def test_two_instances_are_isolated():
    a, b = small(), small()
    a.set_config("gamma", 0.7)
    a.run()
    assert b.history is None and b.config["gamma"] != 0.7
    b.planner = "cem"
    assert a.planner == "grasp" and "lr_states" in a.config


def test_compare_and_reset():
    st = small()
    assert st.compare(planners=("gd", "cem"), steps=3)
    assert set(st.race_result["planners"]) == {"gd", "cem"}
    assert "race" in st.figures()
    st.run()
    st.reset()
    assert st.history is None and st.race_result is None and st.iteration == 0


def test_serve_command_and_loopback_check():
    from graspviz.app import is_loopback
    from graspviz.cli import build_parser
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    ap = build_parser()
    args = ap.parse_args(["serve"])
    assert (args.port, args.address) == (5006, "127.0.0.1") and callable(args.func)
    assert ap.parse_args(["serve", "--port", "7000", "--address", "0.0.0.0"]).port == 7000


def test_app_widgets_without_server():
    """The Panel wiring builds, and a widget for every config knob exists (no server needed)."""
    from graspviz.app import create_app
    view = create_app()
    app = view.app
    assert set(app.knob_widgets) == {k.name for k in app.state.knobs()}
    app.w_planner.value = "cem"
    assert set(app.knob_widgets) == {k.name for k in app.state.knobs()} and "samples" in app.knob_widgets
    app.knob_widgets["steps"].value = 3
    assert app.state.config["steps"] == 3
    app.w_planner.value = "grasp"
    assert set(app.log_sliders) == {k.name for k in app.state.knobs() if k.log} and "lr_states" in app.log_sliders
    with param.edit_constant(app.log_sliders["lr_states"]):  # what a browser's slider release does
        app.log_sliders["lr_states"].value_throttled = -1.0  # a moved log slider sets the knob to 10**v
    assert app.state.config["lr_states"] == pytest.approx(0.1)
    app.knob_widgets["lr_states"].value = 0.01  # a typed value moves the slider
    assert app.log_sliders["lr_states"].value == pytest.approx(-2.0)
    app.knob_widgets["steps"].value = 3
    app.b_run.clicks += 1
    app._job_thread.join(30)
    assert app.state.history.last.iteration == 3 and "iteration 3 of 3" in app.label.object


def test_notebook_entry_points():
    from graspviz.app import app, servable
    page = app()
    assert page.app.state.history is None and page.app.state is not app().app.state
    served = servable()
    assert isinstance(served.app.state, AppState) and served.app.state is not page.app.state
    assert served.app.state.history is None and "Step" in [getattr(w, "label", None) for w in served.select()]


def test_landscape_and_schedules_figures():
    st = small()
    assert not st.compute_landscape() and "run" in st.message
    st.run()
    st.scrub(5)
    assert st.compute_landscape(resolution=5)
    assert st.landscape_result["iteration"] == 5
    figs = st.figures()
    assert "landscape" in figs and "schedules" in figs
    assert [t.name for t in figs["schedules"].data][:2] == [M.NOISE_SIGMA, M.GOAL_WEIGHT]
    st.planner = "gd"
    assert "schedules" not in st.figures()


def test_stop_reason_shown_as_warning(monkeypatch):
    import graspviz.app.state as app_state
    real = app_state.run

    def nan_run(*args, **kw):
        h = real(*args, **kw)
        return dataclasses.replace(h, stop_reason=gv.StopReason(
            "nonfinite", 3, "grasp stopped at iteration 3: the world model or the update produced NaN/Inf"))
    monkeypatch.setattr(app_state, "run", nan_run)
    st = small()
    assert st.run()
    assert st.message_kind == "warning" and "NaN" in st.message
    assert st.history is not None  # the computed snapshots are kept and shown


def test_plan_view_maps_latents_and_shows_frames(monkeypatch):
    """A world whose planner states are latents: to_true() maps them to the layout, a decoder and a
    renderer give the image strips, the simulator's rollout is drawn (a stand-in for pixel worlds)."""
    import plotly.graph_objects as go
    import torch

    from graspviz.core.model import WorldModel
    from graspviz.worlds import WORLDS, World

    class Latent(World):
        name = "test_latent"
        state_dim, action_dim, default_horizon, success_threshold = 3, 2, 6, 0.5
        true_state_dim, latent, simulator = 2, True, True

        def make_model(self):
            def dec(z):
                return torch.sigmoid(z[:, :1, None].expand(-1, 4, 4))  # (N, 4, 4) grey images
            return WorldModel(lambda s, a: s + torch.cat([a, a[:, :1]], -1), 3, 2, decode=dec, name="latent")

        def sample_pairs(self, n, horizon, rng):  # true states: 10 x the latent's first two coordinates
            return 10 * rng.normal(size=(n, 2)), 10 * rng.normal(size=(n, 2)) + 20

        def to_true(self, states):
            return np.asarray(states)[..., :2] * 10  # latent -> layout coordinates

        def to_planning(self, true):
            true = np.asarray(true, dtype=np.float64)
            return np.concatenate([true / 10, np.zeros((*true.shape[:-1], 1))], -1)

        def simulate(self, start, actions):
            s = np.asarray(start)
            return np.concatenate([s[:, None], s[:, None] + 10 * np.cumsum(actions, 1)], 1)

        def render(self, state):
            return np.zeros((4, 4, 3), np.uint8)

    monkeypatch.setitem(WORLDS, "test_latent", Latent)
    objects = AppState.param.world.objects  # param's list proxy: mutate it in place, never replace it
    objects.append("test_latent")
    try:
        st = AppState(world="test_latent", planner="grasp", batch=2)
    finally:
        objects.remove("test_latent")
    st.set_config("steps", 3)
    assert st.run(), st.message
    fig = st.figures(("plan",))["plan"]
    names = [t.name for t in fig.data]
    roll = fig.data[names.index("model rollout (b=0)")]
    np.testing.assert_allclose(roll.x, st.history.last.rollout[0, :, 0] * 10, rtol=1e-5)
    assert "true rollout (b=0)" in names and "virtual states (b=0)" in names
    imgs = [t for t in fig.data if isinstance(t, go.Image)]
    assert [t.name for t in imgs] == ["decoded frames (virtual states)", "true frames (simulator)"]


def test_model_label_follows_the_world():
    st = AppState()
    assert st.model_label() == "model: exact (analytic)"
    st.world = "pointmaze"
    assert st.model_label().startswith("model: pointmaze_mlp (StateMLP, 1-step error")


def test_benchmarks_tab_shows_only_the_shipped_results():
    st = AppState()
    names = st.bench_results()
    assert {"bench_wall", "bench_wall_pixels", "worlds_pusht"} <= set(names)
    fig = st.bench_figure("bench_wall_pixels")
    assert {t.name for t in fig.data} >= {"GRASP", "GD shooting", "CEM"}
    for bad in ("../../pyproject", "/etc/passwd", "worlds_pointmaze_tuning", ""):
        assert "no benchmark results" in st.bench_figure(bad).layout.annotations[0].text


def test_a_session_pointed_at_ray_sweeps_there_with_the_same_numbers():
    """``graspviz serve --ray-address`` gives each session a Ray cluster for its sweeps: the cells run as Ray tasks
    and the grid is the one the server process computes; the notice says where it ran."""
    pytest.importorskip("ray")
    here, there = small(), small(ray_address="local")
    results = []
    for st in (here, there):
        assert st.run_sweep(st.sweep_axis("lr_actions", 0.01, 0.1, 2)), st.message
        results.append(st.sweep_result)
    np.testing.assert_array_equal(results[0].success, results[1].success)
    assert (results[0].backend, results[1].backend) == ("serial", "ray")
    assert "on Ray (a local cluster)" in there.message and "on Ray" not in here.message, (here.message, there.message)


def test_serve_refuses_a_ray_address_without_ray(monkeypatch, capsys):
    import importlib.util

    from graspviz import cli
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert cli.main(["serve", "--ray-address", "local", "--port", "5999"]) == 2
    assert capsys.readouterr().err.strip() == ("graspviz: error: --ray-address needs the ray package (pip install "
                                               "ray); leave it out to sweep in the server")
