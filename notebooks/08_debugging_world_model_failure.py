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
# - **the optimiser failed**: the planner did not solve the problem *on the model* (the model's own rollout
#   $F^T(s_0, a)$ misses $g$). More steps, other settings or another planner may fix it.
# - **the model lied**: the planner solved the model's problem (the model's rollout reaches the goal), but the
#   model is wrong: the true rollout of the same actions, in the simulator, does not. Only a better model (or
#   replanning, MPC) fixes it.
#
# The test is mechanical: did the model rollout succeed? did the true rollout succeed? and if they disagree,
# *when* do they diverge? `graspviz.analysis.diagnose` answers all three, once, for the app (its verdict pane and
# "Where the model lies" tab), the CLI (`graspviz execute`) and this notebook. First on a model that is wrong on
# purpose (so we know the answer), then on a trained model of a MuJoCo simulator.
#
# ## A wall model with the door in the wrong place
#
# The "simulator" is the exact wall world. The "world model" is the same dynamics with the door shifted
# up by 14 units. Plans made on it will happily go through a door that is not there.

# %%
import numpy as np

import graspviz as gv
from graspviz.analysis.diagnose import VERDICTS, diagnose
from graspviz.notebook import setup
from graspviz.plotting import fig_model_error, fig_plan
from graspviz.plotting.theme import empty_figure
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
# `diagnose(world, history)` executes the last plan of every problem in the simulator (one call for the batch)
# and judges, by the world's own rule, both the true final state and the model's own rollout. Its `kinds` are the
# verdicts (`success`, `sim_only`, `model_lied`, `optimiser_failed`); `model_error` (B, T+1) is the per-step
# distance between the model's rollout and the true one, and `first_lie` (B,) the first step where it reaches
# the world's success threshold (-1: never): where the model starts to lie. `lines()` is what
# `graspviz execute` prints.

# %%
d = diagnose(wall, history)
print("\n".join(d.lines()))
print({kind: d.count(kind) for kind in VERDICTS})

# %%
fig_model_error(d.model_error, d.first_lie, d.rule.threshold, d.iteration, unit=d.rule.unit,
                kinds=[d.verdict(b) for b in range(d.batch)])

# %% [markdown]
# One problem where the model lied, in the plan view: the virtual states and the model rollout pass through the
# fake door (higher up); the true rollout (executed in the simulator) stops at the wall face.

# %%
start, goal = wall.true_endpoints(problem)                         # (B, 2) each
b = d.kinds.index("model_lied")
layout = wall.layout()
layout["walls"] = layout["walls"] + [[30.5, 40.0, 33.5, 48.0]]   # draw the model's door region as well
fig = fig_plan(history.last, layout, b=b, start=start, goal=goal, true_rollout=d.true_rollout,
               title=f"problem {b}: {d.verdict(b)}; the model's door (y 40-48) is not the real one (y 26-34)")
fig

# %% [markdown]
# The first step over the threshold is where the dot reaches the wall: one rollout passes through a door the
# other does not have (the true dot is blocked at the model's door, or slips through the real door where the model
# sees a wall). Where the optimiser failed the model rollout itself misses the goal: look at the loss curves and
# the consistency gap instead (notebook 05), or run the same problem with more steps or other settings.
#
# ## A trained model of a MuJoCo simulator
#
# `pointmaze` plans on a small MLP trained on transitions of gymnasium-robotics' `PointMaze_UMaze-v3`
# (issue 4); `world.simulate` runs MuJoCo. The same verdicts apply, and the model error grows with
# the time step as one-step errors compound.

# %%
try:
    pm = gv.get_world("pointmaze")
    pm_problem = pm.sample_problems(8, seed=0, device=env.device)
    pm_hist = gv.run(gv.make_planner("grasp", pm.config_for("grasp", steps=env.steps(300, 30))),
                     pm_problem, seed=0, stride=20, checkpoints=False)
    pd = diagnose(pm, pm_hist)
    print("\n".join(pd.lines()))
    print("per-step model error, mean over problems:", np.round(pd.model_error.mean(0), 3))
except gv.GraspvizError as e:   # no trained model / simulator on this machine
    print("pointmaze not available:", e)
    pd = None

# %%
if pd is not None:
    fig = fig_model_error(pd.model_error, pd.first_lie, pd.rule.threshold, pd.iteration, unit=pd.rule.unit,
                          kinds=[pd.verdict(b) for b in range(pd.batch)],
                          title="pointmaze: |learned model rollout - MuJoCo rollout| per time step")
else:
    fig = empty_figure("pointmaze is not available here", "pointmaze")
fig

# %% [markdown]
# The story, checked: each verdict agrees with the rollouts judged here by the world's rule; the shifted door makes
# the model lie, from the same start, first at a step where the true dot is at the wall; and the learned
# pointmaze model's error grows along the horizon.

# %%
def check_verdicts(world, prob, hist, diag):
    """Each kind agrees with the two rollouts judged by the world's rule; first_lie is the first step over it."""
    _, g = world.true_endpoints(prob)
    model_ok = world.judge(world.to_true(np.asarray(hist.last.rollout, dtype=np.float64))[:, -1], g)[0]
    true_ok = world.judge(diag.true_rollout[:, -1], g)[0]
    for b, kind in enumerate(diag.kinds):
        expected = ("success" if model_ok[b] else "sim_only") if true_ok[b] else \
            ("model_lied" if model_ok[b] else "optimiser_failed")
        assert kind == expected, (b, kind, expected)
        over = np.flatnonzero(diag.model_error[b] >= diag.rule.threshold)
        assert diag.first_lie[b] == (over[0] if over.size else -1), (b, diag.first_lie[b], over)

check_verdicts(wall, problem, history, d)
lied = [b for b, kind in enumerate(d.kinds) if kind == "model_lied"]
assert len(lied) >= 3, d.kinds                                     # the wrong door makes the model lie
assert all(d.model_error[b, 0] == 0 and d.first_lie[b] > 0 for b in lied)    # same start, divergence later
# the lie happens at the wall (x in [30.5, 33.5]): one rollout passes a door the other does not have
assert all(29.5 <= d.true_rollout[b, d.first_lie[b], 0] <= 34.5 for b in lied), \
    [d.true_rollout[b, d.first_lie[b]] for b in lied]
if pd is not None:
    check_verdicts(pm, pm_problem, pm_hist, pd)
    mean_err = pd.model_error.mean(0)
    assert np.isfinite(pd.model_error).all() and pd.model_error[:, 0].max() < 1e-6
    assert mean_err[-1] > 5 * mean_err[1] > 0, mean_err               # one-step errors compound
