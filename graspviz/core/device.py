"""The device rule, written once: "auto" is resolved at the edges (CLI, app, notebooks); the core follows
its inputs' device and dtype.

- :func:`resolve_device` turns ``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` into a checked device string;
- :func:`synchronize` waits for queued CUDA work (timings must not stop the clock before the GPU is done);
- :func:`timed` runs a function and returns its result and wall milliseconds, synchronised on both ends.
"""

from __future__ import annotations

import time

import torch

from .errors import GraspvizError


def resolve_device(name: str | None = "auto") -> str:
    """``auto`` (or None) -> ``cuda`` when available, else ``cpu``; ``cpu``, ``cuda`` and ``cuda:N`` are checked."""
    text = "auto" if name is None else str(name).strip().lower()
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return text
    if text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        if not torch.cuda.is_available():
            raise GraspvizError(f"device {text!r} asked for, but CUDA is not available here; use cpu or auto")
        if ":" in text and int(text[5:]) >= torch.cuda.device_count():
            raise GraspvizError(f"device {text!r} does not exist; this machine has {torch.cuda.device_count()} "
                                f"CUDA device(s)")
        return text
    raise GraspvizError(f"device must be auto, cpu, cuda or cuda:N; got {name!r}")


def synchronize(device) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device) -> tuple:
    """``(fn(), milliseconds)``, the device synchronised before and after the call."""
    synchronize(device)
    t0 = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, (time.perf_counter() - t0) * 1e3
