"""Bad-input and fault corpus of the app, without a browser: the :class:`AppState` and the Panel wiring.

Every case asserts the app's contract: the call returns normally (no exception reaches the page), the
message is one line naming what was expected, earlier results are kept, and the app stays usable (a
following run or step works). Faults in the middle of a run keep iterations 0..k-1, the reason is recorded
and the partial run can be exported and imported again.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile

import numpy as np
import pytest
import torch

pytest.importorskip("panel")

import graspviz as gv
from graspviz.app.state import MAX_IMPORT_BYTES, AppState
from graspviz.core.history import History, snapshots_equal
from graspviz.core.model import WorldModel
from graspviz.worlds import WORLDS, World


def small(world="wall", planner="grasp", **kw):
    st = AppState(world=world, planner=planner, batch=2, horizon=6, **kw)
    st.set_config("steps", 4)
    return st


def one_line(st: AppState) -> str:
    assert st.message, "no message shown"
    assert "\n" not in st.message and "Traceback" not in st.message, st.message
    return st.message


def same_history(a: History, b: History) -> None:
    assert a.iterations == b.iterations
    for x, y in zip(a.snapshots, b.snapshots):
        assert snapshots_equal(x, y)


@pytest.fixture(scope="module")
def base():
    """A state with a finished run (the 'earlier result' every case must keep) and its file."""
    st = small()
    assert st.run(), st.message
    return st, st.history, st.export_bytes()


def settings_of(st):
    return (st.world, st.planner, st.horizon, st.seed, st.batch, st.stride, dict(st.config))


# -- settings: every AppState setting and every planner knob --------------------------------------------------
BAD_SETTINGS = {
    "world": [None, "", "moon", 3, ["wall"]],
    "planner": [None, "", "astar", 0, "GRASP"],
    "horizon": [None, "", "ten", 0, -4, 501, 10**9, 2.5, float("nan")],
    "seed": [None, "", -1, 1.5, float("inf")],
    "batch": [None, "", 0, -2, 257, 10**6, 1.5],
    "stride": [None, "", 0, -1, 0.5],
}


@pytest.fixture(scope="module")
def one_page():
    """One page (no server) shared by the settings cases: each case leaves it as it found it, bar one step."""
    from graspviz.app import create_app
    app = create_app().app
    app.state.set_config("steps", 2)
    assert app.state.run()
    return app


@pytest.mark.parametrize("name, value", [(n, v) for n, vs in BAD_SETTINGS.items() for v in vs],
                         ids=lambda x: repr(x) if not isinstance(x, str) else x)
def test_bad_setting_from_a_widget(one_page, name, value):
    """What the page does with a bad widget value: refuse it, say so in one line, keep everything."""
    app, st = one_page, one_page.state
    st.clear_message()
    before, hist = settings_of(st), st.history
    app._set(name, value)
    msg = one_line(st)
    assert name in msg, msg
    assert st.message_kind == "danger" and app.alert.visible and app.alert.object == msg
    assert settings_of(st) == before and st.history is hist
    last = hist.last.iteration
    assert st.step(1) and st.history.last.iteration == last + 1  # still usable: the run continues


def _bad_knob_values(k):
    """Values a knob must refuse, from its own bounds and type."""
    common = ([] if k.auto else [None]) + ["", [], {}, object()]  # (None: "derive it", for an automatic knob)
    if k.type is bool:
        return common + ["maybe", 2, -1]
    if k.choices:
        return common + ["zigzag", 3, True]
    out = common + ["abc", "1e400", float("nan"), float("inf"), -float("inf"), True]
    if k.low is not None:
        out.append(k.low - 1 if k.type is int else k.low - abs(k.low) * 0.5 - 1e-3)
    if k.high is not None:
        out.append(k.high * 10 + 1)
    if k.type is int:
        out.append(1.5)
    return out


def _knob_cases():
    from graspviz.core.config import knobs
    for planner, cls in gv.PLANNERS.items():
        for k in knobs(cls.Config):
            for v in _bad_knob_values(k):
                yield planner, k, v


KNOB_CASES = list(_knob_cases())


@pytest.mark.parametrize("planner", list(gv.PLANNERS))
def test_every_knob_refuses_bad_values(planner):
    st = small(planner=planner)
    before = dict(st.config)
    n = 0
    for p, k, v in KNOB_CASES:
        if p != planner:
            continue
        st.clear_message()
        assert st.set_config(k.name, v) is False, (k.name, v)
        msg = one_line(st)
        assert k.name in msg, (k.name, v, msg)
        assert st.config == before, (k.name, v)
        n += 1
    assert n >= 5 * len(st.knobs())
    for k in st.knobs():  # an automatic knob's empty box means: derive it again
        if k.auto:
            assert st.set_config(k.name, k.fixed) and st.config[k.name] == k.fixed
            assert st.set_config(k.name, None) and st.config[k.name] is None
    assert not st.set_config("no_such_knob", 1) and "has no setting 'no_such_knob'; expected one of" in one_line(st)
    assert st.run(steps=1) and st.history.last.iteration == 1  # still usable


@pytest.mark.parametrize("name, value", [("lr_states", -1.0), ("lr_states", float("nan")), ("gamma", float("inf")),
                                         ("sigma", -0.5), ("steps", 0), ("sync_every", 10**9),
                                         ("sigma_schedule", "zigzag")])
def test_bad_knob_from_a_widget_is_reverted(name, value):
    from graspviz.app import create_app
    app = create_app().app
    st = app.state
    old = st.config[name]
    app.knob_widgets[name].value = value
    assert st.config[name] == old and app.knob_widgets[name].value == old  # the box shows the kept value again
    msg = one_line(st)
    assert name in msg and app.alert.visible and app.alert.alert_type == "danger"


@pytest.mark.parametrize("config, match", [
    ({"lr_states": "fast"}, "lr_states must be a number"),
    ({"sigma_schedule": None}, "sigma_schedule"),
    ({"steps": ""}, "steps must be an integer"),
    ({"steps": []}, "steps"),
    ({"gamma": float("nan")}, "gamma must be a finite number"),
    ({"colour": "red"}, "has no setting 'colour'"),
])
def test_wrong_typed_config_values_are_messages(base, config, match):
    """A notebook user may assign ``state.config`` directly: Run and Step refuse it and keep the last run."""
    st = small()
    assert st.run()
    hist = st.history
    st.config = {**st.config, **config}
    assert st.run() is False and match in one_line(st)
    assert st.step(1) is False and match in one_line(st)
    assert st.history is hist
    st.apply_defaults()
    st.set_config("steps", 2)
    assert st.run() and st.history is not hist


def re_search(pattern, text):
    import re
    return re.search(pattern, text) is not None


# -- uploads: bad run files ----------------------------------------------------------------------------------
def _npz(arrays, compress=False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def _edit(data: bytes, meta=None, arrays=None) -> bytes:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    m = json.loads(bytes(a["__meta__"]).decode())
    (meta or (lambda m: None))(m)
    (arrays or (lambda a: None))(a)
    a["__meta__"] = np.frombuffer(json.dumps(m).encode(), dtype=np.uint8)
    return _npz(a)


class _Evil:
    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def _pickle_bomb() -> bytes:
    """An .npz whose metadata is a pickle that creates ``_Evil.path`` when unpickled."""
    return _npz({"__meta__": np.array([_Evil()], dtype=object)})


def _zip_not_npz() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    return buf.getvalue()


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    return buf.getvalue()


def _setmeta(key, value, inner=False):
    def f(m):
        (m.setdefault("meta", {}) if inner else m)[key] = value
    return f


def _flipped(good: bytes) -> bytes:
    bad = bytearray(good)
    for i in range(40, len(bad) - 40, 61):
        bad[i] ^= 0xA5
    return bytes(bad)


def _empty_run() -> bytes:
    return History("gd", {"steps": 1}, 0, 3, np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32)).to_bytes()


def _object_array(good: bytes) -> bytes:
    return _edit(good, arrays=lambda a: a.__setitem__("snap/actions", np.array([_Evil()], dtype=object)))


def _bomb(good: bytes, gib: float = 1.0) -> bytes:
    """The good run plus an extra member of ``gib`` GiB of zeros, deflated to about a megabyte."""
    buf = io.BytesIO(good)
    with zipfile.ZipFile(buf, "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("padding.npy", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 24)
            for _ in range(int(gib * 64)):
                f.write(chunk)
    return buf.getvalue()


def _world(name):
    return lambda g: _edit(g, _setmeta("world", name))


def _array(key, fn):
    return lambda g: _edit(g, arrays=lambda a: a.__setitem__(key, fn(a[key])))


#: name -> (make(good run bytes) -> bytes, what the message must say)
UPLOADS = {
    "another world": (_world("moon"), "the file's run was made on world 'moon', which this app does not have"),
    "world dims differ": (_world("point_mass"), "the file's run has state / action dims (2, 2); world 'point_mass' has (4, 2)"),
    "no world": (_world(None), "the file's run was made on world None, which this app does not have"),
    "unknown planner": (lambda g: _edit(g, _setmeta("planner", "astar")), "the file's run used planner 'astar'"),
    "bad settings": (lambda g: _edit(g, _setmeta("config", {"lr_states": -1.0})), "the file's settings are not valid here"),
    "NaN actions": (_array("snap/actions", lambda x: x * np.nan), "snap/actions holds NaN or Inf"),
    "Inf start": (_array("start", lambda x: x + np.inf), "start holds NaN or Inf"),
    "NaN rollout": (_array("snap/rollout", lambda x: x * np.nan), "an evaluated snapshot's rollout holds NaN or Inf"),
    "string array": (_array("snap/actions", lambda x: x.astype(str)), "holds <U"),
    "complex array": (_array("snap/actions", lambda x: x.astype(np.complex64)), "holds complex64 data"),
    "zip bomb": (_bomb, "a run file does not have (e.g. 'padding.npy')"),
    "unknown member": (lambda g: _edit(g, arrays=lambda a: a.__setitem__("notes", np.zeros(3))),
                       "a run file does not have (e.g. 'notes.npy')"),
    "ANSI in the stop reason": (lambda g: _edit(g, _setmeta("stop_reason", "\x1b[31mred\nline")), "imported"),
    "empty": (lambda g: b"", "the file is empty"),
    "truncated half": (lambda g: g[: len(g) // 2], "is not a readable graspviz run file"),
    "truncated end": (lambda g: g[:-1], "is not a readable graspviz run file"),
    "truncated start": (lambda g: g[1:], "is not a readable graspviz run file"),
    "flipped bytes": (_flipped, "is not a readable graspviz run file"),
    "oversized": (lambda g: g + b"\0" * (MAX_IMPORT_BYTES + 1 - len(g)), "the app accepts run files up to 50 MB"),
    "text": (lambda g: b"iteration,loss\n0,1.0\n", "is not a readable graspviz run file"),
    "json": (lambda g: json.dumps({"format": "graspviz-history", "version": 1}).encode(),
             "is not a readable graspviz run file"),
    "npy": (lambda g: _npy(), "is not a readable graspviz run file"),
    "zip not npz": (lambda g: _zip_not_npz(), "is not a readable graspviz run file"),
    "plain npz": (lambda g: _npz({"a": np.zeros(3)}), "is not a readable graspviz run file"),
    "pickle meta": (lambda g: _pickle_bomb(), "is not a readable graspviz run file"),
    "pickle array": (_object_array, "holds object data; run files hold numbers only"),
    "wrong version": (lambda g: _edit(g, _setmeta("version", 3)), "has run-file version 3; this graspviz reads versions 1, 2"),
    "no version": (lambda g: _edit(g, _setmeta("version", None)), "has run-file version None"),
    "wrong format": (lambda g: _edit(g, _setmeta("format", "mlflow")), "expected format 'graspviz-history'"),
    "tampered horizon": (lambda g: _edit(g, _setmeta("horizon", 9)), "is a damaged graspviz run file"),
    "tampered planner type": (lambda g: _edit(g, _setmeta("planner", 7)), "is a damaged graspviz run file"),
    "tampered scalars": (lambda g: _edit(g, _setmeta("scalars", {})), "is a damaged graspviz run file"),
    "dropped array": (lambda g: _edit(g, arrays=lambda a: a.pop("snap/actions")), "is a damaged graspviz run file"),
    "wrong dtype": (lambda g: _edit(g, arrays=lambda a: a.__setitem__("start", a["start"].astype(np.int64))),
                    "is a damaged graspviz run file"),
    "no snapshots": (lambda g: _empty_run(), "the file holds no snapshots"),
    "seed out of range": (lambda g: _edit(g, _setmeta("seed", -1)), "the file's seed is -1; the app takes an integer >= 0"),
    "stride not an int": (lambda g: _edit(g, _setmeta("stride", "x", inner=True)), "the file's stride is 'x'"),
    "stride 0": (lambda g: _edit(g, _setmeta("stride", 0, inner=True)), "the file's stride is 0"),
}


@pytest.fixture(scope="module")
def bad_files(base, tmp_path_factory):
    marker = tmp_path_factory.mktemp("bomb") / "pwned"
    _Evil.path = str(marker)
    return {name: (make(base[2]), needle) for name, (make, needle) in UPLOADS.items()}, marker


@pytest.mark.parametrize("case", [c for c in UPLOADS if UPLOADS[c][1] != "imported"])
def test_bad_upload_is_a_message_and_keeps_the_run(case, base, bad_files):
    files, marker = bad_files
    data, needle = files[case]
    st = AppState()
    assert st.import_bytes(base[2])  # the earlier result
    before, hist = settings_of(st), st.history
    assert st.import_bytes(data) is False
    assert needle in one_line(st), (needle, st.message)
    assert st.message_kind == "danger"
    assert settings_of(st) == before and st.history is hist  # a refused file changes nothing
    assert not os.path.exists(marker)  # nothing was unpickled
    assert st.step(1) and st.history.last.iteration == hist.last.iteration + 1  # usable: the imported run continues


def test_text_from_a_file_is_shown_as_one_clean_line(base, bad_files):
    files, _ = bad_files
    st = AppState()
    assert st.import_bytes(files["ANSI in the stop reason"][0]), st.message
    assert st.history.stop_reason.message == "red line"  # escapes and line breaks gone, before anything shows it


def test_a_zip_bomb_is_refused_without_inflating_it(base):
    """1 GiB of zeros deflated into about a megabyte: refused from its declared sizes (peak memory stays far below
    the bomb, and it takes well under a second more than reading the file)."""
    import resource
    import time
    bomb = _bomb(base[2], gib=1.0)
    assert len(bomb) < 4 * 2**20
    st = AppState()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    t0 = time.perf_counter()
    assert not st.import_bytes(bomb)
    took = time.perf_counter() - t0
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert "padding.npy" in st.message and took < 5, (st.message, took)
    assert grown < 200 * 1024, f"peak memory grew by {grown / 1024:.0f} MiB"
    from graspviz.core.history import History
    big = _edit(base[2], arrays=lambda a: a.__setitem__("extra/padding", np.zeros(40 * 2**20, np.float64)))
    with pytest.raises(gv.GraspvizError, match="its arrays would take .* once inflated; the limit is 256.0 MiB"):
        History.load(big, max_inflated=256 * 2**20)


def test_out_of_range_runs_change_no_setting(base):
    """Valid run files the app cannot show (horizon > 500, batch > 256) are refused before any setting moves."""
    st = AppState()
    assert st.import_bytes(base[2])
    before, hist = settings_of(st), st.history
    long = gv.run(gv.make_planner("gd", steps=1), gv.get_world("point_mass").sample_problems(1, horizon=600), seed=0)
    wide = gv.run(gv.make_planner("gd", steps=1), gv.get_world("point_mass").sample_problems(300, horizon=2), seed=0)
    for h, needle in ((long, "the file's horizon is 600; the app takes an integer in 1..500"),
                      (wide, "the file's batch is 300; the app takes an integer in 1..256")):
        assert st.import_bytes(h.to_bytes()) is False and needle in one_line(st)
        assert settings_of(st) == before and st.history is hist


def test_uploads_never_unpickle(monkeypatch, base, bad_files):
    """The parser never reaches pickle, whatever the file says."""
    import pickle
    calls = []
    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, lambda *a, _n=name, **k: calls.append(_n))
    monkeypatch.setattr(pickle, "Unpickler", lambda *a, **k: calls.append("Unpickler"))
    files, _ = bad_files
    st = AppState()
    for data, _needle in files.values():
        st.import_bytes(data)
    assert st.import_bytes(base[2])
    assert calls == []


def test_upload_through_the_widget(base, bad_files):
    """The FileInput path: a bad file shows the message, the page keeps its run and widgets; a good one loads."""
    from graspviz.app import create_app
    files, _ = bad_files
    app = create_app().app
    app.upload.value = base[2]
    assert app.state.history is not None and "imported a grasp run" in app.alert.object
    hist, label = app.state.history, app.label.object
    for case in ("truncated half", "wrong version", "pickle meta", "oversized", "stride not an int"):
        app.upload.value = files[case][0]
        assert app.alert.visible and app.alert.alert_type == "danger" and files[case][1] in app.alert.object, case
        assert app.state.history is hist and app.label.object == label
        assert (app.w_world.value, app.w_horizon.value, app.w_batch.value) == ("wall", 6, 2)
    app.b_continue.clicks += 1
    app._job_thread.join(30)
    assert app.state.history.last.iteration == hist.last.iteration + 1
    assert f"iteration {hist.last.iteration + 1} of" in app.label.object


# -- faults in the middle of a run ----------------------------------------------------------------------------
class _Switch:
    mode = None  # shared by every model instance the world makes
    limit = None  # misbehave only on actions larger than this (None: on every call)
    calls_left = None  # "dies": the model raises on every call once this many calls are used up


class SwitchModel(torch.nn.Module):
    """A linear model that misbehaves in the way ``_Switch.mode`` says once it is set."""

    state_dim = action_dim = 2

    def forward(self, s, a):
        out = s + 0.5 * a
        if _Switch.mode == "dies":
            _Switch.calls_left -= 1
            if _Switch.calls_left < 0:
                raise RuntimeError("the device was lost")
            return out
        mode = _Switch.mode
        bad = torch.ones(len(a), dtype=torch.bool) if _Switch.limit is None else a.abs().amax(-1) > _Switch.limit
        if mode is None or not bool(bad.any()):
            return out
        if mode == "nan":  # NaN / Inf only where the input is out of range, like a real overflow
            return torch.where(bad[:, None], out * float("nan"), out)
        if mode == "inf":
            return torch.where(bad[:, None], out + float("inf"), out)
        if mode == "raise":
            raise RuntimeError("simulated failure inside the model\nsecond line")
        if mode == "shape":
            return out[:, :1]
        if mode == "nontensor":
            return out.tolist()
        if mode == "interrupt":  # once, like Ctrl-C
            _Switch.mode = None
            raise KeyboardInterrupt
        if mode == "interrupt-always":
            raise KeyboardInterrupt
        return out


class FaultyWorld(World):
    name = "test_faulty"
    description = "linear dot whose model can be switched to misbehave"
    state_dim, action_dim = 2, 2
    success_threshold = 0.1
    success_rule = "position error < 0.1"
    default_horizon = 5

    def make_model(self):
        return WorldModel(SwitchModel(), 2, 2, name="switch")

    def sample_pairs(self, n, horizon, rng):
        return rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 2


@pytest.fixture
def faulty(monkeypatch):
    monkeypatch.setitem(WORLDS, FaultyWorld.name, FaultyWorld)
    objects = AppState.param.world.objects  # param's list proxy: mutate it in place
    objects.append(FaultyWorld.name)
    _Switch.mode = _Switch.limit = _Switch.calls_left = None
    yield
    _Switch.mode = _Switch.limit = _Switch.calls_left = None
    objects.remove(FaultyWorld.name)


FAULTS = ["nan", "inf", "raise", "shape", "nontensor", "interrupt"]


def _check_partial(st, hist, first_bad, blind=()):
    """``hist`` holds exactly the good iterations before ``first_bad``, then the ``blind`` ones the model could not
    evaluate (kept: their actions are known; their rollouts are NaN and flagged), says why, and survives a file
    round trip."""
    assert hist.iterations == [*range(first_bad), *blind], hist.iterations
    for s in hist.snapshots:
        assert np.isfinite(s.actions).all() and s.evaluated == (s.iteration not in blind)
        assert np.isfinite(s.goal_distance).all() == s.evaluated
    reason = hist.stop_reason.message
    assert reason and "\n" not in reason and hist.stop_reason.iteration == hist.last.iteration
    assert ("without a model rollout" in reason) == bool(blind), reason
    assert re_search(rf"iterations 0\.\.({first_bad - 1}|{first_bad}) are kept", reason), reason
    assert st.message == reason and st.message_kind == "warning"
    back = AppState()
    assert back.import_bytes(st.export_bytes()), back.message
    same_history(back.history, hist)
    assert back.history.stop_reason == hist.stop_reason


@pytest.mark.parametrize("mode", FAULTS)
def test_fault_during_step_keeps_iterations_before_it(faulty, mode):
    st = AppState(world=FaultyWorld.name, planner="gd", batch=2)
    st.set_config("steps", 4)
    st.set_config("lr", 0.05)
    assert st.run() and st.history.iterations == [0, 1, 2, 3, 4]
    _Switch.mode = mode
    assert st.step(3) is True  # the partial result is a result: no exception, no error page
    _check_partial(st, st.history, 5)
    assert st.iteration == 4 and "iteration 4 of 4" in st.iteration_label()
    assert {"plan", "losses", "gap"} <= set(st.figures())
    _Switch.mode = None  # the model is fixed: the app carries on from the kept iterations
    assert st.step(2) and st.history.iterations == list(range(7)) and st.message == ""


@pytest.mark.parametrize("mode", FAULTS)
def test_fault_during_run_keeps_iterations_before_it(faulty, mode):
    """GD with a large step diverges; the model fails on actions beyond 100 (NaN, Inf, an exception, a wrong
    shape, a list, Ctrl-C). The run keeps exactly the iterates before the first one the model cannot take."""
    st = AppState(world=FaultyWorld.name, planner="gd", batch=2, horizon=5)
    st.set_config("steps", 40)
    st.set_config("optimizer", "sgd")  # (SGD with lr 1 diverges; Adam's steps stay lr in size)
    st.set_config("lr", 0.05)
    assert st.run() and st.history.last.iteration == 40
    earlier = st.history
    st.set_config("lr", 1.0)
    assert st.run() and st.history.last.iteration == 40  # the healthy model takes the divergence
    healthy = st.history
    _Switch.mode, _Switch.limit = mode, 100.0
    assert st.run() is True
    h = st.history
    k = sum(s.evaluated for s in h.snapshots)  # the first iterate the model could not take
    assert 2 <= k <= 40, h.iterations
    # a failure (not Ctrl-C) on an iterate: kept, unevaluated, and the model is not asked again
    blind = [] if mode == "interrupt" else [k]  # (NaN / Inf rollouts too: the iterate's actions are known)
    _check_partial(st, h, k, blind)
    big = [float(np.abs(s.actions).max()) > 100.0 for s in healthy.snapshots]
    # iterate k is the first the model could not take; a one-shot Ctrl-C hits the update after the first big
    # iterate, whose own (batched, later) evaluation then succeeds, so that iterate is kept as well
    assert big.index(True) == (k - 1 if mode == "interrupt" else k), (k, big)
    for x, y in zip(h.snapshots, healthy.snapshots):  # and the kept ones are the healthy run's (unevaluated too)
        np.testing.assert_array_equal(x.actions, y.actions)
    assert earlier.iterations == list(range(41))  # the earlier run object itself is untouched
    _Switch.mode = None
    assert st.run() and st.history.last.iteration == 40 and st.message == ""


@pytest.mark.parametrize("planner", ["grasp", "gd", "cem"])
def test_a_model_that_dies_mid_run_keeps_the_run(faulty, planner):
    """The app's Run records in batches, evaluating iterates a little after they are made: a model that dies
    (every call fails from then on) still leaves every iterate computed before, shown, with a true reason."""
    st = AppState(world=FaultyWorld.name, planner=planner, batch=2, horizon=5)
    st.set_config("steps", 200)
    if planner == "cem":
        st.set_config("samples", 20)
        st.set_config("elites", 4)
    else:
        st.set_config("pilot", 0)  # (no pilot runs: the model counts its calls)
    _Switch.mode, _Switch.calls_left = "dies", 300
    assert st.run(), st.message
    h = st.history
    assert len(h) >= 10 and h.iterations == list(range(len(h))) and h.last.iteration < 200
    assert st.message == h.stop_reason.message and st.message_kind == "warning"
    assert f"iterations 0..{h.last.iteration} are kept" in st.message and "the device was lost" in st.message
    assert {"plan", "losses", "gap"} <= set(st.figures())  # the unevaluated iterates draw too
    st.scrub(h.last.iteration)
    assert "plan at iteration" in st.figures(("plan",))["plan"].layout.title.text


@pytest.mark.parametrize("mode", ["raise", "shape", "nontensor", "interrupt-always"])
def test_a_run_that_records_nothing_keeps_the_earlier_run(faulty, mode):
    """A model that fails on its very first call of a new run leaves nothing to keep: the app never swaps a good
    run for an empty one; it says why in one line, keeps the earlier run on screen and carries on."""
    st = AppState(world=FaultyWorld.name, planner="gd", batch=2, horizon=5)
    st.set_config("steps", 40)
    assert st.run()
    hist = st.history
    _Switch.mode, _Switch.limit = mode, None  # every call fails, from the first
    assert not st.run()
    assert st.history is hist and st.message_kind == "danger"
    # (the model's first call is the scale probe for the automatic step size: it names the probe)
    assert one_line(st).endswith(("the previous run stays on screen", "the previous result is kept")), one_line(st)
    assert ("scale probe" in one_line(st)) == (mode != "interrupt-always"), one_line(st)
    _Switch.mode = None
    assert st.run() and st.history.last.iteration == 40


@pytest.mark.parametrize("action", ["run", "step"])
def test_a_model_that_keeps_interrupting(faulty, action):
    """A KeyboardInterrupt on every model call, even while ``gv.run`` evaluates what it captured: nothing new
    can be kept; the app says so in one line, keeps the earlier run's iterations and carries on."""
    st = AppState(world=FaultyWorld.name, planner="gd", batch=2)
    st.set_config("steps", 4)
    assert st.run()
    hist = st.history
    _Switch.mode = "interrupt-always"
    assert getattr(st, action)() is (action == "step")  # a Step keeps the run it extends: not an error
    if action == "run":  # the new run's first model call (the scale probe) is interrupted: nothing to keep
        assert one_line(st).startswith("interrupted") and one_line(st).endswith("the previous result is kept")
    else:  # a Step continues the run: its iterates stay kept, and the message says so
        assert "interrupted after iteration" in one_line(st)
        assert one_line(st).endswith(f"iterations 0..{hist.last.iteration} are kept"), one_line(st)
    assert st.history.iterations == hist.iterations
    _Switch.mode = None
    assert st.step(1) and st.history.last.iteration == 5


def test_exception_in_a_progress_callback_keeps_the_run(faulty):
    st = AppState(world=FaultyWorld.name, planner="gd", batch=1)
    st.set_config("steps", 30)
    st.set_config("lr", 0.05)

    def bad_progress(snap):
        if snap.iteration == 3:
            raise ValueError("the page went away")
    assert st.run(callback=bad_progress) is True
    assert st.history.iterations[:4] == [0, 1, 2, 3] and "the page went away" in one_line(st)
    assert st.run() and st.history.last.iteration == 30


def test_stop_keeps_iterations_and_says_so():
    st = AppState(world="point_mass", planner="grasp", batch=2, horizon=8)
    st.set_config("steps", 100000)

    def stop_at_7(snap):
        if snap.iteration == 7:
            st.stop()  # what the Stop button does, from another thread in the page
    assert st.run(callback=stop_at_7)
    h = st.history
    assert h.iterations == list(range(8)) and h.stop_reason.message == "stopped by request at iteration 7"
    assert st.message_kind == "info" and "stopped by request at iteration 7; iterations 0..7 are kept" == st.message
    back = AppState()
    assert back.import_bytes(st.export_bytes())
    same_history(back.history, h)
    assert st.step(1) and st.history.last.iteration == 8  # and it continues


def test_stop_button_stops_a_long_run():
    """The page's Stop button (shown only while a Run is going) ends the run; the iterations so far stay."""
    from graspviz.app import create_app
    app = create_app().app
    st = app.state
    st.world = "point_mass"
    app.knob_widgets["steps"].value = 100000
    assert not app.b_stop.visible
    app.b_run.clicks += 1
    assert app.b_stop.visible and app.b_run.disabled
    t0 = time.time()
    while st.progress == 0 and time.time() - t0 < 30:
        time.sleep(0.01)
    app.b_stop.clicks += 1
    app._job_thread.join(60)
    assert not app._job_thread.is_alive(), "Stop did not end the run"
    h = st.history
    assert 0 < h.last.iteration < 100000 and h.stop_reason.requested
    assert h.iterations == list(range(len(h)))
    assert not app.b_stop.visible and not app.b_run.disabled
    assert f"iteration {h.last.iteration} of {h.last.iteration}" in app.label.object
    assert app.alert.visible and "are kept" in app.alert.object


def test_keyboard_interrupt_in_the_page_callback_keeps_iterations():
    st = AppState(world="point_mass", planner="gd", batch=1)
    st.set_config("steps", 50)

    def interrupt(snap):
        if snap.iteration == 4:
            raise KeyboardInterrupt
    assert st.run(callback=interrupt)
    assert st.history.iterations[:5] == [0, 1, 2, 3, 4] and st.history.stop_reason.kind is gv.StopKind.INTERRUPTED
    assert st.message_kind == "warning" and st.message == st.history.stop_reason.message


# -- memory of a long run is bounded by the recording stride ------------------------------------------------------
def _nbytes(h: History) -> int:
    n = 0
    for s in h.snapshots:
        for v in vars(s).values():
            if isinstance(v, np.ndarray):
                n += v.nbytes
            elif isinstance(v, dict):
                n += sum(x.nbytes for x in v.values() if isinstance(x, np.ndarray))
    for ck in h.checkpoints.values():
        n += sum(v.nbytes for v in ck.values())
    return n


def test_memory_of_a_long_run_is_bounded_by_the_stride():
    def run(steps, stride):
        st = AppState(world="point_mass", planner="grasp", batch=2, horizon=10, stride=stride)
        st.set_config("steps", steps)
        assert st.run(), st.message
        return st.history
    short, long = run(300, 25), run(600, 50)  # twice the iterations, twice the stride
    assert len(short) == len(long) == 13
    assert len(long.checkpoints) <= len(long)
    assert _nbytes(long) <= 1.1 * _nbytes(short)  # the same memory, however long the run
    dense = run(300, 1)
    assert len(dense) == 301 and _nbytes(dense) > 5 * _nbytes(short)  # recording every iterate costs more
    assert len(History.load(long.to_bytes())) == 13


# -- the model-level cases the app surfaces (shapes, dtypes, devices) -----------------------------------------
@pytest.mark.parametrize("fn, match", [
    (lambda s, a: s[:, :1], r"must return shape \(N, S\)"),
    (lambda s, a: (s + a).tolist(), r"must return a tensor"),
    (lambda s, a: s + float("inf"), r"returned NaN/Inf on the probe input"),
    (lambda s, a: (s + a).to(torch.float16), r"must return torch.float32 on cpu; got torch.float16"),
    (lambda s, a: (s + a).to(torch.int64), r"must return torch.float32 on cpu; got torch.int64"),
])
def test_a_world_whose_model_is_wrong_from_the_start(monkeypatch, fn, match):
    """Selecting a world whose model is broken is a one-line message; the page keeps its run and works on."""
    class Broken(FaultyWorld):
        name = "test_broken"

        def make_model(self):
            return WorldModel(fn, 2, 2, name="broken")
    monkeypatch.setitem(WORLDS, Broken.name, Broken)
    objects = AppState.param.world.objects
    objects.append(Broken.name)
    try:
        st = small()
        assert st.run()
        hist = st.history
        st.world = Broken.name
        assert st.run() is False and re_search(match, one_line(st)), st.message
        assert st.history is hist
        st.world = "wall"
        st.set_config("steps", 2)
        assert st.run() and st.history is not hist
    finally:
        objects.remove(Broken.name)


def test_two_states_running_at_once_stay_separate():
    """Two sessions' jobs at the same time (threads, like two browser tabs) do not mix their runs."""
    a, b = small(planner="gd"), small(planner="cem")
    a.set_config("steps", 30)
    b.set_config("steps", 5)
    ta, tb = threading.Thread(target=a.run), threading.Thread(target=b.run)
    ta.start(), tb.start()
    ta.join(60), tb.join(60)
    assert a.history.planner == "gd" and a.history.last.iteration == 30
    assert b.history.planner == "cem" and b.history.last.iteration == 5
