"""A planning run on record: snapshots, planner checkpoints and provenance, saved without pickle.

File format (``.npz``, loaded with ``allow_pickle=False``): arrays for the problem, the stacked
snapshot fields and the checkpoints, plus one ``__meta__`` entry holding UTF-8 JSON (format version,
planner, config, seed, scalar snapshot fields, stop reason). Nothing in it can execute code.
Writes go to a temporary file that is then renamed, so a run file is never left half-written.
Version 2 stores the stop reason as ``{kind, iteration, message}`` and, for latent worlds, the
simulator's start and goal; version 1 files are still read.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field, fields

import numpy as np

from .errors import GraspvizError
from .types import Snapshot, StopKind, StopReason

FORMAT = "graspviz-history"
VERSION = 2
READABLE_VERSIONS = (1, 2)
#: Files larger than this are refused on load unless ``max_bytes`` says otherwise.
MAX_FILE_BYTES = 1 << 30
#: A run file's arrays may take at most this much memory once read (``max_inflated`` overrides it); checked from
#: the sizes the file declares, before anything is inflated.
MAX_INFLATED_BYTES = 2 << 30
#: what a planner or world name may look like in a run file
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}")
#: the members a run file may hold (each an ``.npy`` array); anything else is refused
_MEMBER = re.compile(r"(__meta__|start|goal|true_start|true_goal|snap/(actions|rollout|goal_distance|states|gap)"
                     r"|(?:loss|extra|extra_index)/[A-Za-z0-9_][A-Za-z0-9_./-]*|ckpt/\d+/[A-Za-z_]+)\.npy")

_ARRAYS = ("actions", "rollout", "goal_distance", "states", "gap")
_SCALARS = ("iteration", "sigma", "gamma", "synced", "wall_time", "step_ms", "evaluated")


@dataclass(frozen=True)
class History:
    """Snapshots of one run plus what is needed to replay or fork it (immutable once built).

    ``checkpoints`` maps an iteration to the planner's full state there (host-side arrays), so
    :func:`graspviz.fork` can continue from it. ``stop_reason`` is None for a run that finished,
    else a :class:`~graspviz.core.types.StopReason`. ``true_start`` / ``true_goal``: the simulator's
    states of the problems when the planner's states are latents (else None).
    """

    planner: str
    config: dict
    seed: int
    horizon: int
    start: np.ndarray  # (B, S)
    goal: np.ndarray  # (B, S)
    world: str | None = None
    model: str = ""
    snapshots: tuple = ()
    checkpoints: dict = field(default_factory=dict)
    stop_reason: StopReason | None = None
    meta: dict = field(default_factory=dict)
    true_start: np.ndarray | None = None  # (B, S_true)
    true_goal: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "snapshots", tuple(self.snapshots))

    # -- access -------------------------------------------------------------------------------------
    def __len__(self):
        return len(self.snapshots)

    def __getitem__(self, i) -> Snapshot:
        return self.snapshots[i]

    @property
    def iterations(self) -> list[int]:
        return [s.iteration for s in self.snapshots]

    @property
    def last(self) -> Snapshot:
        if not self.snapshots:
            raise GraspvizError("this history holds no snapshots")
        return self.snapshots[-1]

    def at(self, iteration: int) -> Snapshot:
        """The last snapshot taken at or before ``iteration``."""
        best = None
        for s in self.snapshots:
            if s.iteration <= iteration:
                best = s
        if best is None:
            raise GraspvizError(f"no snapshot at or before iteration {iteration}; recorded: {self.iterations[:5]}...")
        return best

    def series(self, key: str) -> np.ndarray:
        """A metric (``graspviz.core.metrics`` name) over the recorded iterations (mean over problems)."""
        return np.array([s.scalar(key) for s in self.snapshots])

    # -- files --------------------------------------------------------------------------------------
    def save(self, path) -> str:
        """Write the run to ``path`` (.npz, no pickle), atomically. Returns the path."""
        arrays = self._arrays()
        return write_atomic(path, lambda f: np.savez_compressed(f, **arrays))

    def to_bytes(self) -> bytes:
        """The same file format, in memory (for downloads from the app)."""
        buf = io.BytesIO()
        np.savez_compressed(buf, **self._arrays())
        return buf.getvalue()

    def _arrays(self) -> dict:
        snaps = self.snapshots
        loss_keys = sorted(snaps[0].losses) if snaps else []
        extra_keys = sorted({k for s in snaps for k in s.extras})  # extras may be absent at iteration 0
        meta = dict(format=FORMAT, version=VERSION, planner=self.planner, config=self.config, seed=self.seed,
                    horizon=self.horizon, world=self.world, model=self.model,
                    stop_reason=None if self.stop_reason is None else self.stop_reason.to_dict(),
                    meta=self.meta, loss_keys=loss_keys, extra_keys=extra_keys,
                    scalars={k: [getattr(s, k) for s in snaps] for k in _SCALARS},
                    present=[k for k in _ARRAYS if snaps and getattr(snaps[0], k) is not None],
                    checkpoints={str(k): sorted(v) for k, v in self.checkpoints.items()})
        out = {"__meta__": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
               "start": self.start, "goal": self.goal}
        for k in ("true_start", "true_goal"):
            if getattr(self, k) is not None:
                out[k] = np.asarray(getattr(self, k))
        for k in meta["present"]:
            out[f"snap/{k}"] = np.stack([getattr(s, k) for s in snaps])
        for k in loss_keys:
            out[f"loss/{k}"] = np.stack([s.losses[k] for s in snaps])
        for k in extra_keys:
            have = [i for i, s in enumerate(snaps) if k in s.extras]
            out[f"extra/{k}"] = np.stack([snaps[i].extras[k] for i in have])
            out[f"extra_index/{k}"] = np.array(have, dtype=np.int64)
        for it, state in self.checkpoints.items():
            for k, v in state.items():
                out[f"ckpt/{it}/{k}"] = v
        return out

    @staticmethod
    def load(path, max_bytes: int = MAX_FILE_BYTES, max_inflated: int = MAX_INFLATED_BYTES) -> "History":
        """Read a run written by :meth:`save` (or :meth:`to_bytes`). Refuses anything else clearly: files over
        ``max_bytes``, members a run file does not have, arrays that would take more than ``max_inflated`` bytes
        (checked from the sizes the file declares, before inflating), object arrays, damaged data."""
        if isinstance(path, (bytes, bytearray)):
            size, src, name = len(path), io.BytesIO(path), "uploaded file"
        elif isinstance(path, (str, os.PathLike)):
            name = os.fspath(path)
            if not os.path.isfile(name):
                raise GraspvizError(f"run file {name!r} does not exist or is not a file")
            size, src = os.path.getsize(name), name
        else:
            raise GraspvizError(f"a run file must be a path or bytes; got {type(path).__name__}")
        if size > max_bytes:
            raise GraspvizError(f"{name} is {_size(size)}; run files are limited to {_size(max_bytes)} (max_bytes)")
        try:
            data = _read_members(src, max_inflated)
            meta = json.loads(bytes(data.pop("__meta__")).decode())
        except GraspvizError as e:
            raise GraspvizError(f"{name} is not a readable graspviz run file: {e}") from None
        except Exception as e:  # zipfile, zlib, numpy and json each raise their own errors for a broken file
            raise GraspvizError(f"{name} is not a readable graspviz run file (.npz written by graspviz): {type(e).__name__}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise GraspvizError(f"{name} is not a graspviz run file (expected format {FORMAT!r})")
        if meta.get("version") not in READABLE_VERSIONS:
            raise GraspvizError(f"{name} has run-file version {meta.get('version')!r}; this graspviz reads versions "
                                f"{', '.join(map(str, READABLE_VERSIONS))}")
        try:
            return History._from(meta, data)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            raise GraspvizError(f"{name} is a damaged graspviz run file ({type(e).__name__}: {e})") from None

    @staticmethod
    def _from(meta, data) -> "History":
        _check_consistent(meta, data)
        sc = meta["scalars"]
        n = len(sc["iteration"])
        snaps = []
        extra_pos = {k: {int(i): j for j, i in enumerate(data[f"extra_index/{k}"])} for k in meta["extra_keys"]}
        for i in range(n):
            kw = {k: sc[k][i] for k in _SCALARS}
            for k in meta["present"]:
                kw[k] = data[f"snap/{k}"][i]
            kw["losses"] = {k: data[f"loss/{k}"][i] for k in meta["loss_keys"]}
            kw["extras"] = {k: data[f"extra/{k}"][pos[i]] for k, pos in extra_pos.items() if i in pos}
            snaps.append(Snapshot.make(**kw))
        ckpts = {int(it): {k: data[f"ckpt/{it}/{k}"] for k in keys} for it, keys in meta["checkpoints"].items()}
        stop = meta["stop_reason"]
        stop = None if stop is None else _legacy_stop(stop, snaps) if isinstance(stop, str) else StopReason.from_dict(stop)
        return History(planner=meta["planner"], config=meta["config"], seed=meta["seed"], horizon=meta["horizon"],
                       start=data["start"], goal=data["goal"], world=meta["world"], model=meta["model"],
                       snapshots=snaps, checkpoints=ckpts, stop_reason=stop, meta=meta["meta"],
                       true_start=data.get("true_start"), true_goal=data.get("true_goal"))


def _read_members(src, max_inflated: int) -> dict:
    """The arrays of a run file, read without pickle, after checking (from what the zip and the .npy headers
    declare, before inflating anything) that every member is one a run file has, that each member's array is as
    big as the member, and that all of them together fit in ``max_inflated`` bytes. CRCs are checked as the
    members are read."""
    with zipfile.ZipFile(src) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        unknown = [n for n in names if not _MEMBER.fullmatch(n)]
        if unknown:
            raise GraspvizError(f"it holds {len(unknown)} member(s) a run file does not have (e.g. {unknown[0]!r})")
        if len(set(names)) != len(names) or "__meta__.npy" not in names:
            raise ValueError("duplicate or missing members")
        total = sum(i.file_size for i in infos)
        if total > max_inflated:
            raise GraspvizError(f"its arrays would take {_size(total)} once inflated; the limit is {_size(max_inflated)}")
        out = {}
        for info in infos:
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = header(f)
                if dtype.hasobject or dtype.kind not in "biuf":
                    raise GraspvizError(f"member {info.filename!r} holds {dtype} data; run files hold numbers only")
                need = math.prod(shape) * dtype.itemsize
                if need > info.file_size:
                    raise GraspvizError(f"member {info.filename!r} declares a {shape} array, more than it holds")
                raw = f.read(need)
                if len(raw) != need or f.read(1):  # exactly the array, nothing after it
                    raise ValueError(f"member {info.filename!r} does not hold the array its header declares")
                f.read()  # to the end: the zip module checks the CRC there
                array = np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()
            out[info.filename[:-len(".npy")]] = array
        return out


def _legacy_stop(text: str, snaps) -> StopReason:
    """A version-1 file's stop reason (free text) as a typed one: the kind is read off the text once, here."""
    kind = (StopKind.REQUESTED if text.startswith("stopped by request") else
            StopKind.INTERRUPTED if text.startswith("interrupted") else
            StopKind.MODEL_ERROR if text.startswith("the world model raised") else
            StopKind.NONFINITE if "NaN/Inf" in text else StopKind.ERROR)
    return StopReason(kind, snaps[-1].iteration if snaps else None, text)


def _check_consistent(meta: dict, data: dict) -> None:
    """Raise ValueError unless a loaded run file's parts fit together (types, lengths, shapes)."""
    def want(cond, what):
        if not cond:
            raise ValueError(what)
    sc, T = meta["scalars"], meta["horizon"]
    want(isinstance(sc, dict), "scalars is not a dict")
    if meta["version"] == 1:  # version 1 kept no ``evaluated`` flags: every snapshot was evaluated
        sc.setdefault("evaluated", [True] * len(sc.get("iteration", [])))
    want(isinstance(T, int) and not isinstance(T, bool) and T >= 1, f"horizon {T!r} is not an integer >= 1")
    for key, typ in (("planner", str), ("config", dict), ("seed", int), ("meta", dict), ("scalars", dict)):
        want(isinstance(meta[key], typ), f"{key} is not a {typ.__name__}")
    want(meta["stop_reason"] is None or isinstance(meta["stop_reason"], (str, dict)), "stop_reason is not text or a record")
    for key in ("planner", "world"):
        want(meta[key] is None and key == "world" or isinstance(meta[key], str) and _NAME.fullmatch(meta[key]),
             f"{key} {meta[key]!r} is not a name")
    want(isinstance(meta["model"], str), "model is not text")
    start, goal = data["start"], data["goal"]
    want(start.ndim == 2 and start.shape == goal.shape and start.dtype.kind == "f", "start / goal are not (B, S) float arrays")
    B, S = start.shape
    want(B >= 1 and S >= 1, f"it holds no problems (start has shape {start.shape})")
    for k in ("start", "goal", "true_start", "true_goal", "snap/actions", "snap/states"):
        want(k not in data or np.isfinite(data[k]).all(), f"{k} holds NaN or Inf")
    for k in ("true_start", "true_goal"):
        if k in data:
            want(data[k].ndim == 2 and data[k].shape[0] == B and data[k].dtype.kind == "f", f"{k} is not a (B, S_true) float array")
    n = len(sc["iteration"])
    want(all(isinstance(sc[k], list) and len(sc[k]) == n for k in _SCALARS), "snapshot scalars have unequal lengths")
    want(all(isinstance(i, int) and not isinstance(i, bool) for i in sc["iteration"]), "iterations are not integers")
    want(all(isinstance(b, bool) for k in ("synced", "evaluated") for b in sc[k]), "synced / evaluated flags are not "
         "booleans")
    want(all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
             for k in ("sigma", "gamma", "wall_time", "step_ms") for v in sc[k]), "sigma / gamma / timings are not numbers")
    want(set(meta["present"]) <= set(_ARRAYS), f"unknown snapshot fields {meta['present']}")
    want(n == 0 or {"actions", "rollout", "goal_distance"} <= set(meta["present"]), "snapshots lack actions / rollout")
    A = data["snap/actions"].shape[-1] if n else None
    shapes = dict(actions=(n, B, T, A), rollout=(n, B, T + 1, S), goal_distance=(n, B), states=(n, B, T - 1, S), gap=(n, B, T))
    for k in meta["present"]:
        want(data[f"snap/{k}"].shape == shapes[k], f"snap/{k} has shape {data[f'snap/{k}'].shape}, expected {shapes[k]}")
    evaluated = np.array(sc["evaluated"], dtype=bool)
    if n:  # NaN rollouts only where the model could not evaluate the iterate
        want(np.isfinite(data["snap/rollout"][evaluated]).all() and np.isfinite(data["snap/goal_distance"][evaluated]).all(),
             "an evaluated snapshot's rollout holds NaN or Inf")
    for k in meta["loss_keys"]:
        want(data[f"loss/{k}"].shape == (n, B), f"loss/{k} has shape {data[f'loss/{k}'].shape}, expected {(n, B)}")
    for it, keys in meta["checkpoints"].items():
        want(n == 0 or "actions" not in keys or data[f"ckpt/{it}/actions"].shape == (B, T, A),
             f"checkpoint {it} holds actions that do not fit the horizon and batch")


def check_target(path) -> str:
    """``path`` if a file may be written there: a new path in an existing folder, or an existing regular file
    (never a folder, a device, a FIFO, a socket or a symlink, which a rename would replace), with a name the
    file system takes. Else a one-line GraspvizError."""
    path = os.fspath(path)
    if not path or path.endswith(os.sep) or os.path.basename(path) in ("", ".", ".."):
        raise GraspvizError(f"cannot write {path!r}: expected a file path such as run.npz, not a folder")
    if os.path.lexists(path):
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode):
            raise GraspvizError(f"cannot write {path!r}: it is a folder; expected a file path such as run.npz")
        if not stat.S_ISREG(mode):
            kind = "a symlink" if stat.S_ISLNK(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if \
                stat.S_ISSOCK(mode) else "a device"
            raise GraspvizError(f"refusing to write {path!r}: it is {kind}, not a regular file")
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        raise GraspvizError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise GraspvizError(f"cannot write {path!r}: folder {folder!r} is not writable")
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if len(os.path.basename(path).encode()) + len(".graspviz-.tmp") + 8 > longest:
        raise GraspvizError(f"cannot write {path!r}: its name is longer than this file system takes ({longest} bytes)")
    return path


def write_atomic(path, write) -> str:
    """Call ``write(binary file)`` on a temporary file next to ``path``, then rename it to ``path``: a reader
    never sees a half-written file, and an interrupted write (Ctrl-C, SIGTERM) leaves no temporary file. The
    file gets the usual permissions (0666 minus the umask). ``path`` is checked first (:func:`check_target`)."""
    path = check_target(path)
    fd, tmp = tempfile.mkstemp(prefix=".graspviz-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def snapshots_equal(a: Snapshot, b: Snapshot) -> bool:
    """Exact equality of two snapshots (NaN equal to NaN), timing fields excluded."""
    def same(x, y) -> bool:
        if x is None or y is None:
            return x is y
        x, y = np.asarray(x), np.asarray(y)
        return np.array_equal(x, y, equal_nan=x.dtype.kind in "fc" and y.dtype.kind in "fc")
    for f in fields(Snapshot):
        if f.name in ("wall_time", "step_ms"):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, dict):
            if x.keys() != y.keys() or not all(same(x[k], y[k]) for k in x):
                return False
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not same(x, y):
                return False
        elif x != y:
            return False
    return True
