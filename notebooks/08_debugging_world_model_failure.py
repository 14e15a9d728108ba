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
# # Debugging a world-model failure
#
# A plan fails in the real world. Two very different things can be wrong:
#
# - **optimiser failure**: the planner did not solve the problem *on the model* (the model's own rollout
#   $F^T(s_0, a)$ does not reach $g$). More steps, other settings or another planner may fix it.
# - **model error**: the planner solved the model's problem, but the model is wrong: the true rollout of the
#   same actions diverges from the model's rollout. Only a better model (or replanning, MPC) fixes it.
#
# The test is mechanical: did the model rollout succeed? did the true rollout succeed? and if they disagree,
# *when* do they diverge? First on a model that is wrong on purpose (so we know the answer), then on a
# trained model of a MuJoCo simulator.
#
# ## A wall model with the door in the wrong place
#
# The "simulator" is the exact wall world. The "world model" is the same dynamics with the door shifted
# up by 14 units. Plans made on it will happily go through a door that is not there.

# %%
import numpy as np
import plotly.graph_objects as go

import graspviz as gv
from graspviz.analysis.execute import execute, model_error
from graspviz.notebook import setup
from graspviz.plotting import fig_plan
from graspviz.worlds.analytic import WallDynamics

env = setup(seed=0)

# %%
class ShiftedDoor(WallDynamics):
    door_lo, door_hi = 40.0, 48.0   # the true door spans y in [26, 34]

wall = gv.get_world("wall")
wrong = gv.WorldModel(ShiftedDoor(), 2, 2, action_low=-1.0, action_high=1.0, name="wall model, door shifted")
true_problem = wall.sample_problems(16, horizon=40, seed=0, device=env.device)
problem = gv.Problem(wrong.to(env.device), true_problem.start, true_problem.goal, 40, world="wall")
cfg = wall.config_for("grasp", steps=env.steps(300, 200))
history = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=10, checkpoints=False)

# %% [markdown]
# `graspviz.analysis.execute.model_error` executes the plan in the simulator and returns the per-step distance
# between the model's rollout and the true rollout, shape (B, T+1). The first step where it exceeds a
# tolerance is where the model starts to lie.

# %%
start, goal = wall.true_endpoints(problem)                         # (B, 2) each
err = model_error(wall, history)                                   # (B, T+1)
true = execute(wall, problem, history.last.actions).true           # (B, T+1, 2)
model_roll = wall.to_true(history.last.rollout)                    # (B, T+1, 2)
model_ok = wall.is_success(model_roll[:, -1], goal)
true_ok = wall.is_success(true[:, -1], goal)
TOL = 1.0
diverge = np.array([int(np.argmax(e > TOL)) if (e > TOL).any() else -1 for e in err])

def verdict(m_ok, t_ok):
    return "success" if (m_ok and t_ok) else "model error" if m_ok else "optimiser failure"

verdicts = [verdict(m, t) for m, t in zip(model_ok, true_ok)]
for b in range(len(verdicts)):
    print(f"problem {b:2d}: model says {'reached' if model_ok[b] else 'missed '}  simulator says "
          f"{'reached' if true_ok[b] else 'missed '}  diverges at t={diverge[b]:3d}  -> {verdicts[b]}")

# %%
fig = go.Figure(go.Heatmap(z=err, colorscale="Reds", colorbar=dict(title="|model - true|")))
fig.update_layout(title="where the model lies: distance between model rollout and true rollout",
                  xaxis_title="time step t", yaxis_title="problem b", height=420)
fig

# %% [markdown]
# One "model error" problem in the plan view: the virtual states and the model rollout pass through the
# fake door (higher up); the true rollout (executed in the simulator) stops at the wall face.

# %%
b = verdicts.index("model error")
layout = wall.layout()
layout["walls"] = layout["walls"] + [[30.5, 40.0, 33.5, 48.0]]   # draw the model's door region as well
fig = fig_plan(history.last, layout, b=b, start=start, goal=goal, true_rollout=true,
               title=f"problem {b}: the model's door (y 40-48) is not the real one (y 26-34)")
fig

# %% [markdown]
# The divergence step is where the dot reaches the wall: one rollout passes through a door the other
# does not have (the true dot is blocked at the model's door, or slips through the real door where the model
# sees a wall). For an optimiser failure the model rollout
# itself misses the goal: look at the loss curves and the consistency gap instead (notebook 05), or run the
# same problem with more steps or other settings.
#
# ## A trained model of a MuJoCo simulator
#
# `pointmaze` plans on a small MLP trained on transitions of gymnasium-robotics' `PointMaze_UMaze-v3`
# (issue 4); `world.simulate` runs MuJoCo. The same three-way test applies, and the model error grows with
# the time step as one-step errors compound.

# %%
try:
    pm = gv.get_world("pointmaze")
    pm_problem = pm.sample_problems(8, seed=0, device=env.device)
    pm_hist = gv.run(gv.make_planner("grasp", pm.config_for("grasp", steps=env.steps(300, 100))),
                     pm_problem, seed=0, stride=20, checkpoints=False)
    pm_err = model_error(pm, pm_hist)
    pm_true_ok = execute(pm, pm_problem, pm_hist.last.actions).success
    _, pm_goal = pm.true_endpoints(pm_problem)
    pm_model_ok = pm.is_success(pm.to_true(pm_hist.last.rollout[:, -1]), pm_goal)
    pm_verdicts = [verdict(m, t) for m, t in zip(pm_model_ok, pm_true_ok)]
    print("per-step model error, mean over problems:", np.round(pm_err.mean(0), 3))
    print({v: pm_verdicts.count(v) for v in ("success", "model error", "optimiser failure")})
except gv.GraspvizError as e:   # no trained model / simulator on this machine
    print("pointmaze not available:", e)
    pm_err = None

# %%
fig = go.Figure()
if pm_err is not None:
    for b in range(pm_err.shape[0]):
        fig.add_trace(go.Scatter(y=pm_err[b], mode="lines", name=f"{b}: {pm_verdicts[b]}"))
    fig.update_layout(title="pointmaze: |learned model rollout - MuJoCo rollout| per time step",
                      xaxis_title="t", yaxis_title="position error")
fig

# %%
assert "model error" in verdicts, verdicts
me = [b for b, v in enumerate(verdicts) if v == "model error"]
assert all(err[b, 0] == 0 and diverge[b] > 0 for b in me)     # same start, divergence later
# the lie happens at the wall (x in [30.5, 33.5]): one rollout passes a door the other does not have
assert all(29.5 <= true[b, diverge[b], 0] <= 34.5 for b in me)
if pm_err is not None:
    assert np.isfinite(pm_err).all() and pm_err[:, 0].max() < 1e-6
