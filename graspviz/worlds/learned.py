"""Learned world models bundled with graspviz, and their safe loading.

Architectures:
- :class:`StateMLP`: residual MLP for state-space simulators. It predicts the *normalised* change of the
  state, ``s' = s + d_mean + d_std * mlp((s - s_mean) / s_std, (a - a_mean) / a_std)``; the normalisation
  statistics are buffers saved with the weights.
- :class:`PixelWM`: a small conv autoencoder (64 x 64 grey image -> latent of dim ``latent``) with a residual
  latent dynamics MLP ``z' = z + mlp(z, a)``; ``encode`` / ``decode`` map images <-> latents.
- :class:`TokenWM`: a DINO-WM-style patch-token model: a conv encoder turns a 64 x 64 frame into an 8 x 8 grid of
  ``dim``-D tokens (trained first, with a decoder, then frozen), and a conv predictor over the token grid maps the
  tokens of the last ``history`` frames plus the action to the next frame's tokens.

Weights live in ``<assets>/models/<name>.safetensors`` (no pickle) and are described in
``<assets>/manifest.json`` (architecture, hyper-parameters, sha256, data, seed, accuracy).
``<assets>`` is ``GRASPVIZ_ASSETS`` if set, else the ``assets`` folder next to the package.
:func:`load_model` refuses a file whose SHA-256 or tensor names/shapes do not match the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import torch
from torch import nn

from ..core.errors import GraspvizError
from ..core.model import WorldModel

DEFAULT_MODELS = {"pointmaze": "pointmaze_mlp", "pusht": "pusht_mlp", "wall_pixels": "wall_pixels_ae",
                  "wall_tokens": "wall_tokens_wm", "pusht_pixels": "pusht_pixels_wm"}


def assets_dir() -> Path:
    env = os.environ.get("GRASPVIZ_ASSETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "assets"


def manifest_path() -> Path:
    return assets_dir() / "manifest.json"


def model_path(name: str) -> Path:
    return assets_dir() / "models" / f"{name}.safetensors"


def default_model_name(world: str) -> str:
    if world not in DEFAULT_MODELS:
        raise GraspvizError(f"no learned model is defined for world {world!r}; expected one of: {', '.join(DEFAULT_MODELS)}")
    return DEFAULT_MODELS[world]


#: the largest weights / manifest file read (a bundled model is 1.1 MB at most)
MAX_WEIGHT_BYTES, MAX_MANIFEST_BYTES = 256 * 2**20, 2**20


def _regular(path: Path, what: str, limit: int) -> Path:
    """``path`` if it is a regular file (not a FIFO, a device or a symlink to one, which would hang or never end
    when read) of at most ``limit`` bytes; else a one-line error."""
    try:
        st = os.stat(path)
    except OSError:
        raise GraspvizError(f"{what} {path} is missing") from None
    if not stat.S_ISREG(st.st_mode):
        raise GraspvizError(f"refusing {path}: {what} must be a regular file, not a device, FIFO or socket")
    if st.st_size > limit:
        raise GraspvizError(f"refusing {path}: {st.st_size} bytes is more than a {what} holds ({limit} bytes at most)")
    return path


def read_manifest() -> dict:
    p = manifest_path()
    if not os.path.lexists(p):
        return {"models": {}}
    try:
        manifest = json.loads(_regular(p, "the manifest", MAX_MANIFEST_BYTES).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GraspvizError(f"{p} is not valid JSON: {e}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models", {}), dict):
        raise GraspvizError(f"{p} is not a graspviz manifest (expected an object with a 'models' object)")
    return manifest


def model_summary(world: str) -> str:
    """One line about the learned model of a simulator world, from the manifest (no weights loaded)."""
    name = DEFAULT_MODELS.get(world)
    if name is None:
        return "exact (analytic)"
    entry = read_manifest().get("models", {}).get(name)
    if entry is None or not model_path(name).exists():
        return f"{name} (missing: graspviz train --world {world})"
    acc = entry.get("accuracy", {})
    err = acc.get("one_step_error")
    return f"{name} ({entry['architecture']['class']}, 1-step error {err:.3g} {acc.get('units', '')})".replace(" )", ")") \
        if err is not None else name


def write_manifest_entry(entry: dict) -> None:
    m = read_manifest()
    m.setdefault("models", {})[entry["name"]] = entry
    manifest_path().parent.mkdir(parents=True, exist_ok=True)
    manifest_path().write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- architectures ----------------------------------------------------------------------------
def _mlp(i, hidden, o, layers):
    mods, d = [], i
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.SiLU()]
        d = hidden
    mods.append(nn.Linear(d, o))
    return nn.Sequential(*mods)


class StateMLP(nn.Module):
    """Residual MLP s' = s + denormalised delta. ``step(s (N,S), a (N,A)) -> (N,S)``."""

    def __init__(self, state_dim: int, action_dim: int, hidden: int = 128, layers: int = 3,
                 action_low=None, action_high=None, angle_index: int | None = None):
        super().__init__()
        self.state_dim, self.action_dim = state_dim, action_dim
        self.hparams = dict(state_dim=state_dim, action_dim=action_dim, hidden=hidden, layers=layers,
                            action_low=action_low, action_high=action_high, angle_index=angle_index)
        self.action_low, self.action_high = action_low, action_high
        self.angle_index = angle_index  # an angle coordinate is also fed as (sin, cos)
        extra = 0 if angle_index is None else 2
        self.net = _mlp(state_dim + extra + action_dim, hidden, state_dim, layers)
        for k, d in (("s_mean", state_dim), ("s_std", state_dim), ("a_mean", action_dim), ("a_std", action_dim),
                     ("d_mean", state_dim), ("d_std", state_dim)):
            self.register_buffer(k, torch.zeros(d) if "mean" in k else torch.ones(d))

    def set_stats(self, s, a, d):
        for k, x in (("s", s), ("a", a), ("d", d)):
            getattr(self, f"{k}_mean").copy_(x.mean(0))
            getattr(self, f"{k}_std").copy_(x.std(0).clamp_min(1e-6))

    def delta_normalised(self, s, a):
        feats = [(s - self.s_mean) / self.s_std]
        if self.angle_index is not None:
            ang = s[..., self.angle_index]
            feats += [torch.sin(ang)[..., None], torch.cos(ang)[..., None]]
        return self.net(torch.cat(feats + [(a - self.a_mean) / self.a_std], -1))

    def step(self, s, a):
        return s + self.d_mean + self.d_std * self.delta_normalised(s, a)

    forward = step


def _coords(n: int, size: int, like: torch.Tensor) -> torch.Tensor:
    """Two channels holding each pixel's x and y in [-1, 1]: (n, 2, size, size)."""
    g = torch.linspace(-1.0, 1.0, size, dtype=like.dtype, device=like.device)
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    return torch.stack([xx, yy])[None].expand(n, -1, -1, -1)


class PixelWM(nn.Module):
    """Conv autoencoder (1 x 64 x 64 -> latent) + residual latent dynamics. ``step(z, a) -> z'``.

    The encoder sees the pixel coordinates as two extra input channels (CoordConv) and the decoder
    broadcasts the latent over a 16 x 16 grid with coordinate channels before upsampling (a
    spatial-broadcast decoder): both make "where is the dot" easy to learn for a small model on a CPU.
    """

    def __init__(self, latent: int = 12, action_dim: int = 2, channels: int = 16, hidden: int = 128,
                 action_low=None, action_high=None):
        super().__init__()
        c = channels
        self.state_dim, self.action_dim = latent, action_dim
        self.hparams = dict(latent=latent, action_dim=action_dim, channels=channels, hidden=hidden,
                            action_low=action_low, action_high=action_high)
        self.action_low, self.action_high = action_low, action_high
        self.enc = nn.Sequential(nn.Conv2d(3, c, 4, 2, 1), nn.SiLU(), nn.Conv2d(c, c, 4, 2, 1), nn.SiLU(),
                                 nn.Conv2d(c, c, 4, 2, 1), nn.SiLU(), nn.Conv2d(c, c, 4, 2, 1), nn.SiLU(),
                                 nn.Flatten(), nn.Linear(c * 16, hidden), nn.SiLU(), nn.Linear(hidden, latent))
        self.dec = nn.Sequential(nn.Conv2d(latent + 2, 2 * c, 3, 1, 1), nn.SiLU(), nn.Conv2d(2 * c, 2 * c, 3, 1, 1),
                                 nn.SiLU(), nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.SiLU(),
                                 nn.ConvTranspose2d(c, 1, 4, 2, 1))
        self.dyn = _mlp(latent + action_dim, hidden, latent, 2)

    def encode(self, img):
        """Images (N, 64, 64) or (N, 1, 64, 64) in [0, 1] -> latents (N, latent)."""
        if img.dim() == 3:
            img = img[:, None]
        return self.enc(torch.cat([img, _coords(img.shape[0], img.shape[-1], img)], 1))

    def decode_logits(self, z):
        """Latents (N, latent) -> pixel logits (N, 64, 64)."""
        grid = z[:, :, None, None].expand(-1, -1, 16, 16)
        return self.dec(torch.cat([grid, _coords(z.shape[0], 16, z)], 1))[:, 0]

    def decode(self, z):
        """Latents (N, latent) -> images (N, 64, 64) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def step(self, z, a):
        return z + self.dyn(torch.cat([z, a], -1))

    forward = step


GRID = 8  # TokenWM's token grid side: three stride-2 convolutions take 64 x 64 pixels to 8 x 8 patches


class TokenWM(nn.Module):
    """Patch-token pixel world model in the shape of DINO-WM: frame -> P = 8 x 8 tokens of ``dim`` dims.

    - ``encode``: 64 x 64 frame (+ two coordinate channels) -> three stride-2 4 x 4 convolutions and a 3 x 3 one ->
      an 8 x 8 grid of ``dim``-D tokens (each token sees a 38 x 38 px window around its 8 x 8 patch). The planning
      state is the grid flattened token by token: ``z[p * dim + d]`` is dimension ``d`` of patch ``p`` (row-major).
    - ``decode_logits``: tokens -> ``channels_in`` + 1 channels of 64 x 64, the frame and a blurred copy of what
      moves in it (what stage 1 is trained to reconstruct); ``decode`` gives the frame in [0, 1], to look at latents.
    - ``read``: with ``readout`` > 0, a small MLP from the tokens to ``readout`` numbers (the true state, in the
      units the trainer chose), trained on the frozen tokens: how a world whose state cannot be read off the
      decoded frame by a rule (Push-T's block pose) plots a latent.
    - ``step(s, a)``: the tokens of the last ``history`` frames ``s`` (N, h, S) (oldest first; a plain (N, S) is a
      dot at rest: its frame repeated) and the action (N, A) -> the next frame's tokens (N, S). A conv net on the
      token grid: the ``h`` frames' normalised tokens stacked as channels, the action broadcast to every patch and
      two coordinate channels; the output is a normalised change of the last frame's tokens.
    """

    def __init__(self, dim: int = 16, channels: int = 32, hidden: int = 32, history: int = 3, action_dim: int = 2,
                 action_low=None, action_high=None, channels_in: int = 1, readout: int = 0):
        super().__init__()
        c, h = channels, hidden
        self.dim, self.history, self.action_dim, self.channels_in = dim, history, action_dim, channels_in
        self.state_dim = GRID * GRID * dim
        self.hparams = dict(dim=dim, channels=channels, hidden=hidden, history=history, action_dim=action_dim,
                            action_low=action_low, action_high=action_high)
        if (channels_in, readout) != (1, 0):  # (the Wall's model predates both: its manifest entry stays as it was)
            self.hparams.update(channels_in=channels_in, readout=readout)
        self.action_low, self.action_high = action_low, action_high
        # the predictor sees actions in [-1, 1]: the Wall's already are, Push-T's targets in [0, 512] are mapped
        self._rescale = action_low is not None and action_high is not None and (action_low, action_high) != (-1.0, 1.0)
        self.enc = nn.Sequential(nn.Conv2d(channels_in + 2, c, 4, 2, 1), nn.SiLU(), nn.Conv2d(c, c, 4, 2, 1),
                                 nn.SiLU(), nn.Conv2d(c, c, 4, 2, 1), nn.SiLU(), nn.Conv2d(c, dim, 3, 1, 1))
        self.dec = nn.Sequential(nn.Conv2d(dim + 2, c, 3, 1, 1), nn.SiLU(), nn.ConvTranspose2d(c, c, 4, 2, 1),
                                 nn.SiLU(), nn.ConvTranspose2d(c, c, 4, 2, 1), nn.SiLU(),
                                 nn.ConvTranspose2d(c, channels_in + 1, 4, 2, 1))
        self.pred = nn.Sequential(nn.Conv2d(history * dim + action_dim + 2, h, 3, 1, 1), nn.SiLU(),
                                  nn.Conv2d(h, h, 3, 1, 1), nn.SiLU(), nn.Conv2d(h, h, 3, 1, 1), nn.SiLU(),
                                  nn.Conv2d(h, dim, 3, 1, 1))
        self.readout = nn.Sequential(nn.Linear(self.state_dim, 128), nn.SiLU(), nn.Linear(128, readout)) \
            if readout else None
        # token statistics of the frozen encoder (set before the predictor is trained): per token dimension
        for k in ("z_mean", "z_std", "d_std"):
            self.register_buffer(k, torch.zeros(dim) if k == "z_mean" else torch.ones(dim))

    # -- token layout ------------------------------------------------------------------------------
    def grid(self, z):
        """Flat states (N, S) -> token grids (N, dim, 8, 8)."""
        return z.reshape(-1, GRID, GRID, self.dim).permute(0, 3, 1, 2)

    def flat(self, g):
        """Token grids (N, dim, 8, 8) -> flat states (N, S)."""
        return g.permute(0, 2, 3, 1).reshape(g.shape[0], -1)

    def encode(self, img):
        """Images (N, 64, 64) (one channel) or (N, C, 64, 64) in [0, 1] -> flat token grids (N, 8 * 8 * dim)."""
        if img.dim() == 3:
            img = img[:, None]
        return self.flat(self.enc(torch.cat([img, _coords(img.shape[0], img.shape[-1], img)], 1)))

    def decode_logits(self, z):
        """Flat tokens (N, S) -> logits (N, C + 1, 64, 64): the frame's C channels and the blurred moving part."""
        g = self.grid(z)
        return self.dec(torch.cat([g, _coords(g.shape[0], GRID, g)], 1))

    def decode(self, z):
        """Flat tokens (N, S) -> images in [0, 1]: (N, 64, 64) for one channel, else (N, C, 64, 64)."""
        x = torch.sigmoid(self.decode_logits(z)[:, :self.channels_in])
        return x[:, 0] if self.channels_in == 1 else x

    def read(self, z):
        """Flat tokens (N, S) -> the readout head's estimate of the true state (N, readout)."""
        if self.readout is None:
            raise GraspvizError("this token model has no readout head")
        n = z.shape[0]
        return self.readout(((z.reshape(n, GRID * GRID, self.dim) - self.z_mean) / self.z_std).reshape(n, -1))

    def set_stats(self, tokens, deltas):
        """Per-dimension mean / std of encoded tokens (..., S) and of their one-step changes (..., S)."""
        t, d = tokens.reshape(-1, self.dim), deltas.reshape(-1, self.dim)
        self.z_mean.copy_(t.mean(0))
        self.z_std.copy_(t.std(0).clamp_min(1e-6))
        self.d_std.copy_(d.std(0).clamp_min(1e-6))

    def delta_normalised(self, s, a):
        """The predictor's raw output (N, dim, 8, 8) for windows s (N, h, S) and actions a (N, A)."""
        n = s.shape[0]
        g = self.grid(s.reshape(n * self.history, -1))
        g = (g - self.z_mean[:, None, None]) / self.z_std[:, None, None]
        g = g.reshape(n, self.history * self.dim, GRID, GRID)
        if self._rescale:
            a = 2 * (a - self.action_low) / (self.action_high - self.action_low) - 1
        act = a[:, :, None, None].expand(-1, -1, GRID, GRID)
        return self.pred(torch.cat([g, act, _coords(n, GRID, g)], 1))

    def step(self, s, a):
        if s.dim() == 2:  # a single frame: the dot at rest for the whole window
            s = s[:, None].expand(-1, self.history, -1)
        last = self.grid(s[:, -1])
        return self.flat(last + self.d_std[:, None, None] * self.delta_normalised(s, a))

    forward = step


ARCHITECTURES = {"StateMLP": StateMLP, "PixelWM": PixelWM, "TokenWM": TokenWM}


def build(arch: str, hparams: dict) -> nn.Module:
    if arch not in ARCHITECTURES:
        raise GraspvizError(f"unknown architecture {arch!r}; expected one of: {', '.join(ARCHITECTURES)}")
    if not isinstance(hparams, dict):
        raise GraspvizError(f"architecture hyper-parameters must be a JSON object; got {type(hparams).__name__}")
    try:
        return ARCHITECTURES[arch](**hparams)
    except (TypeError, ValueError, RuntimeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise GraspvizError(f"cannot build {arch} from hyper-parameters {sorted(hparams)}: {first}") from None


def save_weights(module: nn.Module, path) -> str:
    from safetensors.torch import save_file
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().float().contiguous().cpu() for k, v in module.state_dict().items()}, str(path))
    os.chmod(path, 0o644)
    return sha256(path)


def load_module(name: str, entry: dict | None = None) -> nn.Module:
    """The bare ``nn.Module`` of a bundled model, after checking its file against the manifest."""
    from safetensors.torch import load_file
    entry = entry or read_manifest().get("models", {}).get(name)
    if entry is None:
        raise GraspvizError(f"model {name!r} is not in {manifest_path()}; run `graspviz train` to create it")
    path = model_path(name)
    if not os.path.lexists(path):
        raise GraspvizError(f"weights of model {name!r} are missing ({path}); run `graspviz train --world {entry.get('world')}`")
    digest = sha256(_regular(path, "a weights file", MAX_WEIGHT_BYTES))
    if digest != entry.get("sha256"):
        raise GraspvizError(f"refusing {path}: SHA-256 {digest[:12]}... does not match the manifest ({str(entry.get('sha256'))[:12]}...)")
    arch = entry.get("architecture", {})
    module = build(arch.get("class"), arch.get("hparams", {}))
    try:
        state = load_file(str(path))
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise GraspvizError(f"refusing {path}: not a readable safetensors file ({e})") from None
    want = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if want != got:
        diff = sorted(set(want.items()) ^ set(got.items()))[:3]
        raise GraspvizError(f"refusing {path}: tensors do not match architecture {arch.get('class')} (first differences: {diff})")
    module.load_state_dict(state)
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def load_model(name: str) -> WorldModel:
    """A bundled learned model as a :class:`WorldModel` (SHA-256 and architecture checked)."""
    module = load_module(name)
    return WorldModel(module, name=name)
