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
Planning is open loop: we execute all $T$ actions in the true simulator and count the problems whose
final position is within the success threshold. Then we do the same with plain gradient descent on
the shooting loss $\\|F^T(s_0, a) - g\\|^2$ (the GD baseline).
"""),
    code("""
def successes(hist):
    final = world.simulate(start, np.array(hist.last.actions))[:, -1]
    return int(world.is_success(final, goal).sum())

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
