"""The world-model protocol and the wrapper that validates a user's model once, up front.

A world model is anything with a batched, differentiable one-step prediction

    step(s, a) -> s'        s: (N, S) (or (N, h, S) with a history window h), a: (N, A), s': (N, S)

given as a ``torch.nn.Module`` (its ``step`` method, else its ``forward``) or any callable.
Optional: ``encode(obs) -> z`` and ``decode(z) -> obs`` for pixel models, action bounds.

:class:`WorldModel` wraps such an object. Planners only talk to the wrapper:

- ``predict(windows, a)``: all one-step predictions of a batch in ONE model call;
- ``rollout(s0, actions)``: the model's own sequential rollout, (B, T, A) -> (B, T+1, S).
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from .errors import GraspvizError, describe, expect


#: the floating-point types planners work in (half precision loses the small steps planning takes)
FLOAT_DTYPES = (torch.float32, torch.float64)


def check_dtype(dtype, what: str = "dtype") -> torch.dtype:
    """``dtype`` if planners can work in it (torch.float32 or torch.float64), else a one-line error."""
    if not isinstance(dtype, torch.dtype) or dtype not in FLOAT_DTYPES:
        raise GraspvizError(f"{what} must be torch.float32 or torch.float64; got {dtype!r}")
    return dtype


def check_device(device, what: str = "device") -> torch.device:
    """``device`` as a torch.device if it is the CPU or an available CUDA device, else a one-line error."""
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise GraspvizError(f"{what} must be cpu, cuda or cuda:N; got {device!r}") from None
    if d.type not in ("cpu", "cuda"):
        raise GraspvizError(f"{what} must be cpu, cuda or cuda:N; got {device!r}")
    if d.type == "cuda" and (not torch.cuda.is_available() or (d.index or 0) >= torch.cuda.device_count()):
        raise GraspvizError(f"{what} {device!r} is not available here; use cpu")
    return d


def _shape(x) -> str:
    return "(" + ", ".join(str(d) for d in x) + ")"


class WorldModel:
    """A validated, batched world model F(s, a) -> s'.

    Args:
        model: an ``nn.Module`` (``.step`` if it has one, else ``forward``) or a callable ``f(s, a)``.
        state_dim, action_dim: S and A. Read from ``model.state_dim`` / ``model.action_dim`` if omitted.
        history: window length h; with h > 1 the model takes s of shape (N, h, S), oldest first.
        action_low, action_high: bounds of each action coordinate (A,), or None for unbounded.
        encode, decode: optional maps observation -> latent (N, S) and back (pixel models).
        device, dtype: where the model lives; taken from its parameters when it has any, else CPU /
            float32. Inputs are moved here at the edge (``Problem`` does it), never inside planners.
        name: shown in figures and provenance.
        validate: run one probe call now and check the output (shape, dtype, device, finiteness).
    """

    def __init__(self, model: Any, state_dim: int | None = None, action_dim: int | None = None, *,
                 history: int | None = None, action_low=None, action_high=None,
                 encode: Callable | None = None, decode: Callable | None = None,
                 device: str | torch.device | None = None, dtype: torch.dtype | None = None,
                 name: str | None = None, validate: bool = True):
        if isinstance(model, WorldModel):
            raise GraspvizError("model is already a WorldModel; pass it directly instead of wrapping it again")
        fn = getattr(model, "step", None) if callable(getattr(model, "step", None)) else model
        expect(callable(fn), f"a world model must be callable as step(s, a) or have a step method; got {type(model).__name__}")
        self.module = model
        self._fn = fn
        self.state_dim = int(state_dim if state_dim is not None else _attr(model, "state_dim"))
        self.action_dim = int(action_dim if action_dim is not None else _attr(model, "action_dim"))
        self.history = int(history if history is not None else getattr(model, "history", 1))
        expect(self.state_dim >= 1 and self.action_dim >= 1, f"state_dim and action_dim must be >= 1; got S={self.state_dim}, A={self.action_dim}")
        expect(self.history >= 1, f"history window must be >= 1; got {self.history}")
        params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
        self.device = check_device(device if device is not None else params[0].device if params else "cpu",
                                   "the world model's device")
        self.dtype = check_dtype(dtype if dtype is not None else params[0].dtype if params else torch.float32,
                                 "the world model's dtype (pass dtype= or convert the model with .float())")
        self.differentiable = True  # (the probe call in check() finds out)
        self.encode = encode if encode is not None else getattr(model, "encode", None)
        self.decode = decode if decode is not None else getattr(model, "decode", None)
        fn_name = getattr(model, "__name__", None)
        self.name = name or getattr(model, "name", None) or (fn_name if fn_name and fn_name != "<lambda>" else
                                                             type(model).__name__)
        low = action_low if action_low is not None else getattr(model, "action_low", None)
        high = action_high if action_high is not None else getattr(model, "action_high", None)
        self.action_low = self._bound(low, "action_low")
        self.action_high = self._bound(high, "action_high")
        if self.action_low is not None and self.action_high is not None:
            expect(bool((self.action_low < self.action_high).all()), "action_low must be below action_high in every coordinate")
        if validate:
            self.check()

    # -- construction helpers -------------------------------------------------------------------
    def _bound(self, b, what):
        if b is None:
            return None
        t = torch.as_tensor(b, dtype=self.dtype, device=self.device).reshape(-1)
        if t.numel() == 1:
            t = t.expand(self.action_dim).clone()
        expect(t.numel() == self.action_dim and bool(torch.isfinite(t).all()),
               f"{what} must be a finite number or {self.action_dim} numbers (one per action coordinate); got {tuple(t.shape)}")
        return t

    def check(self) -> None:
        """Call the model once on a probe batch and check what comes back."""
        n, S, A, h = 2, self.state_dim, self.action_dim, self.history
        s = torch.zeros((n, S) if h == 1 else (n, h, S), dtype=self.dtype, device=self.device)
        a = torch.zeros(n, A, dtype=self.dtype, device=self.device)
        if self.action_low is not None and self.action_high is not None:
            a = a + (self.action_low + self.action_high) / 2
        try:
            out = self._fn(s, a)
        except Exception as e:  # the user's model failed on the documented input: say what it got
            raise GraspvizError(f"world model {self.name} failed on s {_shape(s.shape)}, a {_shape(a.shape)} "
                                f"({self.dtype}, {self.device}): {describe(e)}") from None
        self._check_out(out, n)
        # a second probe, off zero: does the model leave its inputs alone, and do its outputs depend
        # differentiably on the actions? (gradient planners need that; samplers do not)
        s2 = torch.full_like(s, 0.5)
        a2 = a + 0.25 * ((self.action_high - self.action_low) / 2 if self.action_low is not None and
                         self.action_high is not None else 1.0)
        s_in, a_in = s2.clone(), a2.clone().requires_grad_(True)
        try:
            with torch.enable_grad():
                self.differentiable = bool(self._fn(s2, a_in).requires_grad)
        except Exception:  # noqa: BLE001 - e.g. a model that calls .numpy(): not differentiable
            self.differentiable = False
        if not (torch.equal(s2, s_in) and torch.equal(a_in.detach(), a2)):
            raise GraspvizError(f"world model {self.name} changes its inputs in place; expected a pure function of "
                                f"(s, a) that returns a new tensor (planners pass the same tensors again)")
        if not bool(torch.isfinite(out.detach()).all()):
            raise GraspvizError(f"world model {self.name} returned NaN/Inf on the probe input s {_shape(s.shape)}, "
                                f"a {_shape(a.shape)} (zeros / mid-range actions); expected finite values")

    def _check_out(self, out, n):
        S = self.state_dim
        if not isinstance(out, torch.Tensor):
            raise GraspvizError(f"world model {self.name} must return a tensor of shape {_shape((n, S))}; got {type(out).__name__}")
        if tuple(out.shape) != (n, S):
            raise GraspvizError(f"world model {self.name} must return shape (N, S) = {_shape((n, S))}; got {_shape(out.shape)}")
        if out.dtype != self.dtype or out.device != self.device:
            raise GraspvizError(f"world model {self.name} must return {self.dtype} on {self.device}; got {out.dtype} on {out.device}")

    # -- the calls planners make ---------------------------------------------------------------
    def step(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One batched step: s (N, S) or (N, h, S), a (N, A) -> (N, S)."""
        out = self._fn(s, a)
        if not isinstance(out, torch.Tensor) or out.shape != (a.shape[0], self.state_dim):
            self._check_out(out, a.shape[0])
        return out

    def windows(self, traj: torch.Tensor) -> torch.Tensor:
        """Model inputs for every step of a trajectory.

        traj (B, T, S) holds s_0..s_{T-1}; returns (B, T, S) for h = 1, else (B, T, h, S) with the
        window s_{t-h+1..t}, padded at the start by repeating s_0.
        """
        h = self.history
        if h == 1:
            return traj
        pad = traj[:, :1].expand(-1, h - 1, -1)
        return torch.cat([pad, traj], 1).unfold(1, h, 1).transpose(-1, -2)  # (B, T, h, S)

    def predict(self, inputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """All one-step predictions in one call: inputs (B, T, [h,] S), actions (B, T, A) -> (B, T, S)."""
        B, T = actions.shape[:2]
        flat = inputs.reshape(B * T, *inputs.shape[2:])
        return self.step(flat, actions.reshape(B * T, -1)).reshape(B, T, self.state_dim)

    def rollout(self, s0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The model's sequential rollout from s0 (B, S) under actions (B, T, A) -> (B, T+1, S)."""
        states = [s0]
        h = self.history
        for t in range(actions.shape[1]):
            if h == 1:
                inp = states[-1]
            else:
                win = states[-h:]
                inp = torch.stack([win[0]] * (h - len(win)) + win, 1)
            states.append(self.step(inp, actions[:, t]))
        return torch.stack(states, 1)

    def clip(self, actions: torch.Tensor) -> torch.Tensor:
        """Project actions onto the bounds (identity if unbounded)."""
        if self.action_low is None and self.action_high is None:
            return actions
        return actions.clamp(self.action_low, self.action_high)

    def to(self, device=None, dtype=None) -> "WorldModel":
        """A copy of this wrapper (and of an ``nn.Module`` model) on another device / dtype."""
        device = check_device(device) if device is not None else self.device
        dtype = check_dtype(dtype) if dtype is not None else self.dtype
        model = self.module
        if isinstance(model, torch.nn.Module):
            model = model.to(device=device, dtype=dtype)
        new = object.__new__(WorldModel)
        new.__dict__.update(self.__dict__)
        new.module, new.device, new.dtype = model, device, dtype
        new._fn = getattr(model, "step", None) if callable(getattr(model, "step", None)) else model
        new.action_low = None if self.action_low is None else self.action_low.to(device, dtype)
        new.action_high = None if self.action_high is None else self.action_high.to(device, dtype)
        return new

    def __repr__(self):
        return (f"WorldModel({self.name}, S={self.state_dim}, A={self.action_dim}, h={self.history}, "
                f"{self.dtype}, {self.device})")


def _attr(model, name):
    value = getattr(model, name, None)
    if value is None:
        raise GraspvizError(f"{name} is required: pass {name}= or give the model a {name} attribute")
    return value


def as_world_model(model, **kwargs) -> WorldModel:
    """Return ``model`` if it already is a :class:`WorldModel`, else wrap (and validate) it."""
    if isinstance(model, WorldModel):
        return model.to(kwargs.get("device"), kwargs.get("dtype")) if ("device" in kwargs or "dtype" in kwargs) else model
    return WorldModel(model, **kwargs)
