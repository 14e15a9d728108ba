"""Write every example notebook from the Python strings below (markdown + code, no outputs).

Run ``python notebooks/_build.py`` after editing; the .ipynb files are generated, do not edit them by hand.
Each notebook is one idea; its last code cell asserts the key result. ``GRASPVIZ_FAST=1`` shrinks the runs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
SETUP = "from graspviz.notebook import setup\nenv = setup(seed=0)"


def md(text):
    return new_markdown_cell(text.strip("\n"))


def code(text):
    return new_code_cell(text.strip("\n"))


NOTEBOOKS = {}

NOTEBOOKS["00_quickstart.ipynb"] = [
    md(r"""
# Quickstart: GRASP on the wall world

A 2-D dot must reach a goal on the other side of a wall, through a door. The straight line to the goal
hits the wall, so a greedy planner gets stuck. GRASP plans over actions $a_0..a_{T-1}$ **and** virtual
states $s_1..s_{T-1}$ and minimises

$$L(s, a) = \sum_t \|F(\bar s_t, a_t) - s_{t+1}\|^2 + \gamma \sum_t \|F(\bar s_t, a_t) - g\|^2, \qquad \bar s_t = \text{stopgrad}(s_t),$$

adds Gaussian noise to the states after each step and, every few iterations, refines the actions on the
true rollout loss (the *sync*). Here we run it on 8 problems with horizon 40.
"""),
    code(SETUP),
    code("""
import numpy as np
import graspviz as gv
from graspviz.plotting import fig_plan

world = gv.get_world("wall")
problem = world.sample_problems(16, horizon=40, seed=0, device=env.device)
steps = env.steps(300, 200)
planner = gv.make_planner("grasp", gv.planner_config("grasp", "wall", steps=steps))
history = gv.run(planner, problem, seed=0, stride=10)
print(len(history), "snapshots, iterations", history.iterations[:3], "...", history.iterations[-1])
"""),
    md("""
The plan view shows the virtual states (dotted), the model rollout of the current actions (solid) and
the wall. At iteration 0 the virtual states sit on the straight line from start to goal, through the
wall. We look at the first problem whose final plan succeeds (problem `b` below); not every one does.
"""),
    code("""
layout = world.layout()
start, goal = problem.start.cpu().numpy(), problem.goal.cpu().numpy()
final_ok = world.is_success(world.simulate(start, np.array(history.last.actions))[:, -1], goal)
b = int(np.argmax(final_ok)) if final_ok.any() else 0
print("problem", b)
fig_plan(history.at(0), layout, b=b, start=start, goal=goal)
"""),
    code("""
fig_plan(history.last, layout, b=b, start=start, goal=goal,
         true_rollout=world.simulate(start, np.array(history.last.actions)))
"""),
    md("""
Scrub through the recorded iterations with a slider (needs a live kernel; in a static render only the
first frame shows).
"""),
    code("""
from ipywidgets import IntSlider, interact

def show(i=0, b=0):
    return fig_plan(history[i], layout, b=b, start=start, goal=goal)

interact(show, i=IntSlider(min=0, max=len(history) - 1, step=1, value=len(history) - 1),
         b=IntSlider(min=0, max=problem.batch - 1, step=1, value=b));
"""),
    md("""
Planning is open loop: `graspviz.execute.execute_history` runs all $T$ actions of the final plan in the
world's simulator (`world.simulate`) and judges success on the true final state. Then we do the same with
plain gradient descent on the shooting loss $\\|F^T(s_0, a) - g\\|^2$ (the GD baseline).
"""),
    code("""
from graspviz.execute import execute_history

def successes(hist):
    return int(execute_history(world, hist)["success"].sum())

grasp_ok = successes(history)
gd = gv.run(gv.make_planner("gd", gv.planner_config("gd", "wall", steps=steps)), problem, seed=0,
            stride=max(1, steps // 10), checkpoints=False)
gd_ok = successes(gd)
print(f"GRASP: {grasp_ok}/{problem.batch}   GD: {gd_ok}/{problem.batch}")
"""),
    code("""
assert grasp_ok >= 0.35 * problem.batch, grasp_ok  # measured 10/16 (full) on CPU; GD 0/16
assert gd_ok < grasp_ok, (gd_ok, grasp_ok)
"""),
]

NOTEBOOKS["02_shooting_vs_lifted.ipynb"] = [
    md(r"""
# Shooting vs the lifted problem: conditioning

Shooting optimises the actions only, through the whole rollout $s_T = F^T(s_0, a)$:
$\ell(a) = \|F^T(s_0, a) - g\|^2$. Its derivative with respect to $a_0$ is a product of state Jacobians,
$\partial s_T / \partial a_0 = J_s F(s_{T-1}, a_{T-1}) \cdots J_s F(s_1, a_1)\, J_a F(s_0, a_0)$, so gradient size and
curvature depend on the horizon. The lifted GRASP objective couples only neighbouring time steps, so its
Hessian with respect to (actions, states) stays bounded as $T$ grows.

We measure both in float64 with `torch.autograd.functional.hessian`, for $T \in \{2, 4, 8, 16\}$. The models
are linear, so the Hessians are exact and do not depend on where they are taken.
"""),
    code(SETUP),
    code("""
import numpy as np
import torch
import graspviz as gv
from graspviz.planners.grasp import grasp_objective, shooting_loss

HORIZONS = (2, 4, 8, 16)
F64 = dict(dtype=torch.float64, device=env.device)

def spectrum(H):
    return np.linalg.eigvalsh(0.5 * (H + H.T))

def measure(model, s0, g, T):
    A, S = model.action_dim, model.state_dim
    a = torch.zeros(1, T, A, requires_grad=True, **F64)
    shooting_loss(model, s0, a, g).sum().backward()
    f_shoot = lambda flat: shooting_loss(model, s0, flat.view(1, T, A), g).sum()
    ev = spectrum(torch.autograd.functional.hessian(f_shoot, torch.zeros(T * A, **F64)).cpu().numpy())
    nz = ev[ev > 1e-10 * ev.max()]          # the shooting Hessian has rank <= S: keep its non-zero part
    line = torch.linspace(0, 1, T + 1, **F64)[1:T, None]
    x0 = ((1 - line) * s0 + line * g).reshape(-1)   # straight-line virtual states, as GRASP initialises them
    def f_lift(z):
        acts, sts = z[:T * A].view(1, T, A), z[T * A:].view(1, T - 1, S)
        return grasp_objective(model, s0, sts, acts, g, goal_weight=1.0, stop_grad=False)["total"]
    el = spectrum(torch.autograd.functional.hessian(f_lift, torch.cat([torch.zeros(T * A, **F64), x0])).cpu().numpy())
    return dict(T=T, grad_a0=float(a.grad[0, 0].norm()), rank_shooting=len(nz), dim_shooting=T * A,
                lmax_shooting=float(ev.max()), cond_shooting=float(nz.max() / nz.min()),
                lmin_lifted=float(el.min()), lmax_lifted=float(el.max()), cond_lifted=float(el.max() / el.min()))

def table(rows):
    for r in rows:
        print("T={T:3d} |dl/da0|={grad_a0:8.3g} rank={rank_shooting}/{dim_shooting:<3d} lmax(shoot)={lmax_shooting:8.3g} "
              "cond(shoot, non-zero part)={cond_shooting:9.3g}   cond(lifted)={cond_lifted:8.3g}".format(**r))
"""),
    md(r"""
## The `point_mass` world

A damped double integrator, 4-D state, 2-D force. Same start (at rest at the origin) and goal
(position (1, 1), at rest) for every $T$. We report $\|\partial\ell/\partial a_0\|$ at zero actions, the rank and
largest eigenvalue of the shooting Hessian $\nabla_a^2 \ell$, the condition number of its non-zero part, and the
condition number of the lifted objective's Hessian (no stop-gradient, so it is a true Hessian; $\gamma = 1$)
with respect to all actions and virtual states.
"""),
    code("""
pm = gv.get_world("point_mass").model(**F64)
s0 = torch.zeros(1, 4, **F64)
g = torch.tensor([[1.0, 1.0, 0.0, 0.0]], **F64)
rows_pm = [measure(pm, s0, g, T) for T in HORIZONS]
table(rows_pm)
"""),
    md(r"""
What this shows on `point_mass`: the shooting Hessian has rank 4 (the state dimension) out of $2T$ action
dimensions, so for $T > 2$ it is singular (its condition number is infinite) and the flat directions
multiply with $T$; its curvature scale $\lambda_{\max}$ and the gradient on $a_0$ grow with $T$. The non-zero part is
*not* badly conditioned here: the damped integrator is stable, so the product of Jacobians does not blow up.
The lifted Hessian is positive definite at every $T$ and its condition number levels off.

## A model whose Jacobian product is ill-conditioned

The paper's argument is about Jacobian products that stretch some directions and shrink others. A
two-line linear model shows it: $F(s, a) = \mathrm{diag}(1.3, 0.7)\, s + a$.
"""),
    code("""
D = torch.tensor([1.3, 0.7], **F64)
toy = gv.WorldModel(lambda s, a: s * D.to(s) + a, 2, 2, device=env.device, dtype=torch.float64, name="diag(1.3, 0.7)")
rows_toy = [measure(toy, torch.zeros(1, 2, **F64), torch.ones(1, 2, **F64), T) for T in HORIZONS]
table(rows_toy)
"""),
    code("""
import plotly.graph_objects as go
from plotly.subplots import make_subplots
fig = make_subplots(rows=1, cols=2, subplot_titles=("point_mass", "diag(1.3, 0.7) toy"))
for col, rows in ((1, rows_pm), (2, rows_toy)):
    Ts = [r["T"] for r in rows]
    fig.add_trace(go.Scatter(x=Ts, y=[r["cond_shooting"] for r in rows], mode="lines+markers", line=dict(color="#d62728"),
                             name="shooting Hessian (non-zero part)", showlegend=col == 1), 1, col)
    fig.add_trace(go.Scatter(x=Ts, y=[r["cond_lifted"] for r in rows], mode="lines+markers", line=dict(color="#1f77b4"),
                             name="lifted Hessian (actions + states)", showlegend=col == 1), 1, col)
fig.update_xaxes(title_text="horizon T", type="log")
fig.update_yaxes(title_text="condition number", type="log")
fig.update_layout(title="condition number vs horizon (float64, exact Hessians)")
fig
"""),
    md("""
The same contrast as a picture: 2-D slices of both losses around a GRASP iterate on `point_mass`
(`graspviz.landscape`): the shooting slice over actions only, the lifted slice over actions and states.
"""),
    code("""
from graspviz.landscape import landscape
from graspviz.plotting import fig_landscape

world = gv.get_world("point_mass")
p20 = world.sample_problems(2, horizon=20, seed=0, device=env.device)
hist = gv.run(gv.make_planner("grasp", gv.planner_config("grasp", "point_mass", steps=env.steps(200, 60))),
              p20, seed=0, stride=5, checkpoints=False)
fig_landscape(landscape(p20, hist, resolution=env.steps(41, 21)))
"""),
    md(r"""
## A trained model

The same measurements on the MLP world model trained on MuJoCo's PointMaze (issue 4, `pointmaze`), in
float64, at zero actions from a real start state. The model is non-linear, so the Hessians are local.
"""),
    code("""
try:
    pmz = gv.get_world("pointmaze")
    learned = pmz.model(**F64)
    lp = pmz.sample_problems(1, horizon=4, seed=0, device=env.device, dtype=torch.float64)
    rows_learned = [measure(learned, lp.start, lp.goal, T) for T in HORIZONS]
    table(rows_learned)
except gv.GraspvizError as e:
    print("no trained pointmaze model here:", e)
    rows_learned = None
"""),
    code("""
increasing = lambda xs: all(b > a for a, b in zip(xs, xs[1:]))
# toy: the shooting condition number grows with T, the lifted one stays bounded
assert increasing([r["cond_shooting"] for r in rows_toy]), rows_toy
assert rows_toy[-1]["cond_shooting"] > 10 * rows_toy[-1]["cond_lifted"], rows_toy[-1]
assert max(r["cond_lifted"] for r in rows_toy) < 100
# point_mass: shooting Hessian singular beyond T = 2 (rank = state dim), curvature and gradient grow with T
assert all(r["rank_shooting"] == 4 for r in rows_pm) and all(r["dim_shooting"] > 4 for r in rows_pm[1:])
assert increasing([r["lmax_shooting"] for r in rows_pm]) and increasing([r["grad_a0"] for r in rows_pm])
# point_mass: lifted Hessian positive definite, condition number bounded
assert all(r["lmin_lifted"] > 0 for r in rows_pm) and max(r["cond_lifted"] for r in rows_pm) < 1e4
"""),
]

NOTEBOOKS["03_stochastic_state_iterates.ipynb"] = [
    md(r"""
# Stochastic state iterates

After every gradient step GRASP perturbs the virtual states (never the actions):

$$s_t \leftarrow s_t - \eta_s \nabla_{s_t} L + \sigma_k\, \xi_t, \qquad \xi_t \sim \mathcal N(0, I).$$

The noise lets the plan hop out of greedy local minima, e.g. the goal term pulling states into the wall.
The scale $\sigma_k$ and the goal weight $\gamma_k$ follow schedules; first we draw each schedule kind,
then we sweep a constant $\sigma$ on the wall world.
"""),
    code(SETUP),
    code("""
import numpy as np
import graspviz as gv
from graspviz.curves import grasp_schedule_curves
from graspviz.plotting import fig_schedules
from graspviz.schedules import KINDS

figs = {}
for kind in KINDS:
    # exponential schedules need positive end points, so every kind decays to a small positive value
    cfg = gv.planner_config("grasp", "wall", steps=200, sigma=0.3, sigma_end=0.003, sigma_schedule=kind,
                            gamma=0.003, gamma_end=0.0003, gamma_schedule=kind)
    c = grasp_schedule_curves(cfg)
    figs[kind] = fig_schedules(c["sigmas"], c["gammas"], c["sync_iterations"])
    figs[kind].update_layout(title=f"schedules: {kind}")
figs["linear"]
"""),
    code('figs["cosine"]'),
    code('figs["exponential"]'),
    md("""
Now the sweep: the same problems, the same seed, only $\\sigma$ changes. Success is judged by executing
the plan in the true simulator.
"""),
    code("""
world = gv.get_world("wall")
n, steps = env.steps(32, 16), 200
problem = world.sample_problems(n, horizon=40, seed=0, device=env.device)
start, goal = problem.start.cpu().numpy(), problem.goal.cpu().numpy()

SIGMAS = (0.0, 0.03, 0.1, 0.3)
rate = {}
for sigma in SIGMAS:
    cfg = gv.planner_config("grasp", "wall", steps=steps, sigma=sigma)
    h = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=20, checkpoints=False)
    final = world.simulate(start, np.array(h.last.actions))[:, -1]
    rate[sigma] = float(world.is_success(final, goal).mean())
    print(f"sigma={sigma:<5} success={rate[sigma]:.3f}")
"""),
    code("""
import plotly.graph_objects as go
go.Figure(go.Bar(x=[str(s) for s in SIGMAS], y=[rate[s] for s in SIGMAS]),
          layout=dict(title=f"wall: success vs sigma ({n} problems, {steps} steps)", xaxis_title="sigma",
                      yaxis_title="success rate", yaxis_range=[0, 1]))
"""),
    md("""
On this small analytic world the noise is not a large win: in our runs the best $\\sigma > 0$ ties
$\\sigma = 0$ or beats it by about one problem in 32, and $\\sigma = 0.3$ clearly hurts. The sync already supplies
much of the long-range signal here. Try other seeds or more problems before drawing conclusions.
"""),
    code("""
best_noisy = max(rate[s] for s in SIGMAS if s > 0)
assert best_noisy >= rate[0.0], rate
"""),
]

NOTEBOOKS["05_sync.ipynb"] = [
    md(r"""
# The periodic sync

GRASP's minimisers are only approximately feasible: the virtual states need not match the rollout.
The *consistency gap* at step $t$ is $\|F(s_t, a_t) - s_{t+1}\|$. Every $K_{\text{sync}}$ iterations GRASP takes
$J_{\text{sync}}$ steps on the true rollout loss $\|F^T(s_0, a) - g\|^2$ with respect to the actions only,
which pulls the plan back to something the model can actually execute.
"""),
    code(SETUP),
    code("""
import numpy as np
import graspviz as gv
from graspviz.plotting import fig_gap, fig_losses

world = gv.get_world("wall")
n, steps = env.steps(32, 16), env.steps(300, 150)
problem = world.sample_problems(n, horizon=40, seed=0, device=env.device)
start, goal = problem.start.cpu().numpy(), problem.goal.cpu().numpy()

runs = {}
for sync in (True, False):
    cfg = gv.planner_config("grasp", "wall", steps=steps, sync=sync)
    runs[sync] = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=1, checkpoints=False)
"""),
    md("The gap over iteration and time step, with the sync on (mean over problems):"),
    code("fig_gap(runs[True])"),
    md("Loss terms and rollout goal distance, both runs overlaid; the triangles mark sync events."),
    code('fig_losses([("sync on", runs[True]), ("sync off", runs[False])])'),
    code("""
rate = {}
for sync, h in runs.items():
    final = world.simulate(start, np.array(h.last.actions))[:, -1]
    rate[sync] = float(world.is_success(final, goal).mean())
print(f"success with sync: {rate[True]:.3f}   without: {rate[False]:.3f}")
"""),
    code("""
assert rate[True] >= rate[False], rate
assert any(s.synced for s in runs[True].snapshots) and not any(s.synced for s in runs[False].snapshots)
"""),
]

NOTEBOOKS["10_figure_gallery.ipynb"] = [
    md("""
# Figure gallery

Every public `fig_*` builder in `graspviz.plotting`, called on one fixed GRASP run on the wall world.
The builders are pure: History / Snapshot / plain dicts in, a Plotly figure out.
"""),
    code(SETUP),
    code("""
import inspect
import numpy as np
import plotly.graph_objects as go
import graspviz as gv
import graspviz.plotting as gp
from graspviz.curves import grasp_schedule_curves
from graspviz.landscape import landscape
from graspviz.race import race

world = gv.get_world("wall")
problem = world.sample_problems(4, horizon=40, seed=0, device=env.device)
cfg = gv.planner_config("grasp", "wall", steps=env.steps(200, 60))
history = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=2)
start, goal = problem.start.cpu().numpy(), problem.goal.cpu().numpy()
curves = grasp_schedule_curves(cfg)

builders = sorted(n for n, f in inspect.getmembers(gp, inspect.isfunction) if n.startswith("fig_"))
print(builders)
"""),
    md("The inputs each builder needs, made from the run above:"),
    code("""
race_result = race(world, problem, planners=("gd", "grasp"), steps=env.steps(100, 30))
ARGS = {
    "fig_plan": lambda: gp.fig_plan(history.last, world.layout(), b=0, start=start, goal=goal,
                                    true_rollout=world.simulate(start, np.array(history.last.actions))),
    "fig_gap": lambda: gp.fig_gap(history),
    "fig_losses": lambda: gp.fig_losses(history),
    "fig_schedules": lambda: gp.fig_schedules(curves["sigmas"], curves["gammas"], curves["sync_iterations"]),
    "fig_landscape": lambda: gp.fig_landscape(landscape(problem, history, resolution=env.steps(31, 15))),
    "fig_race": lambda: gp.fig_race(race_result),
}
missing = [n for n in builders if n not in ARGS]
print("builders without an example here:", missing)
figs = {n: ARGS[n]() for n in builders if n in ARGS}
"""),
    code('figs["fig_plan"]'),
    code('figs["fig_gap"]'),
    code('figs["fig_losses"]'),
    code('figs["fig_schedules"]'),
    code('figs["fig_landscape"]'),
    code('figs["fig_race"]'),
    code("""
assert not missing, missing
for name in builders:
    f = figs[name]
    assert isinstance(f, go.Figure) and len(f.data) >= 1, name
"""),
]


NOTEBOOKS["01_world_models_and_planning.ipynb"] = [
    md(r"""
# World models and planning by shooting

A **world model** is a function $F(s, a) \to s'$: given the current (latent) state $s$ and an action $a$ it
predicts the next state. In graspviz it is any batched, differentiable `step(s, a)` (an `nn.Module` or a
callable), wrapped once in `graspviz.WorldModel`, which checks shapes, dtype and device up front.

A **planning problem** is a start $s_0$, a goal $g$ and a horizon $T$. The actions come from a
*planner*: it searches for $a_0..a_{T-1}$ whose rollout $s_{t+1} = F(s_t, a_t)$ ends at $g$. The classic
way is **shooting**: treat the actions as the only variables and minimise the terminal error of the full
rollout,

$$\ell(a) = \|F^T(s_0, a) - g\|^2, \qquad F^T(s_0, a) = F(\cdots F(F(s_0, a_0), a_1) \cdots, a_{T-1}).$$

Two ways to minimise it: **GD** (gradient descent through the whole rollout) and **CEM** (sample action
sequences, keep the best, refit a Gaussian; no gradients). This notebook runs both on two analytic worlds
whose model *is* the true dynamics: `point_mass` (linear, smooth) and `wall` (a wall with a door).
"""),
    code(SETUP),
    code("""
import numpy as np
import torch
import graspviz as gv
from graspviz.plotting import fig_plan

for name in ("point_mass", "wall"):
    w = gv.get_world(name)
    print(f"{name:11s} S={w.state_dim} A={w.action_dim} T={w.default_horizon:3d}  {w.description}")
"""),
    md(r"""
## The model is just a function

One step of the `wall` model moves the dot by $2a$ and stops it at the wall face. `predict` evaluates a
whole batch of $(s_t, a_t)$ pairs in one call; `rollout` applies the model $T$ times in sequence.
"""),
    code("""
wall = gv.get_world("wall")
model = wall.model(device=env.device)
print(model)
s = torch.tensor([[20.0, 10.0]], device=env.device)
print("one step right:      ", model.step(s, torch.tensor([[1.0, 0.0]], device=env.device)).tolist())
print("ten steps right:     ", model.rollout(s, torch.ones(1, 10, 2, device=env.device) * torch.tensor([1.0, 0.0], device=env.device))[0, -1].tolist(),
      "(stopped at the wall, x = 30.5)")
"""),
    md(r"""
## Shooting on `point_mass` and `wall`

Each planner gets the world's suggested settings (`graspviz.planner_config(planner, world)`), the same 8
problems and the same seed. A plan is judged **open loop**: all $T$ actions run in the true dynamics
(`world.simulate`) and the final position must be within the world's success threshold of the goal.
"""),
    code("""
def solve(world_name, planner, n=8, horizon=None):
    w = gv.get_world(world_name)
    problem = w.sample_problems(n, horizon=horizon or w.default_horizon, seed=0, device=env.device)
    steps = {"gd": env.steps(300, 150), "cem": None}[planner]
    cfg = gv.planner_config(planner, world_name, **({"steps": steps} if steps else {}))
    h = gv.run(gv.make_planner(planner, cfg), problem, seed=0, stride=max(1, cfg.steps // 20), checkpoints=False)
    start, goal = problem.start.cpu().numpy(), problem.goal.cpu().numpy()
    true = w.simulate(start, np.array(h.last.actions))
    return dict(history=h, true=true, start=start, goal=goal,
                success=float(w.is_success(true[:, -1], goal).mean()),
                distance=float(np.median(w.distance(true[:, -1], goal))))

results = {(wn, p): solve(wn, p) for wn in ("point_mass", "wall") for p in ("gd", "cem")}
for (wn, p), r in results.items():
    print(f"{wn:11s} {p:4s} success {r['success']:.2f}   median final distance {r['distance']:.3g}")
"""),
    md("""
On `point_mass` both planners reach every goal: the loss is a smooth quadratic in the actions. On `wall`
the straight line to the goal runs into the wall. GD follows the gradient of the terminal error, which
points straight at the goal, and pushes the dot against the wall: a greedy local minimum. CEM samples
whole action sequences and keeps those that end closest to the goal, so some samples find the door.
"""),
    code("""
r = results[("wall", "gd")]
fig_plan(r["history"].last, wall.layout(), b=0, start=r["start"], goal=r["goal"], true_rollout=r["true"],
         title="wall, GD shooting: stuck at the wall", planner="gd")
"""),
    code("""
r = results[("wall", "cem")]
ok = wall.is_success(r["true"][:, -1], r["goal"])
b = int(np.argmax(ok))
fig_plan(r["history"].last, wall.layout(), b=b, start=r["start"], goal=r["goal"], true_rollout=r["true"],
         title=f"wall, CEM: problem {b} goes through the door", planner="cem")
"""),
    md("""
The next notebooks look at *why* gradient shooting struggles as the horizon grows (02) and how GRASP's
lifted, stochastic formulation gets around the wall while keeping gradients (03-05).
"""),
    code("""
assert results[("point_mass", "gd")]["success"] >= 0.75 and results[("point_mass", "cem")]["success"] >= 0.75
assert results[("wall", "gd")]["success"] <= 0.25, results[("wall", "gd")]["success"]   # measured 0.0
assert results[("wall", "cem")]["success"] > results[("wall", "gd")]["success"]          # measured 0.75 vs 0.0
"""),
]

NOTEBOOKS["04_gradient_reshaping.ipynb"] = [
    md(r"""
# Gradient reshaping: stop-gradient on the state input, and the goal term

GRASP evaluates the model on *detached* states $\bar s_t = \mathrm{stopgrad}(s_t)$:

$$L(s, a) = \sum_t \|F(\bar s_t, a_t) - s_{t+1}\|^2 + \gamma \sum_t \|F(\bar s_t, a_t) - g\|^2 .$$

So the model is differentiated only with respect to its **action** input. The state gradients become

$$\frac{\partial L}{\partial a_t} = 2 J_a F(s_t, a_t)^\top\big[(F(s_t, a_t) - s_{t+1}) + \gamma (F(s_t, a_t) - g)\big], \qquad
\frac{\partial L}{\partial s_t} = 2\big(s_t - F(s_{t-1}, a_{t-1})\big),$$

with no $J_s F$ term. This notebook shows (1) why one would want that: on a learned latent model the state
gradient is an *adversarial* direction, (2) that stop-gradient removes exactly the $J_s F$ term, and (3) why
the goal term is needed: without it the plan collapses to "stand still, then jump".
"""),
    code(SETUP),
    code("""
import numpy as np
import torch
import plotly.graph_objects as go
from plotly.subplots import make_subplots
import graspviz as gv
from graspviz.planners.grasp import grasp_objective

torch.manual_seed(0)
try:  # the pixel wall world (issue 4): images 64 x 64 -> 12-D latent, learned dynamics
    px = gv.get_world("wall_pixels")
    model = px.model(device=env.device)
    SOURCE = "wall_pixels: trained conv autoencoder + latent dynamics"
except gv.GraspvizError as err:
    print("wall_pixels model not available here:", err)
    px = None
print("model:", SOURCE if px is not None else "FALLBACK (see below)")
"""),
    md("""
If the trained pixel model is missing (it is produced by `graspviz train --world wall_pixels`), the next
cell builds a clearly labelled **fallback**: a small *random* MLP latent model with a random MLP "decoder"
to a 64-pixel "image". It has no meaning as a world, but its state Jacobian has the same kind of structure
(a few stretched directions) that the argument is about.
"""),
    code("""
if px is None:
    SOURCE = "FALLBACK: random MLP latent model (untrained, for illustration only)"
    Z, A_DIM = 12, 2
    class RandomLatentModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dyn = torch.nn.Sequential(torch.nn.Linear(Z + A_DIM, 64), torch.nn.Tanh(), torch.nn.Linear(64, Z))
            self.dec = torch.nn.Sequential(torch.nn.Linear(Z, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Sigmoid())
        def step(self, z, a):
            return z + self.dyn(torch.cat([z, a], -1))
        def decode(self, z):
            return self.dec(z)
    model = gv.WorldModel(RandomLatentModel().to(env.device), Z, A_DIM, name="random latent MLP (fallback)")
    z0 = torch.randn(16, Z, device=env.device)
    zg = torch.randn(16, Z, device=env.device)
else:
    pairs = px.sample_problems(16, seed=0, device=env.device)
    z0, zg = pairs.start, pairs.goal
print(SOURCE, "| latent dim", model.state_dim)
"""),
    md(r"""
## 1. The state gradient of a learned model is adversarial

Take a latent $z$ (an encoded image), an action $a$ and a goal latent $g$. The one-step goal loss is
$\ell(z) = \|F(z, a) - g\|^2$. A planner that differentiates through the state input moves $z$ along
$-\nabla_z \ell = -2 J_z F^\top (F(z,a) - g)$. We take a *tiny* step of fixed length $\varepsilon$ (5% of the
typical latent norm) along that direction and along random directions of the same length, and compare

- how much the model's prediction moves per unit of input change (its *gain*), and how much $\ell$ drops;
- how much the **decoded** input changes: what the state "looks like".

A step that makes the loss drop a lot while the decoded input barely changes is a step the model rewards
but the world would not: an adversarial perturbation of the model's input.
"""),
    code("""
a = (torch.rand(z0.shape[0], model.action_dim, device=env.device) * 2 - 1)
eps = 0.05 * float(z0.norm(dim=-1).mean())
decode = model.decode

def effect(direction):
    d = direction / direction.norm(dim=-1, keepdim=True)
    with torch.no_grad():
        z1 = z0 + eps * d
        p0, p1 = model.step(z0, a), model.step(z1, a)
        l0, l1 = (p0 - zg).square().sum(-1), (p1 - zg).square().sum(-1)
        x0, x1 = decode(z0), decode(z1)
        return dict(gain=float(((p1 - p0).norm(dim=-1) / eps).mean()),
                    loss_drop=float(((l0 - l1) / l0).mean()),
                    image_change=float(((x1 - x0).flatten(1).norm(dim=-1) / x0.flatten(1).norm(dim=-1)).mean()))

z = z0.clone().requires_grad_(True)
(grad_z,) = torch.autograd.grad((model.step(z, a) - zg).square().sum(), [z])
along_grad = effect(-grad_z)
randoms = [effect(torch.randn_like(z0)) for _ in range(8)]
along_random = {k: float(np.mean([r[k] for r in randoms])) for k in along_grad}
for k in along_grad:
    print(f"{k:13s} state-gradient step: {along_grad[k]:8.4f}    random step: {along_random[k]:8.4f}")
"""),
    code("""
fig = make_subplots(rows=1, cols=3, subplot_titles=("gain |dF| / |dz|", "relative drop of the goal loss", "relative change of the decoded input"))
for i, k in enumerate(("gain", "loss_drop", "image_change"), 1):
    fig.add_trace(go.Bar(x=["state gradient", "random"], y=[along_grad[k], along_random[k]], marker_color=["#d62728", "#7f7f7f"],
                         showlegend=False), 1, i)
fig.update_layout(title=f"one step of length eps = {eps:.3g} on the latent state ({SOURCE})", height=350)
fig
"""),
    md("""
With the trained pixel model the decoded images can be compared directly: the input before and after the
step, and the model's prediction before and after.
"""),
    code("""
if px is not None:
    z = z0[:1].clone()
    d = -grad_z[:1] / grad_z[:1].norm()
    with torch.no_grad():
        imgs = [decode(z), decode(z + eps * d), decode(model.step(z, a[:1])), decode(model.step(z + eps * d, a[:1]))]
    titles = ["decoded input z", "decoded input z + step", "decoded prediction F(z, a)", "decoded prediction F(z + step, a)"]
    fig = make_subplots(rows=1, cols=4, subplot_titles=titles)
    for i, im in enumerate(imgs, 1):
        fig.add_trace(go.Heatmap(z=im[0].cpu().numpy(), colorscale="gray", showscale=False), 1, i)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=300)
else:
    fig = go.Figure().add_annotation(text="decoded images need the trained wall_pixels model (fallback in use)", showarrow=False)
fig
"""),
    md(r"""
## 2. Stop-gradient removes exactly the $J_s F$ term

We differentiate GRASP's objective with autograd, once with the stop-gradient (`stop_grad=True`) and once
without, on random virtual states and actions of one problem, and compare $\partial L / \partial s_t$ with the
closed form $2(s_t - F(s_{t-1}, a_{t-1}))$. Without stop-gradient the gradient has the extra term
$2 J_s F(s_t, a_t)^\top[(F(s_t,a_t) - s_{t+1}) + \gamma(F(s_t,a_t) - g)]$.
"""),
    code("""
T, gamma = 6, 1.0
s0, g = z0[:1], zg[:1]
states = (s0[:, None] + 0.3 * torch.randn(1, T - 1, model.state_dim, device=env.device)).requires_grad_(True)
acts = (torch.rand(1, T, model.action_dim, device=env.device) * 2 - 1).requires_grad_(True)

def state_grad(stop_grad):
    L = grasp_objective(model, s0, states, acts, g, goal_weight=gamma, stop_grad=stop_grad)["total"]
    return torch.autograd.grad(L, [states])[0]

with torch.no_grad():
    prev = torch.cat([s0[:, None], states[:, :-1]], 1)           # s_0..s_{T-2}
    closed_form = 2 * (states - model.predict(model.windows(prev), acts[:, :-1]))
g_stop, g_full = state_grad(True), state_grad(False)
err_stop = float((g_stop - closed_form).abs().max())
js_term = float((g_full - closed_form).norm() / closed_form.norm())
print(f"stop-grad:    max |autograd - 2(s_t - F(s_t-1, a_t-1))| = {err_stop:.2e}")
print(f"no stop-grad: relative size of the extra J_s F term    = {js_term:.3f}")
"""),
    md(r"""
## 3. Without the goal term the plan collapses

With the stop-gradient, the only place the goal enters the dynamics term is the *last* prediction,
$\|F(\bar s_{T-1}, a_{T-1}) - g\|^2$, and it only reaches the action $a_{T-1}$: no gradient carries the goal back
to earlier states. The states are pulled toward the prediction of their predecessor (forward only), the
actions toward their successor. Start the states at $s_0$ ("stand still") and the plan stays there: the
first $T-1$ actions are zero and $a_{T-1}$ jumps the whole way. The dense goal term
$\gamma \sum_t \|F(\bar s_t, a_t) - g\|^2$ pulls *every* prediction toward $g$ and spreads the motion over time.

We show it on the plainest model there is, an integrator $F(s, a) = s + a$ with unbounded actions (on the
wall world the jump is not even possible: actions are bounded by 1). No noise and no sync, to isolate the
two terms.
"""),
    code("""
import dataclasses
integrator = gv.WorldModel(lambda s, a: s + a, 2, 2, device=env.device, name="integrator s + a")
B, T = 8, 20
rng = np.random.default_rng(0)
start = torch.tensor(rng.uniform(-1, 1, (B, 2)), dtype=torch.float32, device=env.device)
goal = start + torch.tensor([5.0, 0.0], device=env.device)
problem = gv.Problem(integrator, start, goal, T)

runs = {}
for gamma in (0.0, 0.1):
    planner = gv.make_planner("grasp", lr_states=0.05, lr_actions=0.05, sigma=0.0, gamma=gamma, sync=False, steps=300)
    state0 = planner.init(problem, seed=0)
    state0 = dataclasses.replace(state0, states=start[:, None].expand(-1, T - 1, -1).clone())  # stand still at s_0
    runs[gamma] = gv.run(planner, problem, seed=0, state=state0, stride=300, checkpoints=False)

def last_step_share(h):
    steps = np.linalg.norm(np.diff(np.array(h.last.rollout), axis=1), axis=-1)  # (B, T)
    return float((steps[:, -1] / steps.sum(1)).mean())

share = {gamma: last_step_share(h) for gamma, h in runs.items()}
for gamma, h in runs.items():
    print(f"gamma={gamma}: share of the motion in the last step {share[gamma]:.2f}, "
          f"final distance {np.linalg.norm(np.array(h.last.rollout)[:, -1] - goal.cpu().numpy(), axis=-1).mean():.3f}")
"""),
    code("""
fig = go.Figure()
for gamma, color in ((0.0, "#d62728"), (0.1, "#1f77b4")):
    x = np.array(runs[gamma].last.rollout)[0, :, 0] - float(start[0, 0])
    fig.add_trace(go.Scatter(y=x, mode="lines+markers", name=f"gamma = {gamma}", line=dict(color=color)))
fig.update_layout(title="model rollout, problem 0: distance travelled toward the goal", xaxis_title="t",
                  yaxis_title="x(t) - x(0)")
fig
"""),
    code("""
assert err_stop < 1e-4, err_stop          # stop-grad: the state gradient is exactly 2(s_t - F(s_{t-1}, a_{t-1}))
assert js_term > 1e-3, js_term            # without it, the J_s F term is there
assert along_grad["gain"] > along_random["gain"] and along_grad["loss_drop"] > along_random["loss_drop"]
assert share[0.0] > 0.9, share            # no goal term: stand still, then jump (measured 1.00)
assert share[0.1] < 0.3, share            # goal term: motion spread over the horizon (measured 0.00)
"""),
]

NOTEBOOKS["06_planner_race.ipynb"] = [
    md(r"""
# Planner race: GD vs CEM vs GRASP across horizons

The paper's claim has a shape: at short horizons GRASP, CEM and GD are similar; as the horizon $T$ grows,
GRASP keeps the highest success and gets there faster. We race the three planners on the same wall-world
problems at several horizons with `graspviz.race.race`: every planner runs with the world's suggested
settings from the same seed, and for every recorded iterate the race keeps the planning wall time and the
success rate of the plan executed in the true dynamics. Success is then plotted against wall-clock time.
"""),
    code(SETUP),
    code("""
import numpy as np
import graspviz as gv
from graspviz.plotting import fig_race
from graspviz.race import race

world = gv.get_world("wall")
HORIZONS = (20, 40) if env.fast else (20, 40, 60)
n = env.steps(16, 8)
STEPS = {"gd": env.steps(300, 150), "cem": 10, "grasp": env.steps(300, 150)}
results = {}
for T in HORIZONS:
    problem = world.sample_problems(n, horizon=T, seed=0, device=env.device)
    results[T] = race(world, problem, planners=("gd", "cem", "grasp"), steps=STEPS, seed=0)
"""),
    md("Success of the executed plan against planning time, one figure per horizon:"),
    code("fig_race(results[HORIZONS[0]])"),
    code("fig_race(results[HORIZONS[-1]])"),
    md("""
The summary table: final success and the planning time each planner used. The race's `success_true`
is the success of the plan executed in `world.simulate` (for the wall the model is exact, so it equals
`success_model`).
"""),
    code("""
final = {}
for T, res in results.items():
    for name, rec in res["planners"].items():
        succ = rec["success_true"] if rec["success_true"] is not None else rec["success_model"]
        final[(T, name)] = float(succ[-1])
        print(f"T={T:3d} {rec['label']:6s} success {final[(T, name)]:.2f}   planning time {rec['wall_time'][-1]:6.2f} s")
"""),
    code("""
import plotly.graph_objects as go
from graspviz.plotting import planner_color
fig = go.Figure()
for name in ("gd", "cem", "grasp"):
    fig.add_trace(go.Scatter(x=list(HORIZONS), y=[final[(T, name)] for T in HORIZONS], mode="lines+markers",
                             name=name, line=dict(color=planner_color(name))))
fig.update_layout(title=f"wall: success vs horizon ({n} problems)", xaxis_title="horizon T",
                  yaxis_title="success rate", yaxis_range=[0, 1])
fig
"""),
    md("""
On this analytic wall CEM is strong (the model is cheap, 2-D, and 300 samples cover the door often):
the paper's advantage of GRASP over CEM shows on high-dimensional learned models with long horizons, where
sampling gets expensive. What the asserts keep true here: GRASP beats GD shooting at the long horizon.
"""),
    code("""
T = HORIZONS[-1]
assert final[(T, "grasp")] > final[(T, "gd")], final   # measured 0.5 vs 0.0 at T = 40
assert all(len(r["planners"]) == 3 for r in results.values())
"""),
]

NOTEBOOKS["07_interactive_hyperparameters.ipynb"] = [
    md(r"""
# Interactive hyperparameters

GRASP's knobs are fields of a frozen config dataclass (`GraspConfig`), each with bounds and help text
(`graspviz.config.knobs`). The same metadata generates the CLI flags, the app's sliders and, here,
ipywidgets controls. Move a slider and a short plan re-runs on the wall world. The most useful ones:

- `lr_states` $\eta_s$ / `lr_actions` $\eta_a$: the two Adam step sizes;
- `sigma` $\sigma$: state noise; `gamma` $\gamma$: weight of the dense goal term;
- `sync_every` $K_{\text{sync}}$ / `sync_steps` $J_{\text{sync}}$: the periodic full-rollout refinement.

Widgets only respond in a live kernel; under test the cell below calls the update function directly.
"""),
    code(SETUP),
    code("""
import numpy as np
import ipywidgets as W
from IPython.display import display
import graspviz as gv
from graspviz.notebook import knob_widgets
from graspviz.plotting import fig_plan

world = gv.get_world("wall")
problem = world.sample_problems(8, horizon=40, seed=0, device=env.device)
start, goal = problem.start.cpu().numpy(), problem.goal.cpu().numpy()
base = gv.planner_config("grasp", "wall", steps=env.steps(150, 100))
widgets = knob_widgets(base)
print(len(widgets), "controls:", ", ".join(widgets))
"""),
    code("""
def plan(**values):
    cfg = base.replace(**values)
    h = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=cfg.steps, checkpoints=False)
    true = world.simulate(start, np.array(h.last.actions))
    ok = world.is_success(true[:, -1], goal)
    fig = fig_plan(h.last, world.layout(), b=0, start=start, goal=goal, true_rollout=true,
                   title=f"success {ok.mean():.2f} on {len(ok)} problems (showing problem 0)")
    return fig, float(ok.mean())

SHOWN = ["steps", "lr_states", "lr_actions", "sigma", "gamma", "sync_every", "sync_steps", "stop_grad", "noise", "goal_term", "sync"]
out = W.Output()

def update(**values):
    fig, rate = plan(**values)
    out.clear_output(wait=True)
    with out:
        display(fig)

controls = {k: widgets[k] for k in SHOWN}
W.interactive_output(update, controls)
display(W.HBox([W.VBox(list(controls.values())), out]))
"""),
    md("""
The same comparison without widgets, as numbers: the suggested settings, then the sync switched off,
then a goal weight about 300 times larger (greedy: the dense goal term pulls the states into the wall).
"""),
    code("""
variants = {"suggested": {}, "no sync": dict(sync=False), "gamma = 1": dict(gamma=1.0)}
rates = {name: plan(**kw)[1] for name, kw in variants.items()}
for name, r in rates.items():
    print(f"{name:10s} success {r:.2f}")
"""),
    md("""
## The Panel app, inline

`graspviz.app.app()` returns the full explorer (world / planner pickers, the generated knob widgets, the
iteration scrubber, plan view, gap heatmap, losses, landscape, race). It loads Panel with
`pn.extension("plotly", inline=True)`, so the page renders in an offline JupyterLab too. Its state is a
`param.Parameterized` object, reachable at `page.app.state`.
"""),
    code("""
from graspviz.app import app
page = app()
page
"""),
    code("""
assert set(widgets) == {k.name for k in gv.knobs(base)}          # one control per knob
assert rates["suggested"] > rates["no sync"], rates       # measured 0.5-0.62 vs 0.12-0.25
assert rates["suggested"] > rates["gamma = 1"], rates     # measured 0.5-0.62 vs 0.0-0.12
assert page.app.state.world == "wall"
"""),
]

NOTEBOOKS["08_debugging_world_model_failure.ipynb"] = [
    md(r"""
# Debugging a world-model failure

A plan fails in the real world. Two very different things can be wrong:

- **optimiser failure**: the planner did not solve the problem *on the model* (the model's own rollout
  $F^T(s_0, a)$ does not reach $g$). More steps, other settings or another planner may fix it.
- **model error**: the planner solved the model's problem, but the model is wrong: the true rollout of the
  same actions diverges from the model's rollout. Only a better model (or replanning, MPC) fixes it.

The test is mechanical: did the model rollout succeed? did the true rollout succeed? and if they disagree,
*when* do they diverge? First on a model that is wrong on purpose (so we know the answer), then on a
trained model of a MuJoCo simulator.

## A wall model with the door in the wrong place

The "simulator" is the exact wall world. The "world model" is the same dynamics with the door shifted
up by 14 units. Plans made on it will happily go through a door that is not there.
"""),
    code(SETUP),
    code("""
import numpy as np
import plotly.graph_objects as go
import graspviz as gv
from graspviz.execute import execute_history, model_error
from graspviz.plotting import fig_plan
from graspviz.worlds.analytic import WallDynamics

class ShiftedDoor(WallDynamics):
    door_lo, door_hi = 40.0, 48.0   # the true door spans y in [26, 34]

wall = gv.get_world("wall")
wrong = gv.WorldModel(ShiftedDoor(), 2, 2, action_low=-1.0, action_high=1.0, name="wall model, door shifted")
true_problem = wall.sample_problems(16, horizon=40, seed=0, device=env.device)
problem = gv.Problem(wrong.to(env.device), true_problem.start, true_problem.goal, 40, world="wall")
cfg = gv.planner_config("grasp", "wall", steps=env.steps(300, 200))
history = gv.run(gv.make_planner("grasp", cfg), problem, seed=0, stride=10, checkpoints=False)
"""),
    md(r"""
`graspviz.execute.model_error` executes the plan in the simulator and returns the per-step distance
between the model's rollout and the true rollout, shape (B, T+1). The first step where it exceeds a
tolerance is where the model starts to lie.
"""),
    code("""
start, goal = history.start, history.goal
err = model_error(wall, history)                                   # (B, T+1)
true = execute_history(wall, history)["true"]                      # (B, T+1, 2)
model_roll = np.array(history.last.rollout)
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
"""),
    code("""
fig = go.Figure(go.Heatmap(z=err, colorscale="Reds", colorbar=dict(title="|model - true|")))
fig.update_layout(title="where the model lies: distance between model rollout and true rollout",
                  xaxis_title="time step t", yaxis_title="problem b", height=420)
fig
"""),
    md("""
One "model error" problem in the plan view: the virtual states and the model rollout pass through the
fake door (higher up); the true rollout (executed in the simulator) stops at the wall face.
"""),
    code("""
b = verdicts.index("model error")
layout = wall.layout()
layout["walls"] = layout["walls"] + [[30.5, 40.0, 33.5, 48.0]]   # draw the model's door region as well
fig = fig_plan(history.last, layout, b=b, start=start, goal=goal, true_rollout=true,
               title=f"problem {b}: the model's door (y 40-48) is not the real one (y 26-34)")
fig
"""),
    md(r"""
The divergence step is where the dot reaches the wall: one rollout passes through a door the other
does not have (the true dot is blocked at the model's door, or slips through the real door where the model
sees a wall). For an optimiser failure the model rollout
itself misses the goal: look at the loss curves and the consistency gap instead (notebook 05), or run the
same problem with more steps or other settings.

## A trained model of a MuJoCo simulator

`pointmaze` plans on a small MLP trained on transitions of gymnasium-robotics' `PointMaze_UMaze-v3`
(issue 4); `world.simulate` runs MuJoCo. The same three-way test applies, and the model error grows with
the time step as one-step errors compound.
"""),
    code("""
try:
    pm = gv.get_world("pointmaze")
    pm_problem = pm.sample_problems(8, seed=0, device=env.device)
    pm_hist = gv.run(gv.make_planner("grasp", gv.planner_config("grasp", "pointmaze", steps=env.steps(300, 100))),
                     pm_problem, seed=0, stride=20, checkpoints=False)
    pm_err = model_error(pm, pm_hist)
    pm_true_ok = execute_history(pm, pm_hist)["success"]
    pm_model_ok = pm.is_success(np.array(pm_hist.last.rollout)[:, -1], pm_hist.goal)
    pm_verdicts = [verdict(m, t) for m, t in zip(pm_model_ok, pm_true_ok)]
    print("per-step model error, mean over problems:", np.round(pm_err.mean(0), 3))
    print({v: pm_verdicts.count(v) for v in ("success", "model error", "optimiser failure")})
except gv.GraspvizError as e:   # no trained model / simulator on this machine
    print("pointmaze not available:", e)
    pm_err = None
"""),
    code("""
fig = go.Figure()
if pm_err is not None:
    for b in range(pm_err.shape[0]):
        fig.add_trace(go.Scatter(y=pm_err[b], mode="lines", name=f"{b}: {pm_verdicts[b]}"))
    fig.update_layout(title="pointmaze: |learned model rollout - MuJoCo rollout| per time step",
                      xaxis_title="t", yaxis_title="position error")
fig
"""),
    code("""
assert "model error" in verdicts, verdicts
me = [b for b, v in enumerate(verdicts) if v == "model error"]
assert all(err[b, 0] == 0 and diverge[b] > 0 for b in me)     # same start, divergence later
# the lie happens at the wall (x in [30.5, 33.5]): one rollout passes a door the other does not have
assert all(29.5 <= true[b, diverge[b], 0] <= 34.5 for b in me)
if pm_err is not None:
    assert np.isfinite(pm_err).all() and pm_err[:, 0].max() < 1e-6
"""),
]

NOTEBOOKS["09_bring_your_own_world_model.ipynb"] = [
    md(r"""
# Bring your own world model

Any batched, differentiable one-step predictor works: an `nn.Module` with a `step(s, a)` method (else its
`forward`), or a plain callable. `graspviz.WorldModel` wraps it and **validates it once**, with a probe
call: the output must be a tensor of shape $(N, S)$, with the model's dtype and device, and finite. Errors
say what was passed and what was expected.

Two common shapes of real world models are covered here:

- a **history window** $h > 1$ (DINO-WM conditions on 3 frames): the model takes $s$ of shape $(N, h, S)$,
  oldest first, and GRASP builds the windows from its virtual states;
- **patch-token latents** (e.g. $P$ patches of dimension $D$): flatten them to $S = P \cdot D$ at the wrapper
  boundary, reshape inside the model.
"""),
    code(SETUP),
    code("""
import numpy as np
import torch
from torch import nn
import graspviz as gv

P, D, A = 4, 3, 2   # 4 patch tokens of dimension 3 -> flat state S = 12

class PatchDynamics(nn.Module):
    \"\"\"A toy patch-token model with a history window of 2: tokens drift with their velocity,
    actions push every token, and tokens mix through a small fixed attention-like matrix.\"\"\"
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
"""),
    md("""
## What validation catches

Each of these is a typical mistake; the wrapper refuses it before any planner runs, with a one-line message.
"""),
    code("""
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
"""),
    md(r"""
## Plan with it

A problem is a start state, a goal state and a horizon. Here the goal is the end of a random rollout
(so it is reachable), and GRASP plans over actions and the virtual patch-token states. With $h = 2$ each
one-step prediction $F(s_{t-1}, s_t, a_t)$ sees a window of two virtual states, all in one batched call.
"""),
    code("""
B, T = 4, 12
s0 = torch.randn(B, P * D, device=env.device) * 0.5
with torch.no_grad():
    goal = model.rollout(s0, torch.rand(B, T, A, device=env.device) * 2 - 1)[:, -1]
problem = gv.Problem(model, s0, goal, T)
cfg = dict(steps=env.steps(400, 200), lr_states=0.05, lr_actions=0.05, sigma=0.005, gamma=0.1, sync_every=25)
history = gv.run(gv.make_planner("grasp", **cfg), problem, seed=0, stride=10)
d0, d1 = history.at(0).goal_distance, history.last.goal_distance
print("goal distance of the model rollout: before", np.round(d0, 3), " after", np.round(d1, 3))
"""),
    code("""
from graspviz.plotting import fig_losses
fig_losses(history)
"""),
    md("""
Patch tokens come back flat in the History: `history.last.states` has shape (B, T-1, S); reshape to
(B, T-1, P, D) to look at single tokens.
"""),
    code("""
tokens = np.array(history.last.states).reshape(B, T - 1, P, D)
print("virtual states as tokens:", tokens.shape)
"""),
    code("""
assert set(errors) == {"WrongShape", "NoHistory", "WrongDtype", "NaNs"}, errors
assert "(N, S)" in errors["WrongShape"] and "NaN" in errors["NaNs"]
assert model.history == 2 and tokens.shape == (B, T - 1, P, D)
assert np.median(d1) < 0.2 * np.median(d0), (d0, d1)
"""),
]


def build(names=None) -> list[Path]:
    out = []
    for name, cells in NOTEBOOKS.items():
        if names and name not in names:
            continue
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}})
        nbformat.validate(nb)
        path = HERE / name
        nbformat.write(nb, path)
        out.append(path)
    return out


if __name__ == "__main__":
    import sys
    for p in build(sys.argv[1:] or None):
        print("wrote", p.relative_to(HERE.parent))
