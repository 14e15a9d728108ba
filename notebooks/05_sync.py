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
# # The periodic sync
#
# GRASP's minimisers are only approximately feasible: the virtual states need not match the rollout.
# The *consistency gap* at step $t$ is $\|F(s_t, a_t) - s_{t+1}\|$. Every $K_{\text{sync}}$ iterations GRASP takes
# $J_{\text{sync}}$ steps on the true rollout loss $\|F^T(s_0, a) - g\|^2$ with respect to the actions only,
# which pulls the plan back to something the model can actually execute.

# %%
import graspviz as gv
from graspviz.analysis.execute import execute
from graspviz.notebook import setup
from graspviz.plotting import fig_gap, fig_losses

env = setup(seed=0)

# %%
world = gv.get_world("wall")
n, steps = env.steps(32, 16), env.steps(300, 150)
problem = world.sample_problems(n, horizon=40, seed=0, device=env.device)

runs = {}
for sync in (True, False):
    cfg = world.config_for("grasp", steps=steps, sync=sync)
    runs[sync] = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=1, checkpoints=False)

# %% [markdown]
# The gap over iteration and time step, with the sync on (mean over problems):

# %%
fig_gap(runs[True])

# %% [markdown]
# Loss terms and rollout goal distance, both runs overlaid; the triangles mark sync events.

# %%
fig_losses([("sync on", runs[True]), ("sync off", runs[False])])

# %%
rate = {}
for sync, h in runs.items():
    rate[sync] = float(execute(world, problem, h.last.actions).success.mean())
print(f"success with sync: {rate[True]:.3f}   without: {rate[False]:.3f}")

# %%
assert rate[True] >= rate[False], rate
assert any(s.synced for s in runs[True].snapshots) and not any(s.synced for s in runs[False].snapshots)
