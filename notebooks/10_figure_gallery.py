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
# # Figure gallery
#
# Every public `fig_*` builder in `graspviz.plotting`, called on one fixed GRASP run on the wall world.
# The builders are pure: History / Snapshot / plain dicts in, a Plotly figure out.

# %%
import inspect

import plotly.graph_objects as go

import graspviz as gv
import graspviz.plotting as gp
from graspviz.analysis.execute import execute
from graspviz.analysis.landscape import landscape
from graspviz.analysis.adversarial import adversarial
from graspviz.analysis.diagnose import diagnose
from graspviz.analysis.race import race
from graspviz.analysis.sweep import axis, sweep
from graspviz.core.config import knobs
from graspviz.notebook import setup
from graspviz.planners.grasp import schedule_curves

env = setup(seed=0)

# %%
world = gv.get_world("wall")
problem = world.sample_problems(4, horizon=40, seed=0, device=env.device)
cfg = world.config_for("grasp", steps=env.steps(200, 60))
history = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=2)
start, goal = world.true_endpoints(problem)
curves = schedule_curves(cfg)

builders = sorted(n for n, f in inspect.getmembers(gp, inspect.isfunction) if n.startswith("fig_"))
print(builders)

# %% [markdown]
# The inputs each builder needs, made from the run above:

# %%
race_result = race(world, problem, planners=("gd", "grasp"), steps=env.steps(100, 30))
diagnosis = diagnose(world, history)  # verdicts and where the model lies, for the last iterate
lr = next(k for k in knobs(type(cfg)) if k.name == "lr_states")
sweep_result = sweep(world, "grasp", cfg.replace(steps=env.steps(60, 20)).to_dict(),
                     axis(lr, cfg.lr_states / 4, cfg.lr_states * 4, 3), problem, check_every=0)
# the adversarial-gradient test needs a model with a decoder: the 12-D pixel Wall, on a few problems
adversarial_result = adversarial("wall_pixels", n=env.steps(8, 2), steps=env.steps(100, 20), draws=4, references=128)
paths = [dict(name=f"iteration {s.iteration}", xy=s.states[0], markers=True) for s in history.snapshots[::25]]
ARGS = {
    "fig_plan": lambda: gp.fig_plan(history.last, world.layout(), b=0, start=start, goal=goal,
                                    true_rollout=execute(world, problem, history.last.actions).true),
    "fig_gap": lambda: gp.fig_gap(history),
    "fig_losses": lambda: gp.fig_losses(history),
    "fig_schedules": lambda: gp.fig_schedules(curves["sigmas"], curves["gammas"], curves["sync_iterations"]),
    "fig_landscape": lambda: gp.fig_landscape(landscape(problem, history, resolution=env.steps(31, 15))),
    "fig_race": lambda: gp.fig_race(race_result),
    "fig_model_error": lambda: gp.fig_model_error(diagnosis.model_error, diagnosis.first_lie,
                                                  diagnosis.rule.threshold, diagnosis.iteration),
    "fig_sweep": lambda: gp.fig_sweep(sweep_result),
    "fig_trajectories": lambda: gp.fig_trajectories([dict(title="problem 0: virtual states", paths=paths,
                                                          start=start[0], goal=goal[0])], world.layout()),
    "fig_adversarial": lambda: gp.fig_adversarial(adversarial_result.to_dict()),
}
missing = [n for n in builders if n not in ARGS]
print("builders without an example here:", missing)
figs = {n: ARGS[n]() for n in builders if n in ARGS}

# %%
figs["fig_plan"]

# %%
figs["fig_gap"]

# %%
figs["fig_losses"]

# %%
figs["fig_schedules"]

# %%
figs["fig_landscape"]

# %%
figs["fig_race"]

# %%
figs["fig_model_error"]

# %%
figs["fig_sweep"]

# %% [markdown]
# `fig_trajectories`: paths over the world's geometry (here the virtual states of problem 0 every 50 iterations;
# notebook 03 compares runs with it). `fig_adversarial`: the adversarial-gradient test
# (`graspviz adversarial`, docs/results/adversarial.md) on the 12-D pixel Wall.

# %%
figs["fig_trajectories"]

# %%
figs["fig_adversarial"]

# %%
assert not missing, missing
for name in builders:
    f = figs[name]
    assert isinstance(f, go.Figure) and len(f.data) >= 1, name
