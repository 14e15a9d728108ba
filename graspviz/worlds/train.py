"""Data collection and training of the bundled learned world models (CPU-friendly, deterministic).

Data: ``episodes`` trajectories from random starts under piecewise-constant random actions (the
world's own goal-sampling actions), saved as ``.npz`` with ``states`` (E, T+1, S_true) and
``actions`` (E, T, A). ``wall_pixels`` stores true positions; images are rendered while training.

Training:
- simulator worlds: :class:`~graspviz.worlds.learned.StateMLP`, MSE on the normalised one-step delta
  (Adam, cosine-free constant lr, batch 256).
- ``wall_pixels``: :class:`~graspviz.worlds.learned.PixelWM` trained jointly on image reconstruction
  (BCE of the decoded first frame), latent prediction (MSE to the stop-gradient encoding of the next
  image) and pixel prediction (BCE of the decoded predicted latent); the BCE up-weights the dot's pixels.
- ``wall_tokens``: :class:`~graspviz.worlds.learned.TokenWM` in two stages, DINO-WM's recipe with our own encoder.
  Stage 1 (``steps // 2`` steps, batch 32): the encoder and decoder as an autoencoder on single frames, the decoder
  reconstructing the frame (BCE, dot pixels up-weighted) and a blurred copy of the dot (the frame minus the static
  walls, Gaussian blur of ``BLUR`` px, peak scaled to 1): the blurred target makes tokens a few patches away from
  the dot encode it too, so token distances keep growing with the dot's displacement beyond a blob's width.
  Stage 2 (the other steps, batch 64): the encoder is FROZEN, every frame is encoded once, and the predictor alone
  is trained on the frozen tokens: ``ROLLOUT`` chained predictions from windows of the last 3 frames (a window
  reaching before an episode's start repeats its first frame, as :meth:`WorldModel.windows` pads), MSE of each to the
  true next tokens in units of the per-dimension std of one-step token changes.
- ``pusht_pixels``: the same two stages on gym-pusht's RGB frames (rendered from the collected states); stage 1's
  second target is a ``BLUR_PUSHT`` px blur of what differs from the empty arena (agent and block), and stage 2
  also trains the readout head (tokens -> the 5-D state, positions / 512 and the angle's sine and cosine).

Training runs on one CPU thread, so the same command gives the same weights (and SHA-256) on any
machine with the same torch build. After training the weights go to ``<assets>/models/<name>.safetensors`` and the manifest gets an entry
with the architecture, command, data size, seed, sha256 and one-step / 10-step errors measured on
fresh held-out simulator rollouts.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core.errors import GraspvizError
from . import learned

EPISODE_LEN = {"pointmaze": 20, "pusht": 20, "wall_pixels": 20, "wall_tokens": 20, "pusht_pixels": 20}
DEFAULT_EPISODES = {"pointmaze": 400, "pusht": 400, "wall_pixels": 500, "wall_tokens": 500, "pusht_pixels": 500}
#: the token worlds' blurred targets' std (px); chained predictions per predictor sample
BLUR, BLUR_PUSHT, ROLLOUT = 8.0, 3.0, 3
#: the worlds whose model is a :class:`~graspviz.worlds.learned.TokenWM`
TOKEN_WORLDS = ("wall_tokens", "pusht_pixels")


def _world(name):
    from . import get_world
    w = get_world(name)
    if name not in learned.DEFAULT_MODELS:
        raise GraspvizError(f"world {name!r} has no learned model to train; expected one of: {', '.join(learned.DEFAULT_MODELS)}")
    return w


def collect(world: str, episodes: int, seed: int = 0, length: int | None = None, progress: bool = True) -> dict:
    """Random-action trajectories in the simulator: dict(states (E, T+1, S), actions (E, T, A))."""
    if episodes < 1:
        raise GraspvizError(f"episodes must be >= 1; got {episodes}")
    w = _world(world)
    T = length or EPISODE_LEN[world]
    rng = np.random.default_rng(seed)
    S, A = [], []
    for _ in tqdm(range(episodes), desc=f"collect {world}", disable=not progress):
        if world == "pointmaze":
            from .sims.common import random_actions
            s0 = w.random_start(rng)
            s0[2:] = rng.normal(0, 1.0, 2)  # moving starts too
            a = random_actions(rng, T, [-1, -1], [1, 1], hold=int(rng.integers(1, 5)))
        elif world in ("pusht", "pusht_pixels"):
            s0 = w.random_start(rng)
            if rng.random() < 0.5:  # start the agent next to the block so pushes are frequent
                s0[:2] = s0[2:4] + rng.normal(0, 40, 2)
            a = w.random_actions(rng, s0, T)
        elif world == "wall_tokens":
            from .sims.common import random_actions
            s0 = w.random_start(rng)
            a = random_actions(rng, T, [-1, -1], [1, 1], hold=int(rng.integers(1, 5)))
        else:
            s0 = rng.uniform(6, 58, 2)
            from .sims.common import random_actions
            a = random_actions(rng, T, [-1, -1], [1, 1], hold=int(rng.integers(1, 6)))
        S.append(w.simulate(s0[None], a[None])[0])
        A.append(a)
    return dict(states=np.stack(S).astype(np.float32), actions=np.stack(A).astype(np.float32),
                world=np.array(world), seed=np.array(seed))


def save_data(data: dict, path) -> None:
    np.savez_compressed(path, **data)


def load_data(path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise GraspvizError(f"cannot read data file {path}: {e}") from None


def _arch(world):
    if world == "pointmaze":
        return "StateMLP", dict(state_dim=4, action_dim=2, hidden=128, layers=3, action_low=-1.0, action_high=1.0)
    if world == "pusht":
        return "StateMLP", dict(state_dim=5, action_dim=2, hidden=192, layers=3, action_low=0.0, action_high=512.0,
                                angle_index=4)
    if world == "wall_tokens":
        return "TokenWM", dict(dim=16, channels=32, hidden=32, history=3, action_dim=2, action_low=-1.0,
                               action_high=1.0)
    if world == "pusht_pixels":  # RGB frames; a readout head estimates the 5-D state for figures
        return "TokenWM", dict(dim=16, channels=32, hidden=48, history=3, action_dim=2, action_low=0.0,
                               action_high=512.0, channels_in=3, readout=6)
    return "PixelWM", dict(latent=12, action_dim=2, channels=16, hidden=128, action_low=-1.0, action_high=1.0)


def _delta(world, s, s1):
    d = s1 - s
    if world == "pusht":
        d[..., 4] = (d[..., 4] + math.pi) % (2 * math.pi) - math.pi
    return d


def train_state_mlp(world, data, steps, seed, progress=True, lr=2e-3, batch=256):
    arch, hp = _arch(world)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    m = learned.build(arch, hp)
    st = torch.tensor(data["states"], dtype=torch.float32)
    ac = torch.tensor(data["actions"], dtype=torch.float32)
    s, s1, a = st[:, :-1].reshape(-1, st.shape[-1]), st[:, 1:].reshape(-1, st.shape[-1]), ac.reshape(-1, ac.shape[-1])
    d = _delta(world, s, s1)
    m.set_stats(s, a, d)
    target = (d - m.d_mean) / m.d_std
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    bar = tqdm(range(steps), desc=f"train {world}", disable=not progress)
    for _ in bar:
        i = torch.randint(0, s.shape[0], (min(batch, s.shape[0]),), generator=gen)
        loss = ((m.delta_normalised(s[i], a[i]) - target[i]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    return m, arch, hp


def train_pixel(world, data, steps, seed, progress=True, lr=2e-3, batch=32, k=1):
    from .sims.wall_pixels import background, render_batch
    arch, hp = _arch(world)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    m = learned.build(arch, hp)
    st, ac = data["states"], torch.tensor(data["actions"], dtype=torch.float32)
    E, T1 = st.shape[:2]
    imgs = torch.tensor(render_batch(st.reshape(-1, 2)).reshape(E, T1, 64, 64), dtype=torch.float32)
    bg = torch.tensor(background(), dtype=torch.float32)  # the walls alone
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    bar = tqdm(range(steps), desc=f"train {world}", disable=not progress)
    for _ in bar:
        e = torch.randint(0, E, (batch,), generator=gen)
        t = torch.randint(0, T1 - k, (batch,), generator=gen)
        idx = t[:, None] + torch.arange(k + 1)
        o = imgs[e[:, None], idx]  # (b, k+1, 64, 64)
        a = ac[e[:, None], idx[:, :k]]  # (b, k, 2)
        z = m.encode(o.reshape(-1, 64, 64)).reshape(batch, k + 1, -1)
        zz, preds = z[:, 0], []
        for j in range(k):
            zz = m.step(zz, a[:, j])
            preds.append(zz)
        pred = torch.stack(preds, 1)  # (b, k, latent)
        lat = ((pred - z[:, 1:].detach()) ** 2).mean()  # the target is not pulled towards the prediction
        # decode the first frame's latent (reconstruction) and the predicted latents (pixel prediction)
        logits = m.decode_logits(torch.cat([z[:, :1], pred], 1).reshape(-1, z.shape[-1])).reshape(batch, k + 1, 64, 64)
        wt = 1.0 + 100.0 * (o - bg).clamp_min(0)  # up-weight the dot's pixels (a few dozen of 4096)
        rec = bce(logits[:, 0], o[:, 0], weight=wt[:, 0])
        pix = bce(logits[:, 1:], o[:, 1:], weight=wt[:, 1:])
        loss = rec + lat + pix
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(rec=f"{rec.item():.4f}", lat=f"{lat.item():.4f}", refresh=False)
    return m, arch, hp


def _blur_kernel(std: float) -> torch.Tensor:
    r = int(3 * std)
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * std ** 2))
    return k / k.sum()


def blurred_dot(imgs, bg, std: float = BLUR) -> torch.Tensor:
    """Images (N, 64, 64) -> the dot alone (walls subtracted), Gaussian-blurred by ``std`` px and scaled so that a
    free dot peaks at 1, clipped to [0, 1]: stage 1's second reconstruction target."""
    from .sims.wall_pixels import BLOB_STD
    k = _blur_kernel(std)
    x = (imgs - bg).clamp_min(0)[:, None]
    x = torch.nn.functional.conv2d(x, k[None, None, :, None], padding=(k.numel() // 2, 0))
    x = torch.nn.functional.conv2d(x, k[None, None, None, :], padding=(0, k.numel() // 2))
    return (x[:, 0] * (BLOB_STD ** 2 + std ** 2) / BLOB_STD ** 2).clamp(0, 1)


def _windows(Z, e, t, h):
    """The frozen tokens of the ``h`` frames up to ``t`` of episodes ``e``, as a list (oldest first; before the
    start, the first frame)."""
    return [Z[e, (t - h + 1 + j).clamp_min(0)] for j in range(h)]


def _token_data(world, states, progress=False):
    """A token world's training frames and stage 1's targets: (frames (N, [C,] 64, 64), target_fn, weight_fn) where
    ``target_fn(frames)`` is the blurred moving part (N, 64, 64) and ``weight_fn(frames)`` up-weights its pixels."""
    w = _world(world)
    if world == "wall_tokens":
        from .sims.wall_pixels import background, render_batch
        bg = torch.tensor(background(), dtype=torch.float32)  # the walls alone
        return (torch.tensor(render_batch(states.reshape(-1, 2)), dtype=torch.float32), lambda o: blurred_dot(o, bg),
                lambda o: 1.0 + 100.0 * (o - bg).clamp_min(0))  # the dot: a few dozen of 4096 pixels
    flat = states.reshape(-1, states.shape[-1])
    frames = [w.frames(flat[i:i + 256]) for i in tqdm(range(0, flat.shape[0], 256), desc=f"render {world}",
                                                       disable=not progress)]
    bg = torch.tensor(w.background(), dtype=torch.float32)
    k = _blur_kernel(BLUR_PUSHT)

    def moving(o):  # what differs from the empty canvas (the agent and the block), (N, 64, 64)
        return (o - bg).abs().amax(1)

    def target(o):
        x = moving(o)[:, None]
        x = torch.nn.functional.conv2d(x, k[None, None, :, None], padding=(k.numel() // 2, 0))
        x = torch.nn.functional.conv2d(x, k[None, None, None, :], padding=(0, k.numel() // 2))
        return x[:, 0].clamp(0, 1)
    return torch.tensor(np.concatenate(frames)), target, lambda o: (1.0 + 30.0 * moving(o))[:, None]


def train_tokens(world, data, steps, seed, progress=True, lr=2e-3, batch=(32, 64), k=ROLLOUT):
    arch, hp = _arch(world)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    m = learned.build(arch, hp)
    st, ac = data["states"], torch.tensor(data["actions"], dtype=torch.float32)
    E, T1 = st.shape[:2]
    imgs, target_fn, weight_fn = _token_data(world, st, progress)  # (E * T1, [C,] 64, 64)
    C = m.channels_in
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    stage1, stage2 = steps // 2, steps - steps // 2
    # stage 1: encoder + decoder on single frames
    ae = list(m.enc.parameters()) + list(m.dec.parameters())
    opt = torch.optim.Adam(ae, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(stage1, 1))
    bar = tqdm(range(stage1), desc=f"train {world} (1/2: encoder)", disable=not progress)
    for _ in bar:
        o = imgs[torch.randint(0, imgs.shape[0], (batch[0],), generator=gen)]
        logits = m.decode_logits(m.encode(o))
        rec = bce(logits[:, 0] if C == 1 else logits[:, :C], o, weight=weight_fn(o))
        blur = bce(logits[:, C], target_fn(o))
        loss = rec + blur
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(rec=f"{rec.item():.4f}", blur=f"{blur.item():.4f}", refresh=False)
    # stage 2: the encoder is frozen; the predictor (and a readout head, if any) learn on its tokens
    for p in ae:
        p.requires_grad_(False)
    with torch.no_grad():
        Z = torch.cat([m.encode(imgs[i:i + 512]) for i in range(0, imgs.shape[0], 512)]).reshape(E, T1, -1)
    del imgs
    m.set_stats(Z, Z[:, 1:] - Z[:, :-1])
    scale = m.d_std.repeat(Z.shape[-1] // m.dim)  # per flat coordinate
    params = list(m.pred.parameters())
    if m.readout is not None:
        from .sims.pusht_pixels import readout_target
        R = torch.tensor(readout_target(st), dtype=torch.float32)  # (E, T1, readout)
        params += list(m.readout.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(stage2, 1))
    k = min(k, T1 - 1)
    bar = tqdm(range(stage2), desc=f"train {world} (2/2: predictor)", disable=not progress)
    for _ in bar:
        e = torch.randint(0, E, (batch[1],), generator=gen)
        t = torch.randint(0, T1 - k, (batch[1],), generator=gen)
        win = _windows(Z, e, t, m.history)
        loss = 0.0
        for j in range(k):
            pred = m.step(torch.stack(win[-m.history:], 1), ac[e, t + j])
            loss = loss + (((pred - Z[e, t + j + 1]) / scale) ** 2).mean() / k
            win.append(pred)
        if m.readout is not None:  # read the true state off the frozen tokens of frame t
            loss = loss + ((m.read(Z[e, t]) - R[e, t]) ** 2).mean() * 100
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(pred=f"{loss.item():.4f}", refresh=False)
    return m, arch, hp


def evaluate_tokens(world, module, data, horizon) -> dict:
    """Reconstruction, one-step and ``horizon``-step errors of a TokenWM in the world's true units (the Wall: the
    decoded dot centre vs the truth, px; Push-T: the readout head's agent + block position, px, and angle)."""
    from ..core.model import WorldModel
    w = _world(world)
    module = module.float()
    w._module = module
    st = data["states"].astype(np.float64)
    ac = torch.tensor(data["actions"], dtype=torch.float32)
    E, T1 = st.shape[:2]
    imgs, _, _ = _token_data(world, st)
    with torch.no_grad():
        Z = module.encode(imgs).reshape(E, T1, -1)
        er = w.distance(w.to_true(Z.numpy()), st).mean()
        e = torch.arange(E).repeat_interleave(T1 - 1)
        t = torch.arange(T1 - 1).repeat(E)
        one = module.step(torch.stack(_windows(Z, e, t, module.history), 1), ac[e, t])
        e1 = w.distance(w.to_true(one.numpy()), st[:, 1:].reshape(-1, st.shape[-1])).mean()
        roll = WorldModel(module, validate=False).rollout(Z[:, 0], ac)  # as planners roll out: padded windows
        last = w.to_true(roll[:, -1].numpy())
        eT = w.distance(last, st[:, -1]).mean()
    out = {"one_step_error": float(e1), f"{horizon}_step_error": float(eT), "reconstruction_error": float(er),
           "units": "px (dot position decoded from the predicted tokens)", "episodes": E, "frame_skip": w.frame_skip}
    if world == "pusht_pixels":
        out["units"] = "agent+block position error (px), read from the tokens by the readout head"
        out[f"{horizon}_step_angle_error"] = float(w.angle_error(last, st[:, -1]).mean())
    return out


def evaluate_model(world, module, n=64, seed=12345, horizon=10) -> dict:
    """One-step and ``horizon``-step errors of the model against fresh simulator rollouts (true units:
    position error for pointmaze / wall_pixels (decoded), agent+block position error for pusht)."""
    data = collect(world, n, seed=seed, length=horizon, progress=False)
    w = _world(world)
    st = torch.tensor(data["states"], dtype=torch.float64)
    ac = torch.tensor(data["actions"], dtype=torch.float64)
    if world in TOKEN_WORLDS:
        return evaluate_tokens(world, module, data, horizon)
    module = module.double()
    with torch.no_grad():
        if world == "wall_pixels":
            from .sims.wall_pixels import render_batch
            module = module.float()
            w._module = module
            def f32(x):
                return torch.as_tensor(x, dtype=torch.float32)
            def enc(xy):
                return module.encode(f32(render_batch(xy.numpy())))
            z0 = enc(st[:, 0])
            one = module.step(enc(st[:, :-1].reshape(-1, 2)), f32(ac.reshape(-1, 2)))
            pos1 = torch.tensor(w.to_true(one.numpy()))
            e1 = (pos1 - st[:, 1:].reshape(-1, 2)).norm(dim=-1).mean().item()
            z = z0
            for t in range(horizon):
                z = module.step(z, f32(ac[:, t]))
            eT = (torch.tensor(w.to_true(z.numpy())) - st[:, -1]).norm(dim=-1).mean().item()
            er = (torch.tensor(w.to_true(z0.numpy())) - st[:, 0]).norm(dim=-1).mean().item()
            return {"one_step_error": e1, f"{horizon}_step_error": eT, "reconstruction_error": er,
                    "units": "px (dot position decoded from the predicted latent)", "episodes": n}
        pos = slice(0, 2) if world == "pointmaze" else slice(0, 4)
        one = module.step(st[:, :-1].reshape(-1, st.shape[-1]), ac.reshape(-1, ac.shape[-1]))
        e1 = (one[:, pos] - st[:, 1:].reshape(-1, st.shape[-1])[:, pos]).norm(dim=-1).mean().item()
        s = st[:, 0]
        for t in range(horizon):
            s = module.step(s, ac[:, t])
        eT = (s[:, pos] - st[:, -1, pos]).norm(dim=-1).mean().item()
        out = {"one_step_error": e1, f"{horizon}_step_error": eT, "episodes": n,
               "units": "position error" if world == "pointmaze" else "agent+block position error (px)"}
        if world == "pusht":
            ang = (s[:, 4] - st[:, -1, 4] + math.pi) % (2 * math.pi) - math.pi
            out[f"{horizon}_step_angle_error"] = ang.abs().mean().item()
    module.float()
    return out


def train(world: str, data=None, steps: int = 3000, seed: int = 0, name: str | None = None,
          episodes: int | None = None, progress: bool = True, command: str | None = None,
          eval_episodes: int = 64) -> dict:
    """Train the learned model of ``world`` and bundle it; returns the manifest entry."""
    if steps < 1:
        raise GraspvizError(f"steps must be >= 1; got {steps}")
    w = _world(world)  # noqa: F841  (validates the name)
    if data is None:
        data = collect(world, episodes or DEFAULT_EPISODES[world], seed=seed, progress=progress)
    elif not isinstance(data, dict):
        data = load_data(data)
    if "world" in data and str(data["world"]) != world:
        raise GraspvizError(f"data was collected in world {str(data['world'])!r}, not {world!r}")
    transitions = int(np.prod(np.shape(data["actions"])[:2]))
    if transitions < 2:  # one sample has no spread: the normalisation statistics would be NaN
        raise GraspvizError(f"training needs at least 2 transitions; the data holds {transitions}")
    t0 = time.time()
    fn = train_tokens if world in TOKEN_WORLDS else {"wall_pixels": train_pixel}.get(world, train_state_mlp)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same floats on any machine (a parallel reduction may add in another order)
    try:
        module, arch, hp = fn(world, data, steps, seed, progress=progress)
    finally:
        torch.set_num_threads(threads)
    module.eval()
    name = name or learned.default_model_name(world)
    digest = learned.save_weights(module, learned.model_path(name))
    entry = dict(name=name, world=world, architecture={"class": arch, "hparams": hp},
                 command=command or f"graspviz train --world {world} --steps {steps} --seed {seed}",
                 data={"episodes": int(data["states"].shape[0]), "transitions": int(data["actions"].shape[0] * data["actions"].shape[1])},
                 seed=seed, steps=steps, train_seconds=round(time.time() - t0, 1), sha256=digest,
                 bytes=learned.model_path(name).stat().st_size)
    entry["accuracy"] = evaluate_model(world, module, n=eval_episodes)
    learned.write_manifest_entry(entry)
    return entry
