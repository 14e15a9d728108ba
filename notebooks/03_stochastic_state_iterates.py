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
# # Stochastic state iterates
#
# After every gradient step GRASP perturbs the virtual states (never the actions):
#
# $$s_t \leftarrow s_t - \eta_s \nabla_{s_t} L + \sigma_k\, \xi_t, \qquad \xi_t \sim \mathcal N(0, I).$$
#
# The noise is there to let the plan hop out of greedy local minima. To see it do that we need a world with a
# greedy minimum it cannot leave otherwise: the **trap** (`graspviz.worlds.trap.Trap`), a dot in the DotWall arena
# with a short, free-standing wall standing square across the straight line from start to goal, open above and
# below. GRASP's virtual states start on that straight line; the moves against the wall are blocked, and the goal
# term pulls them to the point of the wall nearest the goal, its middle. Going round means moving about 8 units
# sideways first, which no gradient asks for.
#
# We run GRASP twice on the same problems with the same seed and the same settings (the trap's suggested ones),
# once with the state noise and once without (`noise=False`), and judge each plan by executing its actions in
# the world's true dynamics.

# %%
import numpy as np

import graspviz as gv
from graspviz.analysis.execute import execute
from graspviz.notebook import setup
from graspviz.planners.grasp import schedule_curves
from graspviz.plotting import fig_schedules, fig_trajectories, planner_color
from graspviz.worlds.trap import Trap

env = setup(seed=0)

# %% [markdown]
# The noise schedule: $\sigma$ starts at twice the states' step size and falls linearly to 0, so the plan explores
# early and settles late (the goal weight $\gamma$ stays constant; the triangles mark the syncs).

# %%
world = Trap()
n, steps = env.steps(64, 32), 300
cfg = {noise: world.config_for("grasp", steps=steps, noise=noise) for noise in (True, False)}
c = schedule_curves(cfg[True])
fig_schedules(c["sigmas"], c["gammas"], c["sync_iterations"])

# %% [markdown]
# **What to see:** $\sigma_k$ is a straight ramp from 1.0 down to 0 at the last iteration; the run with
# `noise=False` uses the same settings with $\sigma_k = 0$ throughout.

# %%
problem = world.sample_problems(n, seed=0, device=env.device)
runs, rate, dist = {}, {}, {}
for noise in (True, False):
    runs[noise] = gv.run(gv.make_planner("grasp", cfg[noise]), problem, seed=0, stride=10, checkpoints=False)
    e = execute(world, problem, runs[noise].last.actions)
    rate[noise], dist[noise] = float(e.success.mean()), e.final_distance
    print(f"noise={noise!s:<5}  success={rate[noise]:.3f}  median final distance={np.median(e.final_distance):.2f}")
rate_noise, rate_no_noise = rate[True], rate[False]

# %% [markdown]
# The executed trajectories of the final plans on four problems (solid: with noise, dashed: without), and the final
# virtual states (dotted).

# %%
LABEL = {True: "with noise", False: "noise=False"}
COLOR = {True: planner_color("grasp"), False: planner_color("grasp-no-noise")}
true = {noise: execute(world, problem, h.last.actions).true for noise, h in runs.items()}
start, goal = world.true_endpoints(problem)


def virtual_path(snap, b):
    """Problem b's plan as GRASP holds it: the start, the virtual states s_1..s_{T-1}, the goal."""
    return np.concatenate([start[b][None], np.asarray(snap.states)[b], goal[b][None]])


panels = []
for b in range(4):
    paths = []
    for noise in (True, False):
        paths.append(dict(name=f"{LABEL[noise]}: executed", xy=true[noise][b], color=COLOR[noise],
                          dash="solid" if noise else "dash"))
        paths.append(dict(name=f"{LABEL[noise]}: virtual states", xy=virtual_path(runs[noise].last, b),
                          color=COLOR[noise], dash="dot", width=1, markers=True, opacity=0.6))
    panels.append(dict(title=f"problem {b}: ends {dist[True][b]:.1f} from the goal with noise, "
                             f"{dist[False][b]:.1f} without", paths=paths, start=start[b], goal=goal[b]))
fig_trajectories(panels, world.layout(), cols=2, title="final plans, executed in the true dynamics")

# %% [markdown]
# **What to see:** the dashed (deterministic) trajectories run straight into the middle of the wall and stop there,
# about 20 from the goal. Their virtual states (pink dots) still run through the wall to the goal: the plan holds a
# path the dynamics cannot execute, and the consistency gap where it crosses the wall never closes. Where the solid
# (noisy) trajectory goes round one end of the wall and reaches the star, the noise has carried the plan out of the
# trap. Not every noisy run escapes: some turn too late or not at all.
#
# How the plans got there: the virtual states of problem 0 at the start (the straight line), a third of the way
# through and at the end.

# %%
ITERS = (0, steps // 3, steps)
panels = []
for noise in (True, False):
    paths = [dict(name=f"virtual states at k={k}", xy=virtual_path(runs[noise].at(k), 0),
                  color="#999999" if k == 0 else COLOR[noise], dash="dot" if k == 0 else "solid",
                  width=1.5, markers=True, opacity=1.0 if k == steps else 0.45) for k in ITERS]
    panels.append(dict(title=LABEL[noise], paths=paths, start=start[0], goal=goal[0]))
fig_trajectories(panels, world.layout(), title="problem 0: the virtual states over the run")

# %% [markdown]
# **What to see:** without noise the states stay close to the straight line through the wall at every iteration:
# nothing in the gradients points them round it. With noise the early, large kicks scatter the states above and
# below the line, those that land beyond one end of the wall pull their neighbours after them, and as $\sigma$ falls
# the chain settles on a route round that end, one the dynamics can execute.

# %% [markdown]
# ## Checks
#
# The notebook fails if the noise stops doing its job: the noisy runs must beat the deterministic ones by a clear
# margin, and the deterministic runs must really be stuck at the wall (judged in the true dynamics).

# %%
MARGIN = 0.25
stuck = float(np.median(dist[False]))
print(f"success with noise {rate_noise:.3f}, without {rate_no_noise:.3f}; "
      f"median final distance without noise {stuck:.2f}")
assert rate_noise >= rate_no_noise + MARGIN, rate
assert rate_no_noise <= 0.1 and stuck > 12.0, (rate_no_noise, stuck)
