"""Landscape slices: batched grid values equal point-wise evaluation; directions are orthonormal."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import graspviz as gv
from graspviz.core.errors import GraspvizError
from graspviz.analysis.landscape import landscape
from graspviz.planners.grasp import grasp_terms, shooting_loss

WORLD = gv.get_world("wall")


@pytest.fixture(scope="module")
def setup():
    problem = WORLD.sample_problems(2, seed=1, dtype=torch.float64)
    hist = gv.run(gv.make_planner("grasp", gv.planner_config("grasp", "wall", steps=12, sync_every=6)), problem, seed=0)
    return problem, hist


@pytest.mark.parametrize("directions", ["pca", "gradient"])
def test_batched_equals_pointwise(setup, directions):
    problem, hist = setup
    b = 1
    r = landscape(problem, hist, iteration=6, directions=directions, resolution=5, b=b)
    snap = hist.at(6)
    T = problem.horizon
    a0 = snap.actions[b].ravel().astype(np.float64)
    z0 = np.concatenate([a0, snap.states[b].ravel()])
    s0, g = problem.start[b:b + 1], problem.goal[b:b + 1]
    for i, j in ((0, 0), (2, 2), (4, 1), (1, 3)):
        al, be = r["alphas"][i], r["betas"][j]
        da = r["vectors"]["shooting"]
        a = torch.tensor(a0 + al * da[0] + be * da[1]).reshape(1, T, 2)
        with torch.no_grad():
            want = float(shooting_loss(problem.model, s0, a, g)[0])
        assert r["shooting"][j, i] == pytest.approx(want, rel=1e-9, abs=1e-9)
        dz = r["vectors"]["lifted"]
        z = z0 + al * dz[0] + be * dz[1]
        a = torch.tensor(z[:T * 2]).reshape(1, T, 2)
        x = torch.tensor(z[T * 2:]).reshape(1, T - 1, 2)
        with torch.no_grad():
            d, gl, _, _ = grasp_terms(problem.model, s0, x, a, g, True)
        assert r["lifted"][j, i] == pytest.approx(float(d[0] + r["gamma"] * gl[0]), rel=1e-9, abs=1e-9)
    # centre of an odd grid is the iterate itself
    assert r["shooting"][2, 2] == pytest.approx(r["current"]["shooting"], rel=1e-9)
    assert r["lifted"][2, 2] == pytest.approx(r["current"]["lifted"], rel=1e-9)


def test_directions_orthonormal_and_path(setup):
    problem, hist = setup
    r = landscape(problem, hist, resolution=3)
    for key in ("shooting", "lifted"):
        v = r["vectors"][key]
        np.testing.assert_allclose(v @ v.T, np.eye(2), atol=1e-9)
        assert r[f"path_{key}"].shape == (len(hist), 2)
        np.testing.assert_allclose(r[f"path_{key}"][-1], 0.0, atol=1e-9)  # the last iterate is the centre
    assert r["shooting"].shape == r["lifted"].shape == (3, 3)
    assert "PC1" in r["directions"]["lifted"][0]


def test_chunking_does_not_change_values(setup):
    problem, hist = setup
    a = landscape(problem, hist, resolution=6, chunk=7)
    b = landscape(problem, hist, resolution=6)
    np.testing.assert_allclose(a["lifted"], b["lifted"])
    np.testing.assert_allclose(a["shooting"], b["shooting"])


def test_shooting_planner_uses_rollout_states(setup):
    problem, _ = setup
    hist = gv.run(gv.make_planner("gd", gv.planner_config("gd", "wall", steps=5)), problem, seed=0)
    r = landscape(problem, hist, resolution=3)
    assert r["lifted_states_from"] == "model rollout"
    # on the model's own rollout only the last step (s_T = g fixed) is inconsistent: dynamics = shooting loss
    assert r["lifted_dynamics"][1, 1] == pytest.approx(r["current"]["shooting"], rel=1e-9)


def test_bad_arguments(setup):
    problem, hist = setup
    with pytest.raises(GraspvizError):
        landscape(problem, hist, directions="random")
    with pytest.raises(GraspvizError):
        landscape(problem, hist, resolution=1)
    with pytest.raises(GraspvizError):
        landscape(problem, hist, b=5)
