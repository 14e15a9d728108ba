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
# # Bring your own world model
#
# A model graspviz has never seen: no tuned settings, states in its own units. This notebook wraps one,
# plans with it **without tuning anything**, and then checks the plans against the model's true simulator.
#
# 1. **Automatic settings.** Step sizes and noise levels that suit states of size 1 are useless for states
#    of size 1000. Every knob declared `auto` (the default) is derived when a run starts, from one batched
#    probe of the model (`graspviz/planners/scale.py`): how far the states must travel and how far one
#    action moves them.
# 2. **Action bounds.** Without them the planners probe a range, and say so once.
# 3. **The true simulator.** `make_world(..., simulate=...)` runs the plan in the real dynamics; the
#    verdicts tell "the model lied" from "the optimiser failed".

# %%
import warnings

import numpy as np
import torch
from torch import nn

import graspviz as gv
from graspviz.analysis.diagnose import diagnose
from graspviz.notebook import setup
from graspviz.plotting import fig_model_error, fig_plan

env = setup(seed=0)
B, T = 16, 20                              # problems per batch, horizon
STEPS = env.steps(300, 100)                # GRASP iterations

# %% [markdown]
# ## A model at an odd scale
#
# A damped point in the plane, in **millimetres**: the state is $(x, y, v_x, v_y)$, positions within
# $\pm 1000$ mm; the action $a \in [-1, 1]^2$ drives a motor whose force saturates ($\tanh$). Problems
# ask it to move 300 to 800 mm and stop there, in 20 steps; a plan succeeds when the point ends within 50 mm
# of the goal.

# %%
MM = 1000.0   # the unit of the states: 1 m = 1000 mm

class DampedPoint(nn.Module):
    """s = (x, y, vx, vy) in units of ``scale`` (mm by default); v' = (1 - c) v + gain tanh(2a); x' = x + v'."""
    state_dim, action_dim = 4, 2

    def __init__(self, scale=MM, damping=0.25, gain=0.03):
        super().__init__()
        self.scale, self.damping, self.gain = scale, damping, gain

    def step(self, s, a):                               # s (N, 4), a (N, 2) -> (N, 4)
        v = (1 - self.damping) * s[:, 2:] + self.gain * self.scale * torch.tanh(2 * a)
        return torch.cat([s[:, :2] + v, v], -1)


def sampler(scale):
    """sample(n, horizon, rng) -> (start, goal): rest states, the goal 0.3-0.8 m away in a random direction."""
    def sample(n, horizon, rng):
        p0 = rng.uniform(-1, 1, (n, 2))
        angle, r = rng.uniform(0, 2 * np.pi, n), rng.uniform(0.3, 0.8, n)
        goal = p0 + r[:, None] * np.stack([np.cos(angle), np.sin(angle)], -1)
        rest = np.zeros((n, 2))
        return scale * np.concatenate([p0, rest], -1), scale * np.concatenate([goal, rest], -1)
    return sample


def position_error(states, goals):
    return np.linalg.norm(np.asarray(states)[..., :2] - np.asarray(goals)[..., :2], axis=-1)


def point_world(scale, name, simulate=None, **bounds):
    model = gv.WorldModel(DampedPoint(scale), name=name, **bounds)
    return gv.make_world(model, name=name.replace(" ", "_"), sample=sampler(scale), simulate=simulate,
                         threshold=0.05 * scale, distance=position_error, horizon=T,
                         success_rule=f"position error < {0.05 * scale:g}")


BOUNDS = dict(action_low=-1.0, action_high=1.0)
world = point_world(MM, "damped point mm", **BOUNDS)
problem = world.sample_problems(B, horizon=T, seed=0, device=env.device)
print(world.describe())

# %% [markdown]
# ## Plan with the defaults
#
# `world.config_for("grasp")` on a world of your own model gives the automatic settings (there are no tuned
# ones to suggest). `settings="fixed"` gives the old absolute defaults (`lr_states=0.1`, `sigma=0.01`, ...),
# which were chosen for states of size about one. The plan is judged by executing it (`gv.execute`).

# %%
def plan(world, problem, planner="grasp", settings="auto", **kw):
    cfg = world.config_for(planner, settings, **kw)
    history = gv.run(gv.make_planner(planner, cfg), problem, seed=0, stride=10, checkpoints=False)
    return history, gv.execute(world, problem, history.last.actions).success

h_auto, ok_auto = plan(world, problem, steps=STEPS)
h_fixed, ok_fixed = plan(world, problem, settings="fixed", steps=STEPS)
print(f"GRASP, {STEPS} steps, {B} problems: success auto {ok_auto.mean():.0%}, fixed {ok_fixed.mean():.0%}")
print("probed:", {k: v for k, v in h_auto.meta["scales"].items() if k in ("distance", "reach", "need")})
print("derived:", {k: float(f"{v:.3g}") for k, v in h_auto.meta["auto"].items()})

# %% [markdown]
# The derived `lr_states` is 0.02 times the start-goal distance per coordinate (about 210 mm here), so
# the virtual states move millimetres per step, not the 0.1 mm of the fixed default; `sigma` follows it.
# The action knobs stay near their fixed values because the actions have unit range.
#
# The same model in metres (scale 1) gets the same plan with every state-space knob divided by 1000:
# the rules are scale-equivariant. The fixed defaults, mediocre in metres, collapse in millimetres.

# %%
world_m = point_world(1.0, "damped point m", **BOUNDS)
problem_m = world_m.sample_problems(B, horizon=T, seed=0, device=env.device)
h_auto_m, ok_auto_m = plan(world_m, problem_m, steps=STEPS)
h_fixed_m, ok_fixed_m = plan(world_m, problem_m, settings="fixed", steps=STEPS)
lr_ratio = h_auto.config["lr_states"] / h_auto_m.config["lr_states"]     # the values the runs used
print(f"{'units':6s} {'auto':>6s} {'fixed':>6s} {'lr_states (auto)':>17s}")
for units, ok_a, ok_f, h in (("m", ok_auto_m, ok_fixed_m, h_auto_m), ("mm", ok_auto, ok_fixed, h_auto)):
    print(f"{units:6s} {ok_a.mean():6.0%} {ok_f.mean():6.0%} {h.config['lr_states']:17.3g}")
print(f"lr_states mm / m = {lr_ratio:.4g}")

# %% [markdown]
# CEM needs no state scale at all: it samples actions and only ranks the rollouts' costs. Its one automatic
# knob, `action_scale` (the unit of its spreads), is 1 for a model with bounds: the half-range.

# %%
h_cem, ok_cem = plan(world, problem, "cem")
print(f"CEM, {h_cem.config['steps']} steps x {h_cem.config['samples']} samples: success {ok_cem.mean():.0%}; "
      f"derived {h_cem.meta['auto']}")

# %% [markdown]
# ## Action bounds
#
# The same model without `action_low` / `action_high`. The probe tries action sizes from $10^{-3}$ to
# $10^3$ and takes the one where the model's response saturates (here the motor's $\tanh$); each run warns
# once, at its probe. GRASP still plans well: it follows the model's gradient, which flattens past the
# saturation. Sampling planners mind most: their samples reach far past it, so nearly every sampled plan
# pushes the motor flat out.

# %%
free = gv.WorldModel(DampedPoint(MM), name="damped point, no bounds")
free_world = gv.make_world(free, name="damped_point_free", sample=sampler(MM), threshold=0.05 * MM,
                           distance=position_error, horizon=T)
free_problem = free_world.sample_problems(B, horizon=T, seed=0, device=env.device)
free_runs, caught = {}, {}
for name, kw in (("grasp", dict(steps=STEPS)), ("cem", {})):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        free_runs[name] = plan(free_world, free_problem, name, **kw)
    caught[name] = [str(x.message) for x in w]
print(*caught["grasp"])
print(f"warnings per run: {({k: len(v) for k, v in caught.items()})}")
print(f"success without bounds: GRASP {free_runs['grasp'][1].mean():.0%}, CEM {free_runs['cem'][1].mean():.0%} "
      f"(with bounds: {ok_auto.mean():.0%}, {ok_cem.mean():.0%})")

# %% [markdown]
# Declare the bounds when you know them: `gv.WorldModel(module, action_low=-1.0, action_high=1.0)` (one number
# for every action coordinate, or one per coordinate), as class attributes `action_low` / `action_high` of the
# module, or as keyword arguments of `gv.make_world(module, ..., action_low=..., action_high=...)`.
#
# ## The true simulator
#
# The model was fit away from a strip of **mud** at $0 \le x \le 400$ mm, where the real point is damped much
# more (0.6 per step instead of 0.25). `simulate(start, actions)` is that truth: numpy in, numpy out, states
# in the same units. `make_world(..., simulate=..., threshold=...)` makes it the judge.

# %%
MUD = (0.0, 400.0)          # x range of the mud strip (mm)

def simulate(start, actions, mud_damping=0.6):
    """(B, 4) true start states, (B, T, 2) actions -> (B, T+1, 4) true trajectories."""
    s, out = np.array(start, dtype=float), [np.array(start, dtype=float)]
    for t in range(actions.shape[1]):
        in_mud = (s[:, 0] >= MUD[0]) & (s[:, 0] <= MUD[1])
        c = np.where(in_mud, mud_damping, 0.25)[:, None]
        v = (1 - c) * s[:, 2:] + 0.03 * MM * np.tanh(2 * actions[:, t])
        s = np.concatenate([s[:, :2] + v, v], -1)
        out.append(s)
    return np.stack(out, 1)

real = point_world(MM, "damped point real", simulate=simulate, **BOUNDS)
h_real, ok_real = plan(real, problem, steps=STEPS)
d_real = diagnose(real, h_real)
print(d_real.summary())
for b in range(4):
    print(d_real.problem_line(b))
print({kind: d_real.count(kind) for kind in ("success", "model_lied", "optimiser_failed")})

# %% [markdown]
# Where the model lies: the per-step distance between the model's rollout and the simulator's
# (`gv.model_error(world, history)`, the same as `d_real.model_error`), centred on the 50 mm threshold. A
# cross marks the first step over it. Rows that stay pale never enter the mud: there the model is exact.

# %%
err = gv.model_error(real, h_real)                           # (B, T+1), mm
fig_model_error(err, d_real.first_lie, d_real.rule.threshold, h_real.last.iteration, unit="mm",
                kinds=[d_real.verdict(b) for b in range(B)])

# %% [markdown]
# One problem the model lied about: the model's rollout (solid) reaches the goal; the same actions in the
# simulator (dashed) slow down in the mud and stop short.

# %%
lied = [b for b in range(B) if d_real.kinds[b] == "model_lied"]
start, goal = real.true_endpoints(problem)
b = lied[0] if lied else 0
fig = fig_plan(h_real.last, b=b, start=start, goal=goal, true_rollout=d_real.true_rollout,
               title=f"problem {b}: {d_real.verdict(b)}")
fig.add_vrect(x0=MUD[0], x1=MUD[1], fillcolor="saddlebrown", opacity=0.15, line_width=0,
              annotation_text="mud", annotation_position="top left")
fig.update_layout(height=380)
fig

# %% [markdown]
# The other verdict: the plan made with the fixed settings, executed in the same simulator. Its own model
# rollout already misses the goal, so no better model would have saved it: **the optimiser failed**.

# %%
h_real_fixed, _ = plan(real, problem, settings="fixed", steps=STEPS)
d_fixed = diagnose(real, h_real_fixed)
print(d_fixed.summary())
print(d_fixed.problem_line(0))
print({kind: d_fixed.count(kind) for kind in ("success", "model_lied", "optimiser_failed")})

# %% [markdown]
# ## Other shapes of model
#
# Real world models often condition on a **history window** ($h > 1$, as DINO-WM's 3 frames: the model then
# takes $s$ of shape $(N, h, S)$, oldest first) or predict **patch tokens** ($P$ tokens of dimension $D$,
# flattened to $S = P \cdot D$ at the wrapper and reshaped inside). `gv.WorldModel` validates every model once,
# with a probe call, and refuses typical mistakes in one line; the automatic settings work on either shape.

# %%
P, D, A = 4, 3, 2

class PatchDynamics(nn.Module):
    """Patch tokens with a history window of 2: drift with their velocity, pushed by the actions, mixed."""
    history = 2
    state_dim, action_dim = P * D, A

    def __init__(self):
        super().__init__()
        self.mix = nn.Parameter(torch.eye(P) * 0.9 + 0.1 / P, requires_grad=False)
        self.push = nn.Parameter(torch.randn(A, D) * 0.5, requires_grad=False)

    def step(self, s, a):                       # s (N, h=2, S), a (N, A) -> (N, S)
        prev, cur = s[:, 0].view(-1, P, D), s[:, 1].view(-1, P, D)
        nxt = self.mix @ cur + 0.5 * (cur - prev) + (a @ self.push)[:, None, :]
        return nxt.reshape(-1, P * D)

class WrongShape(PatchDynamics):
    def step(self, s, a):
        return super().step(s, a).view(-1, P, D)            # forgot to flatten the tokens

class NoHistory(PatchDynamics):
    history = 1                                              # declared h=1, but step indexes s[:, 1]

class NaNs(PatchDynamics):
    def step(self, s, a):
        return super().step(s, a) / 0 * 0

errors = {}
for bad in (WrongShape, NoHistory, NaNs):
    try:
        gv.WorldModel(bad(), **BOUNDS, name=bad.__name__)
    except gv.GraspvizError as e:
        errors[bad.__name__] = str(e)
        print(f"{bad.__name__:10s} -> {e}")

torch.manual_seed(0)
patch = gv.WorldModel(PatchDynamics().to(env.device), **BOUNDS, name="patch tokens, h=2")
s0 = torch.randn(4, P * D, device=env.device) * 0.5
with torch.no_grad():                                        # reachable goals: ends of random rollouts
    g = patch.rollout(s0, torch.rand(4, 12, A, device=env.device) * 2 - 1)[:, -1]
h_patch = gv.run(gv.make_planner("grasp", steps=env.steps(200, 100)), gv.Problem(patch, s0, g, 12), seed=0, stride=10)
d0, d1 = h_patch.at(0).goal_distance, h_patch.last.goal_distance
print("patch tokens: goal distance before", np.round(d0, 2), "after", np.round(d1, 2))

# %%
# 1. automatic settings plan the mm model well, and clearly better than the fixed defaults
assert ok_auto.mean() >= 0.8 and ok_auto.mean() >= ok_fixed.mean() + 0.5, (ok_auto.mean(), ok_fixed.mean())
assert ok_cem.mean() >= 0.8, ok_cem.mean()
# ... because the state-space knobs follow the units: mm vs m is a factor of 1000
assert "lr_states" in h_auto.meta["auto"] and abs(lr_ratio / MM - 1) < 0.05, (lr_ratio, h_auto.meta["auto"])
assert abs(ok_auto.mean() - ok_auto_m.mean()) <= 0.125, (ok_auto.mean(), ok_auto_m.mean())
assert ok_fixed_m.mean() >= ok_fixed.mean() + 0.2, (ok_fixed_m.mean(), ok_fixed.mean())  # fixed: unit-dependent
# 2. no bounds: one warning per run naming the fix; the probe found the motor's saturation (|2a| ~ 1..10)
assert all(len(v) == 1 and "action_low / action_high" in v[0] for v in caught.values()), caught
assert 0.3 <= free_runs["cem"][0].meta["auto"]["action_scale"] <= 10
assert free_runs["grasp"][1].mean() >= 0.7, free_runs["grasp"][1].mean()
assert free_runs["cem"][1].mean() <= ok_cem.mean() - 0.3, (free_runs["cem"][1].mean(), ok_cem.mean())
# 3. the simulator misses only where the model lied, and it lied only in the mud
crossed = ((d_real.true_rollout[:, :, 0] >= MUD[0]) & (d_real.true_rollout[:, :, 0] <= MUD[1])).any(1)
assert len(lied) >= 3 and d_real.count("optimiser_failed") == 0, d_real.kinds
assert np.allclose(err[~crossed], 0, atol=1.0), err[~crossed].max()       # exact outside the mud (< 1 mm)
assert all(crossed[b] and d_real.first_lie[b] > 0 for b in lied)
assert d_fixed.count("optimiser_failed") >= 0.8 * B, d_fixed.kinds
# other shapes: validation refuses the mistakes; GRASP's automatic settings plan the h=2 patch model
assert set(errors) == {"WrongShape", "NoHistory", "NaNs"} and "(N, S)" in errors["WrongShape"], errors
assert np.median(d1) < 0.2 * np.median(d0), (d0, d1)
