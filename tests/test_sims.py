"""Simulator worlds: reset to a start, simulate, success test, rendering, registry."""

import numpy as np
import pytest


from graspviz.core.errors import GraspvizError
from graspviz.worlds import WORLDS, get_world


@pytest.fixture(scope="module")
def pointmaze():
    return get_world("pointmaze")


@pytest.fixture(scope="module")
def pusht():
    return get_world("pusht")


def test_registered():
    assert {"pointmaze", "pusht", "wall_pixels"} <= set(WORLDS)


def test_pointmaze_reset_simulate_success(pointmaze):
    start = np.array([[-1.0, -1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    traj = pointmaze.simulate(start, np.zeros((2, 3, 2)))
    assert traj.shape == (2, 4, 4)
    np.testing.assert_allclose(traj[:, 0], start, atol=1e-9)  # the start is set exactly
    np.testing.assert_allclose(traj[:, -1, :2], start[:, :2], atol=1e-3)  # no force: stays
    push = pointmaze.simulate(start[:1], np.ones((1, 3, 2)))
    assert (push[0, -1, :2] > start[0, :2]).all()  # pushed up and right
    again = pointmaze.simulate(start[:1], np.ones((1, 3, 2)))
    np.testing.assert_allclose(push, again)  # deterministic
    assert pointmaze.is_success(start[0], start[0] + [0.3, 0, 0, 0])
    assert not pointmaze.is_success(start[0], start[0] + [0.6, 0, 0, 0])


def test_pointmaze_feasible_goals_and_render(pointmaze):
    s, g = pointmaze.sample_pairs(3, 5, np.random.default_rng(0))
    s2, g2 = pointmaze.sample_pairs(3, 5, np.random.default_rng(0))
    np.testing.assert_allclose(g, g2)
    assert s.shape == g.shape == (3, 4)
    img = pointmaze.render(s[0])
    assert img.shape[2] == 3 and img.dtype == np.uint8
    assert len(pointmaze.layout()["walls"]) == 25 - 7  # U-maze: 7 free cells


def test_pusht_reset_simulate_success(pusht):
    start = np.array([[100.0, 100.0, 300.0, 300.0, 0.5]])
    traj = pusht.simulate(start, np.tile([[150.0, 100.0]], (1, 4, 1)))
    assert traj.shape == (1, 5, 5)
    np.testing.assert_allclose(traj[0, 0], start[0], atol=1e-6)
    assert traj[0, -1, 0] > 120  # the agent follows its target
    np.testing.assert_allclose(traj[0, -1, 2:], start[0, 2:], atol=1e-6)  # block untouched
    g = start[0] + [5, 0, 5, 0, 0.1]
    assert pusht.is_success(start[0], g)
    assert not pusht.is_success(start[0], start[0] + [0, 0, 0, 0, 1.0])  # angle error too big
    assert not pusht.is_success(start[0], start[0] + [30, 0, 0, 0, 0])
    img = pusht.render(start[0])
    assert img.ndim == 3 and img.dtype == np.uint8


def test_bad_shapes(pointmaze):
    with pytest.raises(GraspvizError):
        pointmaze.simulate(np.zeros((2, 3)), np.zeros((2, 1, 2)))
    with pytest.raises(GraspvizError):
        pointmaze.simulate(np.zeros((2, 4)), np.zeros((3, 1, 2)))


def test_wall_pixels_render_and_simulate():
    from graspviz.worlds.sims.wall_pixels import render_batch
    w = get_world("wall_pixels")
    img = render_batch([[20.0, 40.0]])[0]
    assert img.shape == (64, 64)
    assert np.unravel_index(img.argmax(), img.shape) in {(39, 19), (40, 20), (39, 20), (40, 19)}
    traj = w.simulate(np.array([[20.0, 40.0]]), np.ones((1, 10, 2)) * [1, 0])
    assert traj.shape == (1, 11, 2)
    assert traj[0, -1, 0] < 30.5  # blocked by the wall (y = 40 is outside the door)
    assert w.is_success(traj[0, -1], traj[0, -1] + [3, 0])


@pytest.mark.parametrize("name", ["pointmaze", "pusht"])
def test_two_threads_can_simulate_on_one_world(name):
    """The explorer's worker thread and a scrub may judge plans on the same world at once: each gets the rollout
    it would get alone (one stateful environment per world, used one call at a time)."""
    import threading

    w = get_world(name)
    rng = np.random.default_rng(0)
    jobs = []
    for k in range(4):
        p = w.sample_problems(6, horizon=8, seed=k)
        start, _ = w.true_endpoints(p)
        acts = rng.uniform(-1, 1, (6, 8, w.action_dim)) * (1 if name == "pointmaze" else 100) + \
            (0 if name == "pointmaze" else start[:, None, :2])
        jobs.append((start, acts, w.simulate(start, acts)))
    got = [None] * len(jobs)

    def work(i):
        for _ in range(3):
            got[i] = w.simulate(jobs[i][0], jobs[i][1])
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (_, _, alone), together in zip(jobs, got):
        np.testing.assert_allclose(together, alone)
