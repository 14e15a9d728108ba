# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # World models and planning by shooting
#
# A **world model** is a function $F(s, a) \to s'$: given the current (latent) state $s$ and an action $a$ it
# predicts the next state. In graspviz it is any batched, differentiable `step(s, a)` (an `nn.Module` or a
# callable), wrapped once in `graspviz.WorldModel`, which checks shapes, dtype and device up front.
#
# A **planning problem** is a start $s_0$, a goal $g$ and a horizon $T$. The actions come from a
# *planner*: it searches for $a_0..a_{T-1}$ whose rollout $s_{t+1} = F(s_t, a_t)$ ends at $g$. The classic
# way is **shooting**: treat the actions as the only variables and minimise the terminal error of the full
# rollout,
#
# $$\ell(a) = \|F^T(s_0, a) - g\|^2, \qquad F^T(s_0, a) = F(\cdots F(F(s_0, a_0), a_1) \cdots, a_{T-1}).$$
#
# Two ways to minimise it: **GD** (gradient descent through the whole rollout) and **CEM** (sample action
# sequences, keep the best, refit a Gaussian; no gradients). This notebook runs both on two analytic worlds
# whose model *is* the true dynamics: `point_mass` (linear, smooth) and `wall` (a wall with a door).

# %%
import numpy as np
import torch

import graspviz as gv
from graspviz.analysis.execute import execute
from graspviz.notebook import setup
from graspviz.plotting import fig_plan

env = setup(seed=0)

# %%
for name in ("point_mass", "wall"):
    w = gv.get_world(name)
    print(f"{name:11s} S={w.state_dim} A={w.action_dim} T={w.default_horizon:3d}  {w.description}")

# %% [markdown]
# ## The model is just a function
#
# One step of the `wall` model moves the dot by $2a$ and stops it at the wall face. `predict` evaluates a
# whole batch of $(s_t, a_t)$ pairs in one call; `rollout` applies the model $T$ times in sequence.

# %%
wall = gv.get_world("wall")
model = wall.model(device=env.device)
print(model)
s = torch.tensor([[20.0, 10.0]], device=env.device)
print("one step right:      ", model.step(s, torch.tensor([[1.0, 0.0]], device=env.device)).tolist())
print("ten steps right:     ", model.rollout(s, torch.ones(1, 10, 2, device=env.device) * torch.tensor([1.0, 0.0], device=env.device))[0, -1].tolist(),
      "(stopped at the wall, x = 30.5)")


# %% [markdown]
# ## Shooting on `point_mass` and `wall`
#
# Each planner gets the world's suggested settings (`world.config_for(planner)`), the same 8 problems and
# the same seed. A plan is judged **open loop**: all $T$ actions run in the true dynamics (`world.simulate`,
# through `graspviz.analysis.execute.execute`) and the final position must be within the world's success
# threshold of the goal.

# %%
def solve(world_name, planner, n=8, horizon=None):
    w = gv.get_world(world_name)
    problem = w.sample_problems(n, horizon=horizon or w.default_horizon, seed=0, device=env.device)
    steps = {"gd": env.steps(300, 150), "cem": None}[planner]
    cfg = w.config_for(planner, **({"steps": steps} if steps else {}))
    h = gv.run(gv.make_planner(planner, cfg), problem, seed=0, stride=max(1, cfg.steps // 20), checkpoints=False)
    start, goal = w.true_endpoints(problem)
    ex = execute(w, problem, h.last.actions)
    return dict(history=h, true=ex.true, start=start, goal=goal, success=float(ex.success.mean()),
                distance=float(np.median(ex.final_distance)))

results = {(wn, p): solve(wn, p) for wn in ("point_mass", "wall") for p in ("gd", "cem")}
for (wn, p), r in results.items():
    print(f"{wn:11s} {p:4s} success {r['success']:.2f}   median final distance {r['distance']:.3g}")

# %% [markdown]
# On `point_mass` both planners reach every goal: the loss is a smooth quadratic in the actions. On `wall`
# the straight line to the goal runs into the wall. GD follows the gradient of the terminal error, which
# points straight at the goal, and pushes the dot against the wall: a greedy local minimum. CEM samples
# whole action sequences and keeps those that end closest to the goal, so some samples find the door.

# %%
r = results[("wall", "gd")]
fig_plan(r["history"].last, wall.layout(), b=0, start=r["start"], goal=r["goal"], true_rollout=r["true"],
         title="wall, GD shooting: stuck at the wall", planner="gd")

# %%
r = results[("wall", "cem")]
ok = wall.is_success(r["true"][:, -1], r["goal"])
b = int(np.argmax(ok))
fig_plan(r["history"].last, wall.layout(), b=b, start=r["start"], goal=r["goal"], true_rollout=r["true"],
         title=f"wall, CEM: problem {b} goes through the door", planner="cem")

# %% [markdown]
# The next notebooks look at *why* gradient shooting struggles as the horizon grows (02) and how GRASP's
# lifted, stochastic formulation gets around the wall while keeping gradients (03-05).

# %%
assert results[("point_mass", "gd")]["success"] >= 0.75 and results[("point_mass", "cem")]["success"] >= 0.75
assert results[("wall", "gd")]["success"] <= 0.25, results[("wall", "gd")]["success"]   # measured 0.0
assert results[("wall", "cem")]["success"] > results[("wall", "gd")]["success"]          # measured 0.75 vs 0.0
