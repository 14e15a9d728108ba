"""A corpus of bad input. Every case must give a ONE-line GraspvizError that names what was expected,
or (for failures in the middle of a run) keep the snapshots computed so far and say why it stopped."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import warnings

import numpy as np
import pytest
import torch

import graspviz as gv
from graspviz.core.errors import GraspvizError, NonFiniteError
from graspviz.core.history import History
from helpers import CONTRACT_PLANNERS, Faulty, assert_one_line, fast_planner, histories_equal, needs_cuda, wall_problem


def _raises(call, match):
    with pytest.raises(GraspvizError, match=match) as e:
        call()
    return assert_one_line(e.value)


# -- start / goal --------------------------------------------------------------------------------
MODEL = gv.get_world("wall").model()


@pytest.mark.parametrize("start, goal, match", [
    (torch.zeros(2, 3), torch.zeros(2, 2), r"start must have shape \(B, 2\) or \(2,\); got \(2, 3\)"),
    (torch.zeros(2, 2), torch.zeros(3), r"goal must have shape \(B, 2\) or \(2,\); got \(1, 3\)"),
    (torch.zeros(1, 2, 2), torch.zeros(2), r"start must have shape \(B, 2\) or \(2,\); got \(1, 2, 2\)"),
    (torch.tensor(1.0), torch.zeros(2), r"start must have shape \(B, 2\) or \(2,\); got \(\)"),
    (torch.zeros(0, 2), torch.zeros(0, 2), r"start must hold at least one problem; got batch size 0"),
    (torch.zeros(2, 2), torch.zeros(3, 2), r"start and goal must have the same batch size B; got 2 and 3"),
    (torch.zeros(2, dtype=torch.bool), torch.zeros(2), r"start must be a float tensor; got torch.bool"),
    (torch.zeros(2, dtype=torch.complex64), torch.zeros(2), r"start must be a float tensor; got torch.complex64"),
    ("ten, ten", torch.zeros(2), r"start must be a tensor or array of shape \(B, 2\); got str"),
    (torch.zeros(2), [float("nan"), 1.0], r"goal must be finite; got NaN or Inf"),
    (torch.tensor([float("inf"), 0.0]), torch.zeros(2), r"start must be finite; got NaN or Inf"),
])
def test_bad_start_and_goal(start, goal, match):
    _raises(lambda: gv.Problem(MODEL, start, goal, 5), match)


def test_integer_starts_are_converted_to_the_models_dtype():
    p = gv.Problem(MODEL, np.array([[10, 10]]), [[50, 50]], 3)
    assert p.start.dtype == torch.float32


@needs_cuda
def test_mixed_devices_move_to_the_models_device():
    p = gv.Problem(MODEL, torch.zeros(1, 2, device="cuda"), torch.ones(1, 2), 3)
    assert p.start.device.type == "cpu" and p.goal.device.type == "cpu"
    cuda_model = gv.get_world("wall").model(device="cuda")
    q = gv.Problem(cuda_model, torch.zeros(1, 2), torch.ones(1, 2, dtype=torch.float64), 3)
    assert q.start.device.type == "cuda" and q.goal.dtype == torch.float32
    state = fast_planner("grasp").init(q, 0, warm_start=torch.zeros(1, 2, 2))  # a CPU warm start
    assert state.actions.device.type == "cuda"


# -- horizons ------------------------------------------------------------------------------------
@pytest.mark.parametrize("horizon", [0, -1, 2.5, "3", None, True])
def test_bad_horizons(horizon):
    _raises(lambda: gv.Problem(MODEL, torch.zeros(2), torch.ones(2), horizon), r"horizon must be an integer >= 1; got")
    _raises(lambda: gv.get_world("wall").sample_problems(2, horizon=horizon if horizon is not None else -3),
            r"horizon must be an integer >= 1; got")


@pytest.mark.parametrize("world", sorted(gv.WORLDS))
def test_huge_horizons_are_refused_up_front_with_a_memory_estimate(world):
    msg = _raises(lambda: gv.get_world(world).sample_problems(4, horizon=10**9),
                  r"horizon 1000000000 x batch 4 needs about [0-9.]+ GiB of planner tensors \(limit 8 GiB\)")
    assert "shorter horizon" in msg
    _raises(lambda: gv.Problem(MODEL, torch.zeros(2), torch.ones(2), 10**12), r"needs about [0-9.]+ GiB")


@pytest.mark.parametrize("n", [0, -2, 1.5, "4"])
def test_bad_problem_counts(n):
    _raises(lambda: gv.get_world("wall").sample_problems(n), r"number of problems must be an integer >= 1; got")


# -- world models --------------------------------------------------------------------------------
class Listy(torch.nn.Module):
    state_dim = action_dim = 2

    def forward(self, s, a):
        return (s + a).tolist()


@pytest.mark.parametrize("fn, match", [
    (lambda s, a: s[:, :1], r"world model .* must return shape \(N, S\) = \(2, 2\); got \(2, 1\)"),
    (lambda s, a: (s + a)[None], r"must return shape \(N, S\) = \(2, 2\); got \(1, 2, 2\)"),
    (Listy(), r"world model Listy must return a tensor of shape \(2, 2\); got list"),
    (lambda s, a: s * float("nan"), r"returned NaN/Inf on the probe input .*expected finite values"),
    (lambda s, a: (s + a).double(), r"must return torch.float32 on cpu; got torch.float64 on cpu"),
    (lambda s, a: s @ torch.zeros(3, 3), r"failed on s \(2, 2\), a \(2, 2\) \(torch.float32, cpu\): RuntimeError"),
])
def test_bad_models_are_refused_when_wrapped(fn, match):
    _raises(lambda: gv.WorldModel(fn, 2, 2), match)


def test_model_protocol_errors():
    _raises(lambda: gv.WorldModel(lambda s, a: s), r"state_dim is required: pass state_dim= or give the model")
    _raises(lambda: gv.WorldModel(42, 2, 2), r"a world model must be callable as step\(s, a\).*; got int")
    _raises(lambda: gv.WorldModel(lambda s, a: s, 0, 2), r"state_dim and action_dim must be >= 1; got S=0, A=2")
    _raises(lambda: gv.WorldModel(lambda s, a: s, 2, 2, history=0), r"history window must be >= 1; got 0")
    _raises(lambda: gv.WorldModel(lambda s, a: s + a, 2, 2, action_low=[float("nan"), 0], action_high=1),
            r"action_low must be a finite number or 2 numbers")


def _faulty_problem(mode, dtype=torch.float32):
    model = Faulty(mode, after=10**9)  # healthy until switched
    problem = gv.Problem(gv.WorldModel(model, action_low=-1, action_high=1, dtype=dtype),
                         torch.zeros(2, 2), torch.full((2, 2), 3.0), 4)
    return model, problem


def _break_at(model, k):
    """A callback that makes the model misbehave from the update to iterate k on."""
    def callback(snap):
        if snap.iteration == k - 1:
            model.after = model.calls
    return callback


@pytest.mark.parametrize("name", CONTRACT_PLANNERS)
def test_nan_mid_run_keeps_earlier_snapshots_and_names_the_iteration(name, tmp_path):
    model, problem = _faulty_problem("nan")
    with pytest.warns(RuntimeWarning, match="stopped at iteration 3"):
        h = gv.run(fast_planner(name), problem, seed=0, callback=_break_at(model, 3))
    assert h.iterations == [0, 1, 2]
    stop = h.stop_reason
    assert stop.kind is gv.StopKind.NONFINITE and stop.iteration == 2
    assert_one_line(stop)
    assert "stopped at iteration 3" in stop.message and "NaN/Inf" in stop.message
    assert stop.message.endswith("; iterations 0..2 are kept")
    assert sorted(h.checkpoints) == [0, 2]  # the first and the last kept iterate
    loaded = History.load(h.save(tmp_path / "nan.npz"))
    histories_equal(h, loaded)
    # the generator form raises after yielding the good snapshots
    model2, problem2 = _faulty_problem("nan")
    got = []
    with pytest.raises(NonFiniteError) as e:
        for snap in gv.iterate(fast_planner(name), problem2, seed=0):
            got.append(snap.iteration)
            _break_at(model2, 3)(snap)
    assert got == [0, 1, 2] and e.value.iteration == 3
    assert_one_line(e.value)


@pytest.mark.parametrize("name", ["grasp", "gd", "cem"])
def test_a_model_that_raises_mid_run_keeps_snapshots_and_the_reason(name, tmp_path):
    model, problem = _faulty_problem("raise")
    with pytest.warns(RuntimeWarning, match="the world model raised RuntimeError"):
        h = gv.run(fast_planner(name), problem, seed=0, callback=_break_at(model, 3))
    assert h.iterations == [0, 1, 2]
    msg = assert_one_line(h.stop_reason)
    assert h.stop_reason.kind is gv.StopKind.MODEL_ERROR and h.stop_reason.iteration == 2
    assert msg == (f"{h.planner} stopped after iteration 2: the world model raised RuntimeError: simulated failure "
                   "inside the model; iterations 0..2 are kept")
    histories_equal(h, History.load(h.save(tmp_path / "raised.npz")))


@pytest.mark.parametrize("name", ["grasp", "gd", "cem"])
@pytest.mark.parametrize("after", [30, 90, 150])
def test_a_model_that_dies_keeps_every_iterate_and_says_so(name, after, tmp_path):
    """A model that starts failing on every input after ``after`` calls (a lost device, a remote model going down),
    with batched recording (no callback): the iterates computed before it died are all kept, those it could no
    longer evaluate flagged and NaN, and the stop reason says exactly that."""
    model = Faulty("raise", after=after)
    problem = gv.Problem(gv.WorldModel(model, action_low=-1, action_high=1), torch.zeros(2, 2), torch.ones(2, 2), 5)
    planner = gv.make_planner(name, steps=100, **({"samples": 20, "elites": 4} if name == "cem" else {"pilot": 0}))
    with pytest.warns(RuntimeWarning, match="the world model raised RuntimeError"):
        h = gv.run(planner, problem, seed=0)
    stop = h.stop_reason
    assert stop.kind is gv.StopKind.MODEL_ERROR and stop.iteration == h.last.iteration
    assert h.iterations == list(range(len(h))) and len(h) >= 2  # every computed iterate, in order
    evaluated = [s for s in h.snapshots if s.evaluated]
    blind = [s.iteration for s in h.snapshots if not s.evaluated]
    assert [s.iteration for s in evaluated] == list(range(len(evaluated)))  # evaluated first, then the blind ones
    assert all(np.isfinite(s.goal_distance).all() for s in evaluated)
    assert all(np.isnan(s.goal_distance).all() and np.isfinite(s.actions).all() for s in h.snapshots if not s.evaluated)
    assert stop.message.startswith(f"{name} stopped after iteration {h.last.iteration}: the world model raised ")
    kept = f"iterations 0..{h.last.iteration} are kept"
    if blind:
        span = f"{blind[0]}..{blind[-1]}" if len(blind) > 1 else f"{blind[0]}"
        assert stop.message.endswith(f"{kept} ({span} without a model rollout: evaluating them failed with "
                                     f"RuntimeError: simulated failure inside the model)"), stop.message
    else:
        assert stop.message.endswith(kept), stop.message
    assert_one_line(stop)
    loaded = History.load(h.save(tmp_path / "dead.npz"))  # and the run, blind iterates too, survives a file
    histories_equal(h, loaded)
    assert [s.evaluated for s in loaded.snapshots] == [s.evaluated for s in h.snapshots]


@pytest.mark.parametrize("name", ["grasp", "mppi"])
def test_a_model_whose_output_shape_changes_mid_run_keeps_snapshots(name):
    model, problem = _faulty_problem("shape")
    with pytest.warns(RuntimeWarning):
        h = gv.run(fast_planner(name), problem, seed=0, callback=_break_at(model, 2))
    assert h.iterations == [0, 1]
    msg = assert_one_line(h.stop_reason)
    assert "after iteration 1" in msg and r"must return shape (N, S)" in msg


@pytest.mark.parametrize("name", ["grasp", "cem"])
def test_keyboard_interrupt_in_the_model_or_callback_keeps_snapshots(name):
    model, problem = _faulty_problem("interrupt")
    with pytest.warns(RuntimeWarning, match="interrupted after iteration 1"):
        h = gv.run(fast_planner(name), problem, seed=0, callback=_break_at(model, 2))
    assert h.iterations == [0, 1] and h.stop_reason.kind is gv.StopKind.INTERRUPTED
    assert h.stop_reason.message == f"{name} was interrupted after iteration 1; iterations 0..1 are kept"

    def stop(snap):
        if snap.iteration == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning):
        h = gv.run(fast_planner(name), wall_problem(), seed=0, callback=stop)
    assert h.iterations == [0, 1, 2] and h.stop_reason.kind is gv.StopKind.INTERRUPTED
    assert h.stop_reason.message == f"{name} was interrupted after iteration 2; iterations 0..2 are kept"
    History.load(h.to_bytes())


def test_a_callback_can_stop_a_run_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = gv.run(fast_planner("gd"), wall_problem(), callback=lambda s: s.iteration == 1)
    assert h.iterations == [0, 1] and h.stop_reason == gv.StopReason("requested", 1, "stopped by request at iteration 1")
    assert h.stop_reason.requested


# -- settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("planner, setting, value, match", [
    ("grasp", "lr_states", -1.0, r"GraspConfig.lr_states must be in \[0.0, 1000000.0\]; got -1.0"),
    ("grasp", "lr_actions", float("nan"), r"GraspConfig.lr_actions must be a finite number in \[0.0, 1000000.0\]; got nan"),
    ("grasp", "sigma", -0.1, r"GraspConfig.sigma must be in \[0.0, 1000000.0\]; got -0.1"),
    ("grasp", "init_noise", float("nan"), r"GraspConfig.init_noise must be a finite number in \[0.0, 1000000.0\]"),
    ("grasp", "gamma", -2, r"GraspConfig.gamma must be in \[0.0, 1000.0\]; got -2"),
    ("grasp", "gamma_end", float("inf"), r"GraspConfig.gamma_end must be a finite number in \[0.0, 1000.0\]"),
    ("grasp", "sync_every", 0, r"GraspConfig.sync_every must be in \[1, 100000\]; got 0"),
    ("grasp", "steps", 2.5, r"GraspConfig.steps must be an integer in \[1, 100000\]; got 2.5"),
    ("gd", "lr", float("nan"), r"GDConfig.lr must be a finite number in \[0.0, 1000000.0\]; got nan"),
    ("gd", "action_noise", -1e-3, r"GDConfig.action_noise must be in \[0.0, 100.0\]"),
    ("cem", "samples", 1, r"CEMConfig.samples must be in \[2, 100000\]; got 1"),
    ("mppi", "temperature", 0.0, r"MPPIConfig.temperature must be in \[1e-12, 1000000000000.0\]; got 0.0"),
    ("collocation", "lr_states", "fast", r"CollocationConfig.lr_states must be a number in \[0.0, 1000000.0\] or auto; got 'fast'"),
])
def test_bad_settings(planner, setting, value, match):
    _raises(lambda: gv.make_planner(planner, **{setting: value}), match)


def test_cross_field_and_driver_settings():
    _raises(lambda: gv.make_planner("cem", samples=8, elites=9).init(wall_problem(), 0),
            r"CEMConfig.elites must be <= samples \(8\); got 9")
    planner, problem = fast_planner("gd"), wall_problem()
    _raises(lambda: gv.run(planner, problem, steps=-1), r"steps must be an integer >= 0; got -1")
    _raises(lambda: gv.run(planner, problem, steps=1.5), r"steps must be an integer >= 0; got 1.5")
    _raises(lambda: gv.run(planner, problem, stride=0), r"stride must be an integer >= 1; got 0")
    h = gv.run(planner, problem)
    _raises(lambda: gv.fork(h, 1, lr_typo=3), r"GDConfig has no setting 'lr_typo'; expected one of: action_noise, lr")
    _raises(lambda: gv.fork(h, 1, lr=-3), r"GDConfig.lr must be in")


def test_bad_warm_starts():
    planner, problem = fast_planner("grasp"), wall_problem(2, 6)
    _raises(lambda: planner.init(problem, 0, warm_start=torch.full((2, 6, 2), float("nan"))),
            r"warm_start must be finite; got NaN or Inf")
    _raises(lambda: planner.init(problem, 0, warm_start="left"), r"warm_start must be a tensor or array of shape .*; got str")
    _raises(lambda: planner.init(problem, 0, warm_start=torch.zeros(3, 6, 2)),
            r"warm_start must have shape \(B, T', A\) = \(2, T', 2\); got \(3, 6, 2\)")


def test_unknown_names():
    msg = _raises(lambda: gv.make_planner("grasp2"), r"unknown planner 'grasp2'; expected one of: grasp, gd, cem")
    assert all(name in msg for name in gv.PLANNERS)
    msg = _raises(lambda: gv.get_world("walls"), r"unknown world 'walls'; expected one of: ")
    assert all(name in msg for name in gv.WORLDS)
    _raises(lambda: gv.planner_config("grasp", "nowhere"), r"unknown world 'nowhere'")
    _raises(lambda: gv.make_planner("gd", config=3), r"gd needs a GDConfig or a dict; got int")


# -- run files -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_bytes():
    h = gv.run(fast_planner("grasp"), wall_problem(2, 5), seed=0)
    return h, h.to_bytes()


def _npz(arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _with_meta(data: bytes, change) -> bytes:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["__meta__"]).decode())
    change(meta, arrays)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return _npz(arrays)


NOT_READABLE = r"is not a readable graspviz run file"
DAMAGED = r"is a damaged graspviz run file"


def test_truncated_files(run_bytes):
    _, data = run_bytes
    for cut in (0, 1, 10, 100, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 1):
        _raises(lambda: History.load(data[:cut]), NOT_READABLE)


def test_flipped_bytes_never_load_as_a_different_run(run_bytes):
    h, data = run_bytes
    for i in range(0, len(data), 53):
        bad = bytearray(data)
        bad[i] ^= 0x5A
        try:
            loaded = History.load(bytes(bad))
        except GraspvizError as e:
            assert_one_line(e)
            assert "run file" in str(e)
        else:  # a flip in a field nobody reads (e.g. a timestamp): the run must be intact
            histories_equal(h, loaded)


def set_key(key, value):
    def change(meta, arrays):
        meta[key] = value
    return change


def set_scalar(key, value):
    def change(meta, arrays):
        meta["scalars"][key][0] = value
    return change


def set_array(key, fn):
    def change(meta, arrays):
        arrays[key] = fn(arrays[key])
    return change


def drop_array(key):
    def change(meta, arrays):
        del arrays[key]
    return change


@pytest.mark.parametrize("change, match", [
    (set_key("version", 99), r"has run-file version 99; this graspviz reads versions 1, 2"),
    (set_key("version", None), r"has run-file version None; this graspviz reads versions 1, 2"),
    (set_key("format", "something-else"), r"is not a graspviz run file \(expected format 'graspviz-history'\)"),
    (set_key("horizon", 7), DAMAGED + r" .*snap/actions has shape \(7, 2, 5, 2\), expected \(7, 2, 7, 2\)"),
    (set_key("horizon", "five"), DAMAGED + r" .*horizon 'five' is not an integer >= 1"),
    (set_key("planner", 3), DAMAGED + r" .*planner is not a str"),
    (set_key("scalars", {}), DAMAGED + r" \(KeyError"),
    (set_scalar("iteration", "zero"), DAMAGED + r" .*iterations are not integers"),
    (set_scalar("synced", "yes"), DAMAGED + r" .*synced / evaluated flags are not booleans"),
    (set_scalar("sigma", [1, 2]), DAMAGED + r" .*sigma / gamma / timings are not numbers"),
    (set_key("present", ["actions", "rollout", "goal_distance", "states", "gap", "__class__"]),
     DAMAGED + r" .*unknown snapshot fields"),
    (set_array("snap/rollout", lambda a: a[:, :, :-1]), DAMAGED + r" .*snap/rollout has shape"),
    (set_array("loss/loss/total", lambda a: a[:3]), DAMAGED + r" .*loss/loss/total has shape \(3, 2\), expected \(7, 2\)"),
    (set_array("start", lambda a: a.astype(np.int64)), DAMAGED + r" .*start / goal are not \(B, S\) float arrays"),
    (set_array("ckpt/0/actions", lambda a: a[:, :2]), DAMAGED + r" .*checkpoint 0 holds actions that do not fit"),
    (drop_array("snap/actions"), DAMAGED + r" \(KeyError"),
    (drop_array("ckpt/0/states"), DAMAGED + r" \(KeyError"),
])
def test_tampered_files(run_bytes, change, match):
    _, data = run_bytes
    _raises(lambda: History.load(_with_meta(data, change)), match)


def test_oversized_files(run_bytes, tmp_path):
    h, data = run_bytes
    _raises(lambda: History.load(data, max_bytes=100), rf"uploaded file is {len(data)} bytes; run files are limited to 100 bytes")
    path = h.save(tmp_path / "big.npz")
    _raises(lambda: History.load(path, max_bytes=len(data) - 1), r"big.npz is \d+ bytes; run files are limited to")
    assert len(History.load(path, max_bytes=len(data))) == len(h)


def test_files_that_are_not_graspviz_runs(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    cases = {
        "an .npy array": buf.getvalue(),
        "a plain npz": _npz({"a": np.zeros(3)}),
        "text": b"step,loss\n1,0.5\n",
        "json": json.dumps({"format": "graspviz-history", "version": 1}).encode(),
        "empty": b"",
        "a pickle": b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.",
    }
    for what, data in cases.items():
        _raises(lambda: History.load(data), NOT_READABLE)
        path = tmp_path / "file.npz"
        path.write_bytes(data)
        _raises(lambda: History.load(path), NOT_READABLE)
    meta_not_dict = _npz({"__meta__": np.frombuffer(b"[1, 2]", dtype=np.uint8)})
    _raises(lambda: History.load(meta_not_dict), r"is not a graspviz run file \(expected format 'graspviz-history'\)")
    object_array = _npz({"__meta__": np.array([{"format": "graspviz-history"}], dtype=object)})
    _raises(lambda: History.load(object_array), NOT_READABLE)
    _raises(lambda: History.load(tmp_path / "missing.npz"), r"run file '.*missing.npz' does not exist or is not a file")
    _raises(lambda: History.load(tmp_path), r"does not exist or is not a file")


class NanInEvaluation(torch.nn.Module):
    """Finite whenever gradients are on (the planner's updates); under no_grad (recording) NaN once a
    state leaves |x| < 2.5, which the rollout of a growing plan does after a few iterations."""

    state_dim = action_dim = 2

    def forward(self, s, a):
        out = s + 0.5 * a
        if torch.is_grad_enabled():
            return out
        return torch.where(s.abs().amax(-1, keepdim=True) > 2.5, out * float("nan"), out)


def test_nan_found_while_evaluating_batched_records_keeps_the_snapshots_before_it(tmp_path):
    """Batched recording (no callback): a rollout that goes NaN is found when the batch is evaluated;
    the snapshots before it are kept and the reason names the iteration."""
    model = gv.WorldModel(NanInEvaluation(), action_low=-1, action_high=1)
    problem = gv.Problem(model, torch.zeros(1, 2), torch.full((1, 2), 4.0), 8)
    with pytest.warns(RuntimeWarning, match=r"stopped at iteration (\d+): the model's rollout of iteration (\d+) is "
                                            r"NaN/Inf; iterations 0..\d+ are kept \(\2(..\d+)? without a model rollout: "
                                            r"(its model rollout is|their model rollouts are) NaN/Inf\)"):
        h = gv.run(gv.make_planner("collocation", steps=60, lr_actions=0.05), problem, seed=0)
    first_nan = int(re.search(r"rollout of iteration (\d+)", h.stop_reason.message).group(1))
    assert h.iterations == list(range(len(h))) and first_nan > 0
    # every iterate computed is kept: those before the NaN rollout evaluated, the rest flagged, their actions known
    assert [s.evaluated for s in h.snapshots] == [s.iteration < first_nan for s in h.snapshots]
    assert all(np.isfinite(s.goal_distance).all() for s in h.snapshots if s.evaluated)
    assert all(np.isfinite(s.actions).all() for s in h.snapshots)
    assert max(h.checkpoints) <= h.last.iteration
    History.load(h.save(tmp_path / "kept.npz"))


# -- round two: one-line errors for API arguments, and models that misbehave in quieter ways ---------------------
@pytest.mark.parametrize("call, match", [
    (lambda: wall_problem(dtype=torch.bfloat16), r"dtype must be torch.float32 or torch.float64; got torch.bfloat16"),
    (lambda: wall_problem(dtype=torch.int64), r"dtype must be torch.float32 or torch.float64; got torch.int64"),
    (lambda: wall_problem(dtype="float32"), r"dtype must be torch.float32 or torch.float64; got 'float32'"),
    (lambda: wall_problem(device="meta"), r"device must be cpu, cuda or cuda:N; got 'meta'"),
    (lambda: gv.get_world("wall").sample_problems(2, 5, seed="abc"), r"seed must be an integer >= 0; got 'abc'"),
    (lambda: gv.get_world("wall").sample_problems(2, 5, seed=float("nan")), r"seed must be an integer >= 0; got nan"),
    (lambda: gv.run(fast_planner("gd"), wall_problem(), seed="abc"), r"seed must be an integer >= 0; got 'abc'"),
    (lambda: gv.run(fast_planner("gd"), wall_problem(), checkpoints="yes"), r"checkpoints .* got 'yes'"),
    (lambda: gv.History.load(None), r"a run file must be a path or bytes; got NoneType"),
    (lambda: gv.WorldModel(torch.nn.Linear(4, 2).to(torch.bfloat16), 2, 2), r"the world model's dtype .* torch.bfloat16"),
])
def test_api_arguments_are_checked(call, match):
    _raises(call, match)


def test_fork_arguments_are_checked():
    h = gv.run(fast_planner("grasp"), wall_problem(), seed=0)
    _raises(lambda: gv.fork(h, 1.5), r"fork needs an integer iteration; got 1.5")
    _raises(lambda: gv.fork(h, "2"), r"fork needs an integer iteration; got '2'")
    garbage = dataclasses.replace(h, world="wall", meta={**h.meta, "dtype": "complex-ish"})
    _raises(lambda: gv.fork(garbage, 1), r"this history's dtype 'complex-ish' is not a torch float type")
    elsewhere = dataclasses.replace(h, world="wall", meta={**h.meta, "device": "tpu:7"})  # not here: the CPU serves
    assert len(gv.fork(elsewhere, 1, steps=1)) == 2


class _Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("and its message cannot even be printed")


def test_a_model_whose_exception_cannot_be_printed():
    def probe_fails(s, a):
        raise _Unprintable()
    _raises(lambda: gv.WorldModel(probe_fails, 2, 2), r"world model probe_fails failed on .*: _Unprintable$")
    calls = [0]

    def later_fails(s, a):
        calls[0] += 1
        if calls[0] > 30:  # after the scale probe's calls, mid-run
            raise _Unprintable()
        return s + a
    problem = gv.Problem(gv.WorldModel(later_fails, 2, 2), torch.zeros(1, 2), torch.ones(1, 2), 3)
    with pytest.warns(RuntimeWarning):
        h = gv.run(fast_planner("grasp"), problem)
    assert "the world model raised _Unprintable" in assert_one_line(h.stop_reason)


def test_models_that_change_their_inputs_or_give_no_gradients():
    def in_place(s, a):
        s += a
        return s.clone()
    _raises(lambda: gv.WorldModel(in_place, 2, 2), r"changes its inputs in place; expected a pure function")
    detached = gv.WorldModel(lambda s, a: (s + a).detach(), 2, 2)
    problem = gv.Problem(detached, torch.zeros(1, 2), torch.ones(1, 2), 3)
    for name in ("grasp", "gd", "collocation"):
        _raises(lambda: gv.run(fast_planner(name), problem), rf"{name} needs gradients of the world model .* use cem")
    assert len(gv.run(fast_planner("cem"), problem)) > 1  # samplers need no gradients


def test_a_failed_save_after_planning_falls_back_to_a_safe_name(tmp_path, monkeypatch):
    from graspviz.cli.plan import save_run
    h = gv.run(fast_planner("gd"), wall_problem(), seed=0)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    where = save_run(h, str(tmp_path / "gone" / "run.npz"))  # the folder went away while planning
    assert where.startswith(str(tmp_path)) and "graspviz-run-" in where
    histories_equal(h, History.load(where))
