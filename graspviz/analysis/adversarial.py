"""Are a learned model's state-input gradients adversarial? (issue 14, point 3)

GRASP stops the gradient through the world model's state input (``stop_grad``, /work/shared/grasp.md section 3):
the paper's reason is that dF/ds of a high-dimensional vision latent is "adversarial": it lowers the planning
loss by moving the latent in directions that are not real changes of the scene. This module measures that claim
on any world whose model has a decoder (``model.decode``), along real GRASP planning paths.

**Paths.** GRASP as shipped (the world's settings, ``World.config_for``) plans ``n`` seeded problems; the
virtual states s_t (t = 1..T-1) and actions a_t are taken at a few iterations (by default 0, 1/4, 1/2 and all
of the run). Each (problem, t, iteration) is one *unit*.

**The loss and the gradient stop-gradient cuts.** At a unit the planning-loss terms that read s_t through the
model's state input are

    l_t(s) = ||F(s, a_t) - s_{t+1}||^2 + gamma_k ||F(s, a_t) - g||^2

(the targets s_{t+1} and g held fixed; gamma_k the run's goal weight at that iteration). Its gradient
g_t = dl_t/ds at s = s_t is exactly the term GRASP's stop-gradient removes from dL/ds_t. (A model with a
history window h > 1 reads s_t in h terms; then all virtual states step at once and l_t is the term whose
newest input is s_t: a joint step, not one state at a time.)

**The steps.** Directions: d = -g_t / ||g_t|| (the gradient) and ``draws`` seeded random unit directions
(isotropic Gaussian, normalised). Step length ``eps * sigma * sqrt(S)``, where sigma is the RMS per-coordinate
standard deviation of encoded real frames, so ``eps`` is the step's RMS per coordinate in units of the data's
spread, comparable across latent sizes. For each step we measure

- the loss decrease  dl = l_t(s_t) - l_t(s_t + step * d)  (positive: the loss went down);
- the image change   dI = RMS over pixels of decode(s_t + step * d) - decode(s_t);
- the manifold move  dM = dist(s_t + step * d) - dist(s_t), where dist is the distance to the nearest encoded
  real frame (the *reference set*: frames of true states the world samples with its own problem sampler, plus
  the simulator's states along the planned actions when it has a simulator); dM / step is in [-1, 1]: +1 is
  straight away from the data, about 0 sideways.

**The number: the adversarial index.**  Per unit

    A = mean over random draws of dI_random / dI_gradient              (steps of equal latent length)

and the model's number is the median of A over units (at the smallest eps; larger eps check that it is a
first-order quantity). Read it as "per unit of image change, the gradient buys A times the loss decrease it
would if its step changed the image as much as a typical step of the same length": A >> 1 is adversarial (the
gradient lowers the loss along directions the decoder hardly sees), A ~ 1 is neutral, A < 1 means the gradient
points along directions that change the image most (real changes of the scene).

Why not the plain ratio of loss decrease per image change, gradient vs random? A random direction's loss change
is first order in g . r, about ||g|| / sqrt(S) for a unit r, so that ratio carries a factor ~sqrt(S) that any
smooth model has (the gradient is the steepest direction by definition): it grows with the latent size whatever
the model does and cannot compare a 12-D latent with a 75,000-D one. It is reported (``raw_ratio``) with that
factor measured on its own (``steepness`` = dl_gradient / mean |dl_random|), so raw_ratio ~ steepness x A.

The decoder can also change the image *off* the manifold (blur, ghosts), so the manifold move is reported next to
A: ``off_manifold`` = median dM / step along the gradient vs along random directions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..core.errors import GraspvizError, expect
from ..planners import make_planner, steps as loop_steps
from ..worlds import World
from .execute import as_world

#: default settings of :func:`adversarial` (the CLI and the results file read them here)
DEFAULTS = dict(n=16, seed=0, eps=(0.02, 0.1), draws=8, references=2048, fractions=(0.0, 0.25, 0.5, 1.0))
#: rows per decoder / distance call
CHUNK = 2048


@dataclasses.dataclass(frozen=True)
class AdversarialResult:
    """Per-unit measurements of :func:`adversarial`. U units, E step sizes, R random draws; arrays are numpy.

    ``loss`` (U,): l_t at the unit; ``dloss_grad`` / ``dimage_grad`` / ``dmanifold_grad`` (E, U) along the
    gradient and ``*_rand`` (E, U, R) along random directions (loss decrease, RMS image change, change of the
    distance to the nearest real frame); ``distance`` (U,): the unit's distance to the nearest real frame;
    ``iteration`` / ``problem`` / ``t`` (U,): where the unit comes from; ``step`` (E,): the step lengths.
    """

    world: str
    state_dim: int
    planner: str
    config: dict
    n: int
    seed: int
    horizon: int
    iterations: tuple
    eps: tuple
    draws: int
    references: int
    latent_scale: float  # sigma: RMS per-coordinate std of the encoded real frames
    reference_spacing: float  # median distance of a real frame to its nearest other real frame
    step: np.ndarray
    loss: np.ndarray
    distance: np.ndarray
    iteration: np.ndarray
    problem: np.ndarray
    t: np.ndarray
    dloss_grad: np.ndarray
    dloss_rand: np.ndarray
    dimage_grad: np.ndarray
    dimage_rand: np.ndarray
    dmanifold_grad: np.ndarray
    dmanifold_rand: np.ndarray

    # -- per-unit quantities ------------------------------------------------------------------------
    def index(self, e: int = 0) -> np.ndarray:
        """The adversarial index A per unit at step size ``eps[e]``: mean random image change / gradient's."""
        return self.dimage_rand[e].mean(-1) / np.maximum(self.dimage_grad[e], 1e-300)

    @property
    def units(self) -> int:
        return int(self.loss.shape[0])

    def summary(self, e: int = 0, mask=None) -> dict:
        """Medians (and quartiles of A) over units at ``eps[e]``; ``mask`` (U,) bool selects units."""
        m = np.ones(self.units, bool) if mask is None else np.asarray(mask, bool)
        loss = np.maximum(self.loss[m], 1e-300)
        dl_g, dl_r = self.dloss_grad[e][m], self.dloss_rand[e][m]
        di_g, di_r = self.dimage_grad[e][m], self.dimage_rand[e][m]
        a = self.index(e)[m]
        step = float(self.step[e])
        return dict(
            eps=float(self.eps[e]), step=step, units=int(m.sum()), distance=_med(self.distance[m]),
            adversarial_index=_med(a), index_q25=_q(a, 25), index_q75=_q(a, 75),
            share_above_1=float(np.mean(a > 1)) if a.size else float("nan"),
            loss_drop_grad=_med(dl_g / loss), loss_drop_rand=_med(dl_r.mean(-1) / loss),
            image_grad=_med(di_g), image_rand=_med(di_r.mean(-1)),
            loss_per_image_grad=_med(dl_g / np.maximum(di_g, 1e-300)),
            loss_per_image_rand=_med(np.abs(dl_r).mean(-1) / np.maximum(di_r.mean(-1), 1e-300)),
            steepness=_med(dl_g / np.maximum(np.abs(dl_r).mean(-1), 1e-300)),
            raw_ratio=_med((dl_g / np.maximum(di_g, 1e-300)) /
                           np.maximum(np.abs(dl_r).mean(-1) / np.maximum(di_r.mean(-1), 1e-300), 1e-300)),
            off_manifold_grad=_med(self.dmanifold_grad[e][m] / step),
            off_manifold_rand=_med(self.dmanifold_rand[e][m].mean(-1) / step),
        )

    def summary_all(self) -> list[dict]:
        """:meth:`summary` at every step size."""
        return [self.summary(e) for e in range(len(self.eps))]

    def headline(self) -> float:
        """The model's one number: the median adversarial index at the smallest step size."""
        return self.summary(0)["adversarial_index"]

    def to_dict(self, max_units: int = 400) -> dict:
        """JSON-ready: settings, the summary at every eps and per iteration, and (for figures) up to ``max_units``
        units' values at the smallest eps (evenly spaced over the units)."""
        keep = np.unique(np.linspace(0, self.units - 1, min(self.units, max_units)).round().astype(int)) \
            if self.units else np.zeros(0, int)
        step = float(self.step[0])
        norm = np.maximum(np.median(self.dimage_rand[0].mean(-1)), 1e-300) if self.units else 1.0
        loss = np.maximum(self.loss, 1e-300)
        units = dict(
            index=self.index(0)[keep], iteration=self.iteration[keep],
            loss_drop_grad=(self.dloss_grad[0] / loss)[keep], loss_drop_rand=(self.dloss_rand[0][:, 0] / loss)[keep],
            image_grad=(self.dimage_grad[0] / norm)[keep], image_rand=(self.dimage_rand[0][:, 0] / norm)[keep],
            off_manifold_grad=(self.dmanifold_grad[0] / step)[keep],
            off_manifold_rand=(self.dmanifold_rand[0][:, 0] / step)[keep])
        return dict(
            world=self.world, state_dim=self.state_dim, planner=self.planner, config=self.config, n=self.n,
            seed=self.seed, horizon=self.horizon, iterations=list(self.iterations), eps=list(self.eps),
            draws=self.draws, references=self.references, latent_scale=self.latent_scale,
            reference_spacing=self.reference_spacing, units_total=self.units,
            distance_median=_med(self.distance), adversarial_index=self.headline(),
            summary=self.summary_all(),
            by_iteration=[dict(iteration=int(k), **self.summary(0, self.iteration == k)) for k in self.iterations],
            units={k: [float(x) for x in v] for k, v in units.items()})


def _med(x) -> float:
    x = np.asarray(x, float)
    return float(np.median(x)) if x.size else float("nan")


def _q(x, q) -> float:
    x = np.asarray(x, float)
    return float(np.percentile(x, q)) if x.size else float("nan")


# -- the measurements ---------------------------------------------------------------------------------
def input_terms(model, s0, inputs, targets, actions, goal, gamma: float) -> torch.Tensor:
    """The planning-loss terms that read the virtual states through the model's state input.

    s0 (B, S), inputs (B, T-1, S) (the states fed to F), targets (B, T-1, S) (the virtual states as targets,
    held fixed), actions (B, T, A), goal (B, S) -> (B, T-1): for t = 1..T-1,
    ||F(s_t, a_t) - s_{t+1}||^2 + gamma ||F(s_t, a_t) - g||^2 with s_T = g.
    """
    traj = torch.cat([s0[:, None], inputs], 1)  # (B, T, S): s_0, s_1..s_{T-1} as the model's inputs
    nxt = torch.cat([targets, goal[:, None]], 1)[:, 1:]  # (B, T-1, S): s_2..s_{T-1}, g (targets of t = 1..T-1)
    pred = model.predict(model.windows(traj), actions)[:, 1:]  # (B, T-1, S)
    return (pred - nxt).square().sum(-1) + gamma * (pred - goal[:, None]).square().sum(-1)


def state_input_gradient(model, s0, states, actions, goal, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(terms (B, T-1), their gradient with respect to the model's state inputs (B, T-1, S)): the gradient GRASP's
    stop-gradient cuts."""
    x = states.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        terms = input_terms(model, s0, x, states.detach(), actions, goal, gamma)
        (g,) = torch.autograd.grad(terms.sum(), [x])
    return terms.detach(), g.detach()


def _chunked(fn, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([fn(x[i:i + CHUNK]) for i in range(0, x.shape[0], CHUNK)])


def _decode(model, z: torch.Tensor) -> torch.Tensor:
    """Latents (N, S) -> decoded images flattened (N, P)."""
    def dec(zz):
        out = model.decode(zz)
        expect(isinstance(out, torch.Tensor) and out.shape[0] == zz.shape[0],
               f"the decoder of {model.name} must return a tensor with one image per latent")
        return out.reshape(zz.shape[0], -1).to(zz.dtype)
    return _chunked(dec, z)


def nearest_distance(z: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
    """Distance of each row of z (N, S) to the nearest row of refs (M, S) -> (N,)."""
    def near(zz):
        return torch.cdist(zz, refs).min(1).values
    return _chunked(near, z)


def reference_latents(world: World, problem_true_start, plans, n: int, horizon: int, seed: int) -> np.ndarray:
    """Encoded real frames (M, S): ``n`` true states from the world's problem sampler (starts and goals) plus, with
    a simulator, the true states the plans (B, T, A) visit from the problems' true starts."""
    start, goal = world.sample_pairs(max(1, n // 2), horizon, np.random.default_rng(seed + 7919))
    true = [np.asarray(start), np.asarray(goal)]
    if world.simulator and problem_true_start is not None:
        for a in plans:
            true.append(np.asarray(world.simulate(problem_true_start, a)).reshape(-1, world.true_dim))
    x = np.concatenate(true).reshape(-1, world.true_dim)
    return np.concatenate([np.asarray(world.to_planning(x[i:i + CHUNK]), np.float64).reshape(-1, world.state_dim)
                           for i in range(0, x.shape[0], CHUNK)])


def _step_effects(model, s0, states, actions, goal, gamma, terms, img0, dist0, refs, step):
    """(loss decrease, RMS image change, change of the nearest-real-frame distance), each (B * (T-1),), of moving
    the virtual states (B, T-1, S) by ``step`` (B, T-1, S)."""
    moved = states + step
    with torch.no_grad():
        new_terms = input_terms(model, s0, moved, states, actions, goal, gamma)  # (B, T-1)
    flat = moved.reshape(-1, states.shape[-1])
    img = _decode(model, flat)
    return ((terms - new_terms).reshape(-1), (img - img0).square().mean(-1).sqrt(),
            nearest_distance(flat, refs) - dist0)


def _decoder_of(world: World, model):
    if getattr(model, "decode", None) is None or not callable(model.decode):
        raise GraspvizError(f"world {world.name!r} has no decoder: the adversarial test measures how a latent step "
                            f"changes the decoded image, so it needs a learned latent world whose model has "
                            f"decode(z) -> image (e.g. wall_pixels)")


def adversarial(world, *, n: int = DEFAULTS["n"], seed: int = DEFAULTS["seed"], settings: str = "world",
                steps: int | None = None, horizon: int | None = None, planner: str = "grasp",
                eps=DEFAULTS["eps"], draws: int = DEFAULTS["draws"], references: int = DEFAULTS["references"],
                fractions=DEFAULTS["fractions"], device="cpu", dtype=torch.float64, progress=None) -> AdversarialResult:
    """Measure a model's state-input gradients against random directions along GRASP's planning paths (see the
    module docstring). ``world``: a registered name or a World whose model has ``decode``. GRASP plans in float32
    (as shipped); the steps are measured in ``dtype``. ``progress(text)`` is called as the work goes."""
    world = as_world(world)
    model = world.model(device, dtype)
    _decoder_of(world, model)
    eps = tuple(float(e) for e in (eps if np.ndim(eps) else [eps]))
    expect(len(eps) >= 1 and all(np.isfinite(e) and e > 0 for e in eps), f"eps must be numbers > 0; got {eps}")
    for what, v, low in (("n", n, 1), ("draws", draws, 1), ("references", references, 2), ("seed", seed, 0)):
        expect(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= low,
               f"{what} must be an integer >= {low}; got {v!r}")
    fr = tuple(float(f) for f in fractions)
    expect(len(fr) >= 1 and all(0 <= f <= 1 for f in fr), f"fractions must be numbers in [0, 1]; got {fractions}")
    say = progress or (lambda text: None)

    problem = world.sample_problems(n, horizon, seed=seed, device=device, dtype=torch.float32)
    T = problem.horizon
    expect(T >= 2, f"the horizon must be >= 2 (GRASP has no virtual states at T = 1); got {T}")
    over = {} if steps is None else {"steps": steps}
    plan = make_planner(planner, world.config_for(planner, settings, **over))
    expect(plan.lifted, f"planner {planner!r} has no virtual states; use grasp or one of its ablations")
    plan = plan.resolve(problem, warn=False)
    total = plan.config.steps
    want = sorted({int(round(f * total)) for f in fr})
    say(f"planning {n} problems of {world.name} with {planner} ({total} iterations)")
    iterates = {}
    for step in loop_steps(plan, problem, seed):
        k = step.state.iteration
        if k in want:
            iterates[k] = (step.state.states.detach(), step.state.actions.detach(), plan.schedules(k)[1])
    say(f"encoding ~{references} reference frames")
    plans = [v[1].cpu().double().numpy() for v in iterates.values()]
    refs = torch.tensor(reference_latents(world, problem.true_start, plans, references, T, seed), device=device,
                        dtype=dtype)
    sigma = float(refs.var(0).mean().sqrt())
    expect(sigma > 0, f"the encoded real frames of {world.name} do not vary (latent spread 0)")
    sub = refs[torch.randperm(refs.shape[0], generator=torch.Generator().manual_seed(seed))[:512].to(device)]
    d_sub = torch.cdist(sub, refs)
    d_sub[d_sub == 0] = float("inf")  # the frame itself (and exact duplicates)
    spacing = float(d_sub.min(1).values.median())
    S = world.state_dim
    step_len = torch.tensor(eps, dtype=dtype) * sigma * S ** 0.5  # (E,)

    s0, goal = problem.start.to(device, dtype), problem.goal.to(device, dtype)
    rows = {key: [] for key in ("loss", "distance", "iteration", "problem", "t", "dl_g", "dl_r", "di_g", "di_r",
                                "dm_g", "dm_r")}
    B, R = n, int(draws)
    for k, (states, actions, gamma) in sorted(iterates.items()):
        say(f"iteration {k}: gradients and {R} random directions at {len(eps)} step sizes")
        states, actions = states.to(device, dtype), actions.to(device, dtype)
        terms, g = state_input_gradient(model, s0, states, actions, goal, gamma)  # (B, T-1), (B, T-1, S)
        gn = g.norm(dim=-1, keepdim=True)
        ok = (gn[..., 0] > 0).reshape(-1)  # units whose model-input terms have a gradient at all
        d_grad = -g / gn.clamp_min(1e-300)  # (B, T-1, S) descent direction
        gen = torch.Generator(device=device).manual_seed(int(seed) * 1_000_003 + k)
        r = torch.randn((R, B, T - 1, S), generator=gen, device=device, dtype=dtype)
        d_rand = r / r.norm(dim=-1, keepdim=True)  # (R, B, T-1, S)
        dirs = torch.cat([d_grad[None], d_rand])  # (1+R, B, T-1, S)
        flat0 = states.reshape(-1, S)
        img0, dist0 = _decode(model, flat0), nearest_distance(flat0, refs)
        dl, di, dm = [], [], []
        for e in range(len(eps)):
            per = [_step_effects(model, s0, states, actions, goal, gamma, terms, img0, dist0, refs,
                                 step_len[e] * dirs[j]) for j in range(1 + R)]  # one direction at a time (memory)
            dl.append(torch.stack([p[0] for p in per]))  # (1+R, U_k)
            di.append(torch.stack([p[1] for p in per]))
            dm.append(torch.stack([p[2] for p in per]))
        dl, di, dm = (torch.stack(x).cpu().numpy()[:, :, ok.cpu().numpy()] for x in (dl, di, dm))  # (E, 1+R, U_k)
        okn = ok.cpu().numpy()
        rows["loss"].append(terms.reshape(-1).cpu().numpy()[okn])
        rows["distance"].append(dist0.cpu().numpy()[okn])
        bb, tt = np.meshgrid(np.arange(B), np.arange(1, T), indexing="ij")
        rows["problem"].append(bb.reshape(-1)[okn])
        rows["t"].append(tt.reshape(-1)[okn])
        rows["iteration"].append(np.full(int(okn.sum()), k))
        for key, x in (("dl", dl), ("di", di), ("dm", dm)):
            rows[f"{key}_g"].append(x[:, 0])
            rows[f"{key}_r"].append(np.moveaxis(x[:, 1:], 1, -1))  # (E, U_k, R)
    cat = {key: np.concatenate(v, axis=-1 if key.endswith("_g") else (1 if key.endswith("_r") else 0))
           for key, v in rows.items()}
    return AdversarialResult(
        world=world.name, state_dim=S, planner=planner, config=plan.config.to_dict(), n=int(n), seed=int(seed),
        horizon=T, iterations=tuple(sorted(iterates)), eps=eps, draws=R, references=int(refs.shape[0]),
        latent_scale=sigma, reference_spacing=spacing, step=step_len.numpy(), loss=cat["loss"],
        distance=cat["distance"], iteration=cat["iteration"], problem=cat["problem"], t=cat["t"],
        dloss_grad=cat["dl_g"], dloss_rand=cat["dl_r"], dimage_grad=cat["di_g"], dimage_rand=cat["di_r"],
        dmanifold_grad=cat["dm_g"], dmanifold_rand=cat["dm_r"])


def summary_lines(result: AdversarialResult) -> list[str]:
    """What ``graspviz adversarial`` prints."""
    r = result
    lines = [f"{r.world}: S={r.state_dim}, {r.n} problems, T={r.horizon}, {r.planner} iterations "
             f"{', '.join(map(str, r.iterations))}; {r.units} states x {r.draws} random directions; "
             f"{r.references} real frames (latent spread sigma {r.latent_scale:.3g}, nearest-frame spacing "
             f"{r.reference_spacing:.3g}; the virtual states' median distance to a real frame "
             f"{_med(r.distance):.3g})",
             f"adversarial index (median over states of random image change / gradient image change, eps "
             f"{r.eps[0]:g}): {r.headline():.3g}   (>1: the gradient hides from the decoder; <1: it changes the image)"]
    for s in r.summary_all():
        lines.append(
            f"eps {s['eps']:g} (step {s['step']:.3g}): A {s['adversarial_index']:.3g} [IQR {s['index_q25']:.3g}.."
            f"{s['index_q75']:.3g}, {100 * s['share_above_1']:.0f}% > 1]; loss drop grad {100 * s['loss_drop_grad']:.3g}%"
            f" vs random {100 * s['loss_drop_rand']:.2g}%; image change grad {s['image_grad']:.3g} vs random "
            f"{s['image_rand']:.3g}; steepness {s['steepness']:.3g}, raw loss-per-image ratio {s['raw_ratio']:.3g}; "
            f"off-manifold share grad {s['off_manifold_grad']:.2f} vs random {s['off_manifold_rand']:.2f}")
    first, last = r.summary(0), r.summary(len(r.eps) - 1)
    if len(r.eps) > 1 and not 0.8 < last["steepness"] / max(first["steepness"], 1e-300) < 1.25:
        lines.append(f"note: at eps {r.eps[-1]:g} the steps are not small (steepness {last['steepness']:.3g} vs "
                     f"{first['steepness']:.3g} at eps {r.eps[0]:g}: second-order effects); read the smallest eps, "
                     f"or check it with a smaller one")
    for k in r.iterations:
        s = r.summary(0, r.iteration == k)
        lines.append(f"  iteration {k}: A {s['adversarial_index']:.3g}, loss drop grad {100 * s['loss_drop_grad']:.3g}%,"
                     f" off-manifold grad {s['off_manifold_grad']:.2f} vs random {s['off_manifold_rand']:.2f}; "
                     f"distance to a real frame {s['distance']:.3g}")
    return lines

__all__ = ["adversarial", "AdversarialResult", "input_terms", "state_input_gradient", "nearest_distance",
           "reference_latents", "summary_lines", "DEFAULTS"]
