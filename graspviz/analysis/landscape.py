"""Loss-landscape slices around a planner's iterate: shooting loss vs GRASP's lifted loss.

For problem ``b`` of a run and an iteration k with iterate z* = (a*, s*) (actions (T, A), virtual
states (T-1, S); shooting planners use their model rollout s*_t = F^t(s_0, a*) as states), pick two
orthonormal directions d1, d2 and evaluate on an R x R grid (alpha_i, beta_j) in [-span, span]^2

    shooting(alpha, beta) = ||F^T(s_0, a* + alpha d1_a + beta d2_a) - g||^2             (actions only)
    lifted(alpha, beta)   = dyn + gamma_k * goal   at z* + alpha d1 + beta d2              (actions + states)

with dyn, goal the terms of :func:`graspviz.planners.grasp.grasp_terms` (paper Eq. 10). Directions:
``"pca"``: the top two principal directions of the iterate path (z_j - z*) (Li et al. 2018's
trajectory PCA), separately in action space and in the joint space; ``"gradient"``: d1 along the
negative gradient of each loss at z*, d2 a seeded random direction orthogonal to it.

All R^2 grid points are stacked into the batch dimension, so each slice costs a few batched model
calls (chunks of ``chunk`` points), under ``torch.no_grad`` (gradients only for the "gradient" directions).
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.errors import GraspvizError, expect
from ..planners.grasp import grasp_terms, shooting_loss


def _flat(actions, states) -> np.ndarray:
    return np.concatenate([np.ravel(actions), np.ravel(states)])


def _orthonormal(vectors, dim: int, seed: int) -> list[np.ndarray]:
    """Gram-Schmidt on the given vectors, topped up with seeded random ones, to two unit vectors."""
    rng = np.random.default_rng(seed)
    out = []
    for v in list(vectors) + [rng.standard_normal(dim) for _ in range(4)]:
        v = np.asarray(v, dtype=np.float64).copy()
        for u in out:
            v -= (v @ u) * u
        n = np.linalg.norm(v)
        if n > 1e-9 * max(1.0, np.linalg.norm(vectors[0]) if len(vectors) else 1.0) and n > 1e-12:
            out.append(v / n)
        if len(out) == 2:
            return out
    raise GraspvizError("could not build two landscape directions")  # pragma: no cover


def _pca(path: np.ndarray, center: np.ndarray, seed: int) -> tuple[list[np.ndarray], list[str]]:
    diffs = path - center[None]
    keep = np.linalg.norm(diffs, axis=1) > 0
    vecs, desc = [], []
    if keep.sum() >= 1:
        _, sv, vt = np.linalg.svd(diffs[keep], full_matrices=False)
        total = float((sv ** 2).sum()) or 1.0
        for i in range(min(2, len(sv))):
            if sv[i] > 1e-9 * sv[0]:
                vecs.append(vt[i])
                desc.append(f"PC{i + 1} of the iterate path ({100 * sv[i] ** 2 / total:.0f}% of its variance)")
    dirs = _orthonormal(vecs, center.size, seed)
    while len(desc) < 2:
        desc.append("random direction orthogonal to the path's PCs (path has too few distinct iterates)")
    return dirs, desc


def landscape(problem, history, iteration: int | None = None, directions: str = "pca", span: float | None = None,
              resolution: int = 31, b: int = 0, seed: int = 0, chunk: int = 4096) -> dict:
    """Two loss slices around the iterate of ``history`` at ``iteration`` (default: the last), problem ``b``.

    Returns a dict: ``alphas`` (R,), ``betas`` (R,), ``shooting`` (R, R) and ``lifted`` (R, R) with
    ``[j, i]`` = value at (alpha_i, beta_j), ``lifted_dynamics`` / ``lifted_goal`` (R, R),
    ``current`` (value of each loss at z*), ``path_shooting`` / ``path_lifted`` (N, 2) projections of the
    recorded iterates, ``directions`` {"shooting": (d1 text, d2 text), "lifted": (...)}, ``span``,
    ``iteration``, ``gamma``, ``planner``, ``lifted_states_from`` ("virtual states" or "model rollout"),
    and the unit direction vectors ``vectors`` {"shooting": (2, T*A), "lifted": (2, T*A + (T-1)*S)}.
    """
    expect(directions in ("pca", "gradient"), f"directions must be 'pca' or 'gradient'; got {directions!r}")
    expect(isinstance(resolution, int) and 2 <= resolution <= 401, f"resolution must be an integer in [2, 401]; got {resolution!r}")
    expect(len(history) > 0, "this history holds no snapshots")
    expect(0 <= b < problem.batch, f"problem index b must be in [0, {problem.batch - 1}]; got {b}")
    snap = history.last if iteration is None else history.at(iteration)
    model = problem.model
    dev, dt = model.device, model.dtype
    T, A, S = problem.horizon, model.action_dim, model.state_dim
    expect(snap.actions.shape[1:] == (T, A), f"history actions {snap.actions.shape[1:]} do not match the problem (T={T}, A={A})")
    s0, goal = problem.start[b:b + 1], problem.goal[b:b + 1]  # (1, S)

    def z_of(s):  # (actions (T, A), states (T-1, S)) of problem b in a snapshot
        states = s.states[b] if s.states is not None else s.rollout[b, 1:T]
        return np.array(s.actions[b], dtype=np.float64), np.array(states, dtype=np.float64)

    a_star, x_star = z_of(snap)
    gamma = snap.gamma if snap.gamma is not None else float(history.config.get("gamma", 1.0))
    lifted = any(s.states is not None for s in history.snapshots)

    if directions == "pca":
        path_a = np.stack([np.ravel(z_of(s)[0]) for s in history.snapshots])
        path_z = np.stack([_flat(*z_of(s)) for s in history.snapshots])
        dir_a, desc_a = _pca(path_a, a_star.ravel(), seed)
        dir_z, desc_z = _pca(path_z, _flat(a_star, x_star), seed + 1)
    else:
        ga, gz = _gradients(model, s0, goal, a_star, x_star, gamma, T)
        rng_note = "seeded random direction orthogonal to d1"
        dir_a = _orthonormal([-ga], ga.size, seed)
        dir_z = _orthonormal([-gz], gz.size, seed + 1)
        desc_a = ("-grad of the shooting loss w.r.t. the actions (unit)", rng_note)
        desc_z = ("-grad of GRASP's lifted loss w.r.t. (actions, states) (unit)", rng_note)

    path_a = np.stack([np.ravel(z_of(s)[0]) - a_star.ravel() for s in history.snapshots])
    path_z = np.stack([_flat(*z_of(s)) - _flat(a_star, x_star) for s in history.snapshots])
    proj_a = path_a @ np.stack(dir_a).T  # (N, 2)
    proj_z = path_z @ np.stack(dir_z).T
    if span is None:
        extent = max(np.abs(proj_a).max(initial=0.0), np.abs(proj_z).max(initial=0.0))
        span = float(1.2 * extent) if extent > 0 else float(0.5 * max(1.0, np.linalg.norm(a_star)))
    expect(np.isfinite(span) and span > 0, f"span must be a positive number; got {span!r}")
    alphas = np.linspace(-span, span, resolution)
    betas = np.linspace(-span, span, resolution)
    AA, BB = np.meshgrid(alphas, betas)  # [j, i] = (alpha_i, beta_j)
    coef = np.stack([AA.ravel(), BB.ravel()], 1)  # (G, 2)

    na = T * A
    shoot = _eval_shooting(model, s0, goal, a_star.ravel() + coef @ np.stack(dir_a), T, A, chunk)
    zs = _flat(a_star, x_star)[None] + coef @ np.stack(dir_z)  # (G, D)
    dyn, gl = _eval_lifted(model, s0, goal, zs[:, :na], zs[:, na:], T, A, S, chunk)
    R = resolution
    with torch.no_grad():
        a0 = torch.as_tensor(a_star, device=dev, dtype=dt)[None]
        x0 = torch.as_tensor(x_star, device=dev, dtype=dt)[None]
        cur_s = float(shooting_loss(model, s0, a0, goal)[0])
        d0, g0, _, _ = grasp_terms(model, s0, x0, a0, goal, True)
    return dict(alphas=alphas, betas=betas, shooting=shoot.reshape(R, R), lifted=(dyn + gamma * gl).reshape(R, R),
                lifted_dynamics=dyn.reshape(R, R), lifted_goal=gl.reshape(R, R),
                current=dict(shooting=cur_s, lifted=float(d0[0] + gamma * g0[0])),
                path_shooting=proj_a, path_lifted=proj_z, path_iterations=list(history.iterations),
                directions=dict(shooting=tuple(desc_a), lifted=tuple(desc_z)), span=span, iteration=snap.iteration,
                gamma=float(gamma), planner=history.planner, b=b, lifted_planner=lifted,
                lifted_states_from="virtual states" if snap.states is not None else "model rollout",
                vectors=dict(shooting=np.stack(dir_a), lifted=np.stack(dir_z)))


def _eval_shooting(model, s0, goal, actions_flat: np.ndarray, T, A, chunk) -> np.ndarray:
    out = []
    with torch.no_grad():
        for i in range(0, len(actions_flat), chunk):
            a = torch.as_tensor(actions_flat[i:i + chunk], device=model.device, dtype=model.dtype).reshape(-1, T, A)
            n = a.shape[0]
            out.append(shooting_loss(model, s0.expand(n, -1), a, goal.expand(n, -1)).double().cpu().numpy())
    return np.concatenate(out)


def _eval_lifted(model, s0, goal, actions_flat, states_flat, T, A, S, chunk):
    dyn, gl = [], []
    with torch.no_grad():
        for i in range(0, len(actions_flat), chunk):
            a = torch.as_tensor(actions_flat[i:i + chunk], device=model.device, dtype=model.dtype).reshape(-1, T, A)
            x = torch.as_tensor(states_flat[i:i + chunk], device=model.device, dtype=model.dtype).reshape(-1, T - 1, S)
            n = a.shape[0]
            d, g, _, _ = grasp_terms(model, s0.expand(n, -1), x, a, goal.expand(n, -1), True)
            dyn.append(d.double().cpu().numpy())
            gl.append(g.double().cpu().numpy())
    return np.concatenate(dyn), np.concatenate(gl)


def _gradients(model, s0, goal, a_star, x_star, gamma, T):
    a = torch.as_tensor(a_star, device=model.device, dtype=model.dtype)[None].requires_grad_(True)
    (ga,) = torch.autograd.grad(shooting_loss(model, s0, a, goal).sum(), [a])
    a2 = torch.as_tensor(a_star, device=model.device, dtype=model.dtype)[None].requires_grad_(True)
    x = torch.as_tensor(x_star, device=model.device, dtype=model.dtype)[None].requires_grad_(True)
    d, g, _, _ = grasp_terms(model, s0, x, a2, goal, True)
    gza, gzx = torch.autograd.grad((d + gamma * g).sum(), [a2, x], allow_unused=True)
    gzx = torch.zeros_like(x) if gzx is None else gzx
    ga = ga.detach().double().cpu().numpy().ravel()
    gz = np.concatenate([gza.detach().double().cpu().numpy().ravel(), gzx.detach().double().cpu().numpy().ravel()])
    return ga, gz
