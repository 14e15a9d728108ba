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
# Any batched, differentiable one-step predictor works: an `nn.Module` with a `step(s, a)` method (else its
# `forward`), or a plain callable. `graspviz.WorldModel` wraps it and **validates it once**, with a probe
# call: the output must be a tensor of shape $(N, S)$, with the model's dtype and device, and finite. Errors
# say what was passed and what was expected.
#
# Two common shapes of real world models are covered here:
#
# - a **history window** $h > 1$ (DINO-WM conditions on 3 frames): the model takes $s$ of shape $(N, h, S)$,
#   oldest first, and GRASP builds the windows from its virtual states;
# - **patch-token latents** (e.g. $P$ patches of dimension $D$): flatten them to $S = P \cdot D$ at the wrapper
#   boundary, reshape inside the model.

# %%
import numpy as np
import torch
from torch import nn

import graspviz as gv
from graspviz.notebook import setup
from graspviz.plotting import fig_losses

env = setup(seed=0)

# %%
P, D, A = 4, 3, 2   # 4 patch tokens of dimension 3 -> flat state S = 12

class PatchDynamics(nn.Module):
    """A toy patch-token model with a history window of 2: tokens drift with their velocity,
    actions push every token, and tokens mix through a small fixed attention-like matrix."""
    history = 2
    state_dim, action_dim = P * D, A

    def __init__(self):
        super().__init__()
        self.mix = nn.Parameter(torch.eye(P) * 0.9 + 0.1 / P, requires_grad=False)
        self.push = nn.Parameter(torch.randn(A, D) * 0.5, requires_grad=False)

    def step(self, s, a):                       # s (N, h=2, S), a (N, A) -> (N, S)
        prev, cur = s[:, 0].view(-1, P, D), s[:, 1].view(-1, P, D)
        vel = 0.5 * (cur - prev)
        nxt = self.mix @ cur + vel + (a @ self.push)[:, None, :]
        return nxt.reshape(-1, P * D)

torch.manual_seed(0)
user_model = PatchDynamics().to(env.device)
model = gv.WorldModel(user_model, action_low=-1.0, action_high=1.0, name="patch tokens, h=2")
print(model)


# %% [markdown]
# ## What validation catches
#
# Each of these is a typical mistake; the wrapper refuses it before any planner runs, with a one-line message.

# %%
class WrongShape(PatchDynamics):
    def step(self, s, a):
        return super().step(s, a).view(-1, P, D)            # forgot to flatten the tokens

class NoHistory(PatchDynamics):
    history = 1                                              # declared h=1, but step indexes s[:, 1]

class WrongDtype(PatchDynamics):
    def step(self, s, a):
        return super().step(s, a).double()

class NaNs(PatchDynamics):
    def step(self, s, a):
        return super().step(s, a) / 0 * 0

errors = {}
for bad in (WrongShape, NoHistory, WrongDtype, NaNs):
    try:
        gv.WorldModel(bad(), action_low=-1.0, action_high=1.0, name=bad.__name__)
    except gv.GraspvizError as e:
        errors[bad.__name__] = str(e)
        print(f"{bad.__name__:10s} -> {e}")

# %% [markdown]
# ## Plan with it
#
# A problem is a start state, a goal state and a horizon. Here the goal is the end of a random rollout
# (so it is reachable), and GRASP plans over actions and the virtual patch-token states. With $h = 2$ each
# one-step prediction $F(s_{t-1}, s_t, a_t)$ sees a window of two virtual states, all in one batched call.

# %%
B, T = 4, 12
s0 = torch.randn(B, P * D, device=env.device) * 0.5
with torch.no_grad():
    goal = model.rollout(s0, torch.rand(B, T, A, device=env.device) * 2 - 1)[:, -1]
problem = gv.Problem(model, s0, goal, T)
cfg = dict(steps=env.steps(400, 200), lr_states=0.05, lr_actions=0.05, sigma=0.005, gamma=0.1, sync_every=25)
history = gv.run(gv.make_planner("grasp", **cfg), problem, seed=0, stride=10)
d0, d1 = history.at(0).goal_distance, history.last.goal_distance
print("goal distance of the model rollout: before", np.round(d0, 3), " after", np.round(d1, 3))

# %%
fig_losses(history)

# %% [markdown]
# Patch tokens come back flat in the History: `history.last.states` has shape (B, T-1, S); reshape to
# (B, T-1, P, D) to look at single tokens.

# %%
tokens = np.array(history.last.states).reshape(B, T - 1, P, D)
print("virtual states as tokens:", tokens.shape)

# %%
assert set(errors) == {"WrongShape", "NoHistory", "WrongDtype", "NaNs"}, errors
assert "(N, S)" in errors["WrongShape"] and "NaN" in errors["NaNs"]
assert model.history == 2 and tokens.shape == (B, T - 1, P, D)
assert np.median(d1) < 0.2 * np.median(d0), (d0, d1)
