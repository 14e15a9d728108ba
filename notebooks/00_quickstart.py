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
# # Quickstart: GRASP on the wall world
#
# A 2-D dot must reach a goal on the other side of a wall, through a door. The straight line to the goal
# hits the wall, so a greedy planner gets stuck. GRASP plans over actions $a_0..a_{T-1}$ **and** virtual
# states $s_1..s_{T-1}$ and minimises
#
# $$L(s, a) = \sum_t \|F(\bar s_t, a_t) - s_{t+1}\|^2 + \gamma \sum_t \|F(\bar s_t, a_t) - g\|^2, \qquad \bar s_t = \text{stopgrad}(s_t),$$
#
# adds Gaussian noise to the states after each step and, every few iterations, refines the actions on the
# true rollout loss (the *sync*). Here we run it on 16 problems with horizon 40.

# %%
import numpy as np
from ipywidgets import IntSlider, interact

import graspviz as gv
from graspviz.analysis.execute import execute
from graspviz.notebook import setup
from graspviz.plotting import fig_plan

env = setup(seed=0)

# %%
world = gv.get_world("wall")
problem = world.sample_problems(16, horizon=40, seed=0, device=env.device)
steps = env.steps(300, 200)
planner = gv.make_planner("grasp", world.config_for("grasp", steps=steps))
history = gv.run(planner, problem, seed=0, stride=10)
print(len(history), "snapshots, iterations", history.iterations[:3], "...", history.iterations[-1])

# %% [markdown]
# The plan view shows the virtual states (dotted), the model rollout of the current actions (solid) and
# the wall. At iteration 0 the virtual states sit on the straight line from start to goal, through the
# wall. We look at the first problem whose final plan succeeds (problem `b` below); not every one does.

# %%
layout = world.layout()
start, goal = world.true_endpoints(problem)
final = execute(world, problem, history.last.actions)
final_ok = final.success
b = int(np.argmax(final_ok)) if final_ok.any() else 0
print("problem", b)
fig_plan(history.at(0), layout, b=b, start=start, goal=goal)

# %%
fig_plan(history.last, layout, b=b, start=start, goal=goal, true_rollout=final.true)

# %% [markdown]
# Scrub through the recorded iterations with a slider (needs a live kernel; in a static render only the
# first frame shows).

# %%
def show(i=0, b=0):
    return fig_plan(history[i], layout, b=b, start=start, goal=goal)

scrubber = interact(show, i=IntSlider(min=0, max=len(history) - 1, step=1, value=len(history) - 1),
                    b=IntSlider(min=0, max=problem.batch - 1, step=1, value=b))

# %% [markdown]
# Planning is open loop: `graspviz.analysis.execute.execute` runs all $T$ actions of the final plan in the
# world's simulator (`world.simulate`) and judges success on the true final state. Then we do the same with
# plain gradient descent on the shooting loss $\|F^T(s_0, a) - g\|^2$ (the GD baseline).

# %%
def successes(hist):
    return int(execute(world, problem, hist.last.actions).success.sum())

grasp_ok = successes(history)
gd = gv.run(gv.make_planner("gd", world.config_for("gd", steps=steps)), problem, seed=0,
            stride=max(1, steps // 10), checkpoints=False)
gd_ok = successes(gd)
print(f"GRASP: {grasp_ok}/{problem.batch}   GD: {gd_ok}/{problem.batch}")

# %%
assert grasp_ok >= 0.35 * problem.batch, grasp_ok  # measured 10/16 (full) on CPU; GD 0/16
assert gd_ok < grasp_ok, (gd_ok, grasp_ok)
