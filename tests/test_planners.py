"""The planner contract, checked for EVERY registered planner (and one GRASP ablation).

Shapes of every snapshot field, dtype/device kept, same (config, seed) -> same snapshots, replay
and fork from checkpoints, immutability, finiteness, batch independence, warm starts, and exact
History round trips.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import graspviz as gv
from graspviz.core import metrics as M
from graspviz.core.history import History, snapshots_equal
from helpers import CONTRACT_PLANNERS, FAST, family, fast_planner, histories_equal, needs_cuda, wall_problem

B, T, S, A = 2, 6, 2, 2

#: the opt-in extras each planner offers (names and shapes)
EXTRAS = {
    "grasp": {"grad_states": (B, T - 1, S), "grad_actions": (B, T, A)},
    "collocation": {"grad_states": (B, T - 1, S), "grad_actions": (B, T, A)},
    "gd": {"grad_actions": (B, T, A)},
    "cem": {"population": (B, FAST["cem"]["samples"], T, A), "population_cost": (B, FAST["cem"]["samples"])},
    "mppi": {"population": (B, FAST["mppi"]["samples"], T, A), "population_cost": (B, FAST["mppi"]["samples"])},
}

#: a setting per planner that changes what happens next (for fork)
OTHER = {"grasp": dict(lr_actions=0.2), "collocation": dict(lr_actions=0.2), "gd": dict(lr=0.001),
         "cem": dict(elites=2), "mppi": dict(temperature=0.01)}

#: settings that make a planner deterministic per problem (no noise streams drawn for the batch)
NOISE_OFF = {"grasp": dict(noise=False, init_noise=0.0), "collocation": {}, "gd": dict(action_noise=0.0)}

planners = pytest.mark.parametrize("name", CONTRACT_PLANNERS)


def _run(name, dtype=torch.float32, device="cpu", seed=0, extras=(), checkpoints=True, **overrides):
    problem = wall_problem(B, T, dtype=dtype, device=device)
    return gv.run(fast_planner(name, **overrides), problem, seed=seed, extras=extras, checkpoints=checkpoints), problem


def _np_dtype(dtype):
    return {torch.float32: np.float32, torch.float64: np.float64}[dtype]


# -- shapes, dtype, device -----------------------------------------------------------------------
@planners
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_snapshot_fields_have_documented_shapes_and_dtype(name, dtype):
    extras = tuple(EXTRAS[family(name)])
    h, problem = _run(name, dtype, extras=extras)
    planner = fast_planner(name)
    steps = planner.config.steps
    assert h.iterations == list(range(steps + 1))
    assert h.stop_reason is None
    nd = _np_dtype(dtype)
    start, goal = problem.start.numpy(), problem.goal.numpy()
    for snap in h.snapshots:
        assert snap.actions.shape == (B, T, A) and snap.actions.dtype == nd
        assert snap.rollout.shape == (B, T + 1, S) and snap.rollout.dtype == nd
        assert snap.goal_distance.shape == (B,) and snap.goal_distance.dtype == nd
        np.testing.assert_array_equal(snap.rollout[:, 0], start)  # the rollout starts at s_0
        np.testing.assert_allclose(snap.goal_distance, np.linalg.norm(snap.rollout[:, -1] - goal, axis=-1),
                                   rtol=1e-5 if dtype == torch.float32 else 1e-12)
        assert M.LOSS_SHOOTING in snap.losses and M.LOSS_TOTAL in snap.losses
        for key, v in snap.losses.items():
            assert v.shape == (B,) and v.dtype == nd, key
        lo, hi = problem.model.action_low.numpy(), problem.model.action_high.numpy()
        assert (snap.actions >= lo).all() and (snap.actions <= hi).all()  # actions stay in bounds
        if planner.lifted:
            assert snap.states.shape == (B, T - 1, S) and snap.states.dtype == nd
            assert snap.gap.shape == (B, T) and snap.gap.dtype == nd
            assert isinstance(snap.sigma, float) and isinstance(snap.gamma, float)
            assert {M.LOSS_DYNAMICS, M.LOSS_GOAL} <= set(snap.losses)
        else:
            assert snap.states is None and snap.gap is None
        if snap.iteration == 0:
            assert snap.extras == {}  # nothing was computed yet
        else:
            assert {k: v.shape for k, v in snap.extras.items()} == EXTRAS[family(name)]
            assert all(v.dtype == nd for v in snap.extras.values())
        assert snap.step_ms >= 0 and snap.wall_time >= 0
    walls = [s.wall_time for s in h.snapshots]
    assert walls == sorted(walls)  # planning time accumulates
    for ck in h.checkpoints.values():  # checkpoints keep the dtype of the run
        assert ck["actions"].dtype == nd


@planners
def test_no_extras_unless_requested(name):
    h, _ = _run(name)
    assert all(s.extras == {} for s in h.snapshots)


@planners
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_state_tensors_keep_dtype_and_device(name, dtype):
    _check_state_device(name, dtype, "cpu")


@needs_cuda
@planners
def test_state_tensors_keep_dtype_and_device_cuda(name):
    _check_state_device(name, torch.float32, "cuda")
    h, _ = _run(name, device="cuda")
    assert h.meta["device"].startswith("cuda")
    r = gv.replay(h, 2)  # replays on the run's device
    assert snapshots_equal(r[1], h[3])


def _check_state_device(name, dtype, device):
    problem = wall_problem(B, T, dtype=dtype, device=device)
    planner = fast_planner(name)
    state = planner.init(problem, seed=0, warm_start=torch.zeros(B, 3, A, dtype=torch.float64))
    for _ in range(2):
        for f in dataclasses.fields(state):
            v = getattr(state, f.name)
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                assert v.dtype == dtype and v.device.type == device, f.name
        state, info = planner.update(problem, state)
        for key, v in info.losses.items():
            assert v.dtype == dtype and v.device.type == device and v.shape == (B,), key


# -- determinism, replay, fork -------------------------------------------------------------------
@planners
def test_same_config_and_seed_give_identical_snapshots(name):
    a, _ = _run(name, seed=3)
    b, _ = _run(name, seed=3)
    assert len(a) == len(b)
    assert all(snapshots_equal(x, y) for x, y in zip(a.snapshots, b.snapshots))


@pytest.mark.parametrize("name", ["grasp", "gd", "cem", "mppi"])
def test_the_seed_matters_for_stochastic_planners(name):
    a, _ = _run(name, seed=0)
    b, _ = _run(name, seed=1)
    assert not snapshots_equal(a.last, b.last)


@planners
def test_iterate_yields_the_snapshots_run_collects(name):
    h, problem = _run(name, seed=2)
    snaps = list(gv.iterate(fast_planner(name), problem, seed=2))
    assert [s.iteration for s in snaps] == h.iterations
    assert all(snapshots_equal(x, y) for x, y in zip(snaps, h.snapshots))


@planners
def test_replay_from_every_iteration_reproduces_the_next_snapshot(name):
    h, _ = _run(name, seed=5, extras=tuple(EXTRAS[family(name)]))
    every = gv.planners.CHECKPOINT_EVERY
    assert sorted(h.checkpoints) == sorted({k for k in h.iterations if k % every == 0} | {h.last.iteration})
    h2, _ = _run(name, seed=5, extras=tuple(EXTRAS[family(name)]), checkpoints=2)  # replays between checkpoints
    assert sorted(h2.checkpoints) == sorted({k for k in h2.iterations if k % 2 == 0} | {h2.last.iteration})
    for k in h.iterations[:-1]:
        r2 = gv.replay(h2, k)
        assert snapshots_equal(r2[1], h[k + 1]), f"replay from {k} (checkpoint {k - k % 2})"
        r = gv.replay(h, k)
        assert r.iterations == [k, k + 1]
        assert snapshots_equal(r[1], h[k + 1]), f"replay from {k}"
        assert snapshots_equal(r[0], h[k])


@planners
def test_replay_after_save_and_load(name, tmp_path):
    h, _ = _run(name, seed=4)
    loaded = History.load(h.save(tmp_path / "run.npz"))
    k = len(h) // 2
    assert snapshots_equal(gv.replay(loaded, k)[1], h[k + 1])


@planners
def test_fork_continues_with_other_settings_from_k(name):
    h, _ = _run(name, seed=1)
    k = 1
    same = gv.fork(h, k, steps=3)  # no overrides: the original continuation
    assert same.iterations == [k, k + 1, k + 2, k + 3]
    assert all(snapshots_equal(x, h.at(x.iteration)) for x in same.snapshots)
    change = OTHER[family(name)]
    other = gv.fork(h, k, steps=3, **change)
    assert other.iterations == [k, k + 1, k + 2, k + 3]
    assert snapshots_equal(other[0], h[k])  # the fork starts at the original iterate k
    assert not snapshots_equal(other[-1], h.at(k + 3))  # ... and continues differently
    for key, value in change.items():
        assert other.config[key] == value and h.config[key] != value
    assert other.meta["forked_from"] == dict(iteration=k, overrides=change)
    assert gv.fork(h, k).iterations[-1] == fast_planner(name).config.steps  # default: up to config.steps


@planners
def test_fork_from_a_missing_checkpoint_is_refused(name):
    h, _ = _run(name)
    with pytest.raises(gv.GraspvizError, match="cannot fork at iteration 99: .* records up to"):
        gv.fork(h, 99)


# -- immutability, finiteness --------------------------------------------------------------------
@planners
def test_snapshots_are_immutable(name):
    h, _ = _run(name, extras=tuple(EXTRAS[family(name)]))
    snap = h.last
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.iteration = 99
    arrays = [snap.actions, snap.rollout, snap.goal_distance, *snap.losses.values(), *snap.extras.values()]
    arrays += [x for x in (snap.states, snap.gap) if x is not None]
    for a in arrays:
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a.reshape(-1)[0] = 1.0
    # snapshots are copies: the planner cannot change them later
    before = h[1].actions.copy()
    gv.replay(h, 1)
    np.testing.assert_array_equal(h[1].actions, before)


@planners
def test_values_are_finite(name):
    h, _ = _run(name, extras=tuple(EXTRAS[family(name)]))
    for snap in h.snapshots:
        arrays = [snap.actions, snap.rollout, snap.goal_distance, *snap.losses.values(), *snap.extras.values()]
        arrays += [x for x in (snap.states, snap.gap) if x is not None]
        assert all(np.isfinite(a).all() for a in arrays)
        assert all(np.isfinite(x) for x in (snap.sigma, snap.gamma, snap.wall_time, snap.step_ms) if x is not None)


# -- batching ------------------------------------------------------------------------------------
@planners
def test_problems_in_a_batch_do_not_influence_each_other(name):
    """Row 0's plan is the same whatever the other problems of the batch are (noise streams included)."""
    world = gv.get_world("wall")
    p = world.sample_problems(3, horizon=T, seed=0, dtype=torch.float64)
    q = world.sample_problems(3, horizon=T, seed=9, dtype=torch.float64)
    other = world.problem(torch.cat([p.start[:1], q.start[1:]]), torch.cat([p.goal[:1], q.goal[1:]]), T,
                          dtype=torch.float64)
    a = gv.run(fast_planner(name), p, seed=0).last
    b = gv.run(fast_planner(name), other, seed=0).last
    np.testing.assert_allclose(a.actions[0], b.actions[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.rollout[0], b.rollout[0], rtol=1e-9, atol=1e-12)
    assert not np.allclose(a.actions[1:], b.actions[1:])


@pytest.mark.parametrize("name", ["grasp", "collocation", "gd", "grasp-no-stopgrad"])
def test_one_problem_alone_equals_its_row_in_a_batch(name):
    """Deterministic per problem (noise off): planning problem i alone equals row i of a batch of 3."""
    p = gv.get_world("wall").sample_problems(3, horizon=T, seed=1, dtype=torch.float64)
    planner = fast_planner(name, **NOISE_OFF[family(name)])
    batch = gv.run(planner, p, seed=0).last
    for i in range(3):
        alone = gv.run(planner, p.select(i), seed=0).last
        for f in ("actions", "rollout", "goal_distance", "states", "gap"):
            x, y = getattr(alone, f), getattr(batch, f)
            if x is not None:
                np.testing.assert_allclose(x[0], y[i], rtol=1e-10, atol=1e-12, err_msg=f)


# -- warm start ----------------------------------------------------------------------------------
@planners
def test_warm_start_is_padded_cut_and_clipped(name):
    problem = wall_problem(B, T)
    planner = fast_planner(name)
    short = torch.tensor([[0.5, -0.25], [0.1, 0.2]]).expand(B, 2, A)  # (B, 2, A): pad by holding the last
    acts = planner.init(problem, 0, warm_start=short).actions
    assert acts.shape == (B, T, A)
    torch.testing.assert_close(acts[:, :2], short)
    torch.testing.assert_close(acts[:, 2:], short[:, 1:2].expand(B, T - 2, A))
    long = torch.linspace(-3, 3, B * (T + 4) * A).reshape(B, T + 4, A)  # cut, then clipped to [-1, 1]
    acts = planner.init(problem, 0, warm_start=long).actions
    torch.testing.assert_close(acts, long[:, :T].clamp(-1, 1))
    one = np.full((T, A), 0.3)  # (T', A): the same plan for every problem, any array type
    acts = planner.init(problem, 0, warm_start=one).actions
    torch.testing.assert_close(acts, torch.full((B, T, A), 0.3))
    h = gv.run(planner, problem, state=planner.init(problem, 0, warm_start=short), steps=2)
    np.testing.assert_array_equal(h[0].actions[:, :2], short.numpy())
    assert h.iterations == [0, 1, 2]


@planners
@pytest.mark.parametrize("shape", [(B, T, A + 1), (B + 1, T, A), (A,), (1, B, T, A)])
def test_wrong_warm_start_shape_is_refused(name, shape):
    with pytest.raises(gv.GraspvizError, match=r"warm_start must have shape \(B, T', A\)") as e:
        fast_planner(name).init(wall_problem(B, T), 0, warm_start=torch.zeros(shape))
    assert "\n" not in str(e.value)


# -- History round trip --------------------------------------------------------------------------
@planners
def test_history_save_load_round_trip_is_exact(name, tmp_path):
    h, _ = _run(name, dtype=torch.float64, seed=7, extras=tuple(EXTRAS[family(name)]))
    path = h.save(tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert "__meta__" in z.files and all(z[k].dtype != object for k in z.files)
    loaded = History.load(path)
    histories_equal(h, loaded)
    assert all(s.extras.keys() == t.extras.keys() for s, t in zip(h.snapshots, loaded.snapshots))
    assert loaded.last.extras  # extras requested -> saved
    histories_equal(h, History.load(h.to_bytes()))


@planners
def test_history_round_trip_keeps_stop_reason_and_stride(name, tmp_path):
    problem = wall_problem(B, T)
    h = gv.run(fast_planner(name), problem, seed=0, stride=2, callback=lambda s: s.iteration >= 4)
    assert h.iterations == [0, 2, 4] and h.stop_reason.message == "stopped by request at iteration 4"
    loaded = History.load(h.save(tmp_path / "x.npz"))
    histories_equal(h, loaded)
    assert loaded.meta["stride"] == 2


@planners
def test_batched_recording_matches_eager_recording(name):
    """run() evaluates recorded iterates in batches; the snapshots are those of one-by-one recording."""
    problem = wall_problem(B, T)
    eager = gv.run(fast_planner(name), problem, seed=3, batch_records=False)
    seen = []
    batched = gv.run(fast_planner(name), problem, seed=3, batch_records=True, callback=lambda s: seen.append(s.iteration))
    assert batched.iterations == eager.iterations == seen
    for a, b in zip(batched.snapshots, eager.snapshots):
        np.testing.assert_allclose(a.rollout, b.rollout, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(a.goal_distance, b.goal_distance, rtol=1e-5, atol=1e-5)
        assert a.losses.keys() == b.losses.keys() and (a.sigma, a.gamma, a.synced) == (b.sigma, b.gamma, b.synced)
        for k in a.losses:
            np.testing.assert_allclose(a.losses[k], b.losses[k], rtol=1e-4, atol=1e-5)


def test_a_batched_run_stopped_by_its_callback_keeps_what_came_before():
    h = gv.run(fast_planner("grasp"), wall_problem(B, T), batch_records=True, callback=lambda s: s.iteration == 2)
    assert h.iterations == [0, 1, 2] and h.stop_reason.message == "stopped by request at iteration 2"
    assert sorted(h.checkpoints) == [0, 2]
