"""History: access, series, exact file round trips (no pickle), atomic writes, snapshots_equal."""

from __future__ import annotations

import dataclasses
import io
import json
import os

import numpy as np
import pytest
import torch

import graspviz as gv
from graspviz.core import metrics as M
from graspviz.core.history import FORMAT, VERSION, History, snapshots_equal
from helpers import fast_planner, histories_equal, wall_problem


@pytest.fixture(scope="module")
def grasp_run():
    return gv.run(fast_planner("grasp", sigma_schedule="linear", sigma_end=0.0), wall_problem(3, 5), seed=1,
                  extras=("grad_states", "grad_actions"))


def test_access(grasp_run):
    h = grasp_run
    assert len(h) == 7 and h.iterations == list(range(7)) and h.last is h[-1]
    assert h.at(3) is h[3] and h.at(100) is h.last
    assert h.planner == "grasp" and h.world == "wall" and h.horizon == 5 and h.seed == 1
    assert h.start.shape == (3, 2) and h.meta["dtype"] == "float32" and h.meta["device"] == "cpu"
    with pytest.raises(gv.GraspvizError, match="no snapshot at or before iteration -1"):
        h.at(-1)
    with pytest.raises(gv.GraspvizError, match="this history holds no snapshots"):
        _ = History("gd", {}, 0, 3, h.start, h.goal).last


def test_series_are_means_over_problems(grasp_run):
    h = grasp_run
    np.testing.assert_allclose(h.series(M.LOSS_TOTAL), [s.losses[M.LOSS_TOTAL].mean() for s in h.snapshots], rtol=1e-6)
    np.testing.assert_allclose(h.series(M.GOAL_DISTANCE), [s.goal_distance.mean() for s in h.snapshots], rtol=1e-6)
    np.testing.assert_allclose(h.series(M.GAP_MAX), [s.gap.max() for s in h.snapshots], rtol=1e-6)
    assert h.series(M.NOISE_SIGMA)[1] == pytest.approx(0.01)
    assert len(h.series(M.TIME_STEP_MS)) == 7
    with pytest.raises(gv.GraspvizError, match=r"unknown metric 'loss/nope'; expected one of"):
        h.series("loss/nope")
    gd = gv.run(fast_planner("gd"), wall_problem(), seed=0)
    assert np.isnan(gd.series(M.GAP_MEAN)).all() and np.isnan(gd.series(M.NOISE_SIGMA)).all()


def test_file_round_trip_is_exact_and_plain(grasp_run, tmp_path):
    h = grasp_run
    path = h.save(tmp_path / "run.npz")
    assert path == str(tmp_path / "run.npz")
    histories_equal(h, History.load(path))
    histories_equal(h, History.load(h.to_bytes()))
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(bytes(z["__meta__"]).decode())
        assert meta["format"] == FORMAT and meta["version"] == VERSION
        assert all(z[k].dtype != object for k in z.files)
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left behind
    loaded = History.load(path)
    assert [sorted(s.extras) for s in loaded.snapshots] == [[]] + [["grad_actions", "grad_states"]] * 6


def test_save_overwrites_atomically(grasp_run, tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(b"old")
    grasp_run.save(path)
    histories_equal(grasp_run, History.load(path))
    with pytest.raises(gv.GraspvizError, match="missing-dir' does not exist"):
        grasp_run.save(tmp_path / "missing-dir" / "run.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_save_never_replaces_what_is_not_a_regular_file(grasp_run, tmp_path):
    """A device, a FIFO, a socket, a symlink or a folder at the target is refused (a rename would replace it);
    a name too long for the file system and a path ending in a slash too; nothing is left behind."""
    import os
    import socket
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link.npz"
    link.symlink_to("/dev/null")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    (tmp_path / "folder").mkdir()
    cases = {"/dev/null": "it is a device", str(fifo): "it is a FIFO", str(link): "it is a symlink",
             str(tmp_path / "sock"): "it is a socket", str(tmp_path / "folder"): "it is a folder",
             str(tmp_path / "new") + "/": "expected a file path", str(tmp_path / ("x" * 300 + ".npz")): "longer than"}
    before = sorted(p.name for p in tmp_path.iterdir())
    for path, why in cases.items():
        with pytest.raises(gv.GraspvizError, match=why):
            grasp_run.save(path)
    sock.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null") and fifo.is_fifo() and link.is_symlink()


def test_round_trip_of_a_run_without_checkpoints_and_with_a_custom_model(tmp_path):
    model = gv.WorldModel(lambda s, a: s + 0.1 * a, 2, 2, name="custom")
    problem = gv.Problem(model, torch.zeros(1, 2), torch.ones(1, 2), 3)
    h = gv.run(fast_planner("cem"), problem, seed=0, checkpoints=False, extras=("population",))
    assert h.checkpoints == {} and h.world is None and h.model == "custom"
    histories_equal(h, History.load(h.save(tmp_path / "c.npz")))
    with pytest.raises(gv.GraspvizError, match="custom model: pass problem= explicitly"):
        gv.replay(gv.run(fast_planner("gd"), problem), 1)
    h2 = gv.run(fast_planner("gd"), problem, seed=0)
    assert snapshots_equal(gv.replay(h2, 1, problem=problem)[1], h2[2])


def test_empty_history_round_trips():
    h = History("gd", {"steps": 1}, 0, 3, np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32))
    loaded = History.load(h.to_bytes())
    assert len(loaded) == 0 and loaded.planner == "gd"


def test_snapshots_equal_sees_every_field_but_timings(grasp_run):
    s = grasp_run[3]
    assert snapshots_equal(s, s)
    assert snapshots_equal(s, dataclasses.replace(s, wall_time=99.0, step_ms=1.0))
    changes = dict(iteration=4, actions=s.actions + 1, rollout=s.rollout * 2, goal_distance=s.goal_distance + 1,
                   losses={**s.losses, M.LOSS_TOTAL: s.losses[M.LOSS_TOTAL] + 1}, states=s.states - 1,
                   gap=s.gap + 1, sigma=0.5, gamma=0.5, synced=not s.synced, extras={})
    for name, value in changes.items():
        assert not snapshots_equal(s, dataclasses.replace(s, **{name: value})), name
    assert not snapshots_equal(s, dataclasses.replace(s, states=None))
    assert not snapshots_equal(s, dataclasses.replace(s, losses={k: v for k, v in s.losses.items() if k != M.LOSS_GOAL}))


def test_snapshot_scalar(grasp_run):
    s = grasp_run[2]
    assert s.scalar(M.LOSS_DYNAMICS) == pytest.approx(float(s.losses[M.LOSS_DYNAMICS].mean()))
    assert s.scalar(M.GAP_MEAN) == pytest.approx(float(s.gap.mean()))
    assert s.scalar(M.GOAL_WEIGHT) == s.gamma and s.scalar(M.TIME_WALL_S) == s.wall_time


def test_snapshot_make_copies_tensors():
    t = torch.ones(2, 3, 2)
    snap = gv.Snapshot.make(iteration=0, actions=t, rollout=torch.zeros(2, 4, 2), goal_distance=torch.zeros(2),
                            losses={M.LOSS_TOTAL: torch.zeros(2)})
    t.add_(1)
    assert (snap.actions == 1).all() and isinstance(snap.actions, np.ndarray) and not snap.actions.flags.writeable


def test_bytes_are_a_valid_npz(grasp_run):
    with np.load(io.BytesIO(grasp_run.to_bytes()), allow_pickle=False) as z:
        assert "snap/actions" in z.files and z["snap/actions"].shape == (7, 3, 5, 2)
        assert os.path.commonprefix([k for k in z.files if k.startswith("ckpt/")]) == "ckpt/"
