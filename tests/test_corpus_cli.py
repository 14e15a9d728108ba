"""Bad-input corpus of the command line: every subcommand, bad flags and bad files.

Each case runs ``graspviz.cli.main`` in-process (two run the real ``python -m graspviz`` in a subprocess) and
asserts the contract: exit code 2, exactly one line ``graspviz: error: ...`` on stderr naming what was
expected, no traceback, and no file written where the command failed. Cases that would do real work if the
check were missing are bounded (tiny worlds, ``--steps 1``) so a regression fails fast instead of hanging.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import graspviz as gv
from graspviz import cli
from graspviz.core.history import History
from helpers import HAS_CUDA, fast_planner, wall_problem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- files the cases refer to as {name} ---------------------------------------------------------------------
def _npz(arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


class _Evil:
    """Unpickling this creates ``path``: proof that something unpickled an uploaded file."""

    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def pickle_bomb(marker: str, key: str = "__meta__", **others) -> bytes:
    """An .npz whose array ``key`` is a pickle that creates ``marker`` when unpickled."""
    _Evil.path = marker
    buf = io.BytesIO()
    np.savez(buf, **{key: np.array([_Evil()], dtype=object)}, **others)
    return buf.getvalue()


def retag(data: bytes, **changes) -> bytes:
    """A run file with some of its metadata replaced (what a tampered or newer file looks like)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["__meta__"]).decode())
    meta.update(changes)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return _npz(arrays)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus_cli")
    good = gv.run(fast_planner("gd"), wall_problem(2, 4), seed=0).to_bytes()
    paths = {"dir": str(d), "good": str(d / "good.npz"), "folder": str(d / "folder.npz"), "marker": str(d / "pwned")}
    os.mkdir(paths["folder"])
    contents = {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "text": b"step,loss\n1,0.5\n",
        "plain_npz": _npz({"a": np.zeros(3)}),
        "pickle_npz": pickle_bomb(paths["marker"]),
        "data_pickle": pickle_bomb(paths["marker"], "states", actions=np.zeros((3, 4, 2), np.float32)),
        "version99": retag(good, version=99),
        "wrong_format": retag(good, format="other-tool"),
        "bad_horizon": retag(good, horizon=9),
        "data_wrong_shapes": _npz({"states": np.zeros((3, 5, 4), np.float32), "actions": np.zeros((3, 5, 2), np.float32)}),
        "data_no_actions": _npz({"states": np.zeros((3, 5, 4), np.float32)}),
    }
    for name, data in contents.items():
        paths[name] = str(d / f"{name}.npz")
        with open(paths[name], "wb") as f:
            f.write(data)
    with open(paths["good"], "wb") as f:
        f.write(good)
    flipped = bytearray(good)
    for i in range(40, len(flipped) - 40, 97):  # bytes flipped all through the file
        flipped[i] ^= 0xFF
    paths["flipped"] = str(d / "flipped.npz")
    with open(paths["flipped"], "wb") as f:
        f.write(bytes(flipped))
    return paths


def run_cli(capsys, argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _third_party_notices() -> set:
    """Lines other packages print to stderr on import, outside graspviz's control: gymnasium-robotics prints a
    Farama notice when the pointmaze simulator is first imported (a fix belongs in graspviz/worlds/sims)."""
    try:
        from farama_notifications import notifications
    except ImportError:
        return set()
    return {msg for versions in notifications.values() for msg in versions.values()}


def assert_refused(code, out, err, needle):
    """Exit code 2, one ``graspviz: error:`` line naming ``needle``, nothing else on stderr (bar a known
    third-party import notice), no traceback."""
    assert code == 2, (code, out, err)
    lines = [line for line in err.strip().splitlines() if line not in _third_party_notices()]
    assert len(lines) == 1, err
    assert lines[0].startswith("graspviz: error: "), lines[0]
    assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in out + err
    return lines[0]


PLAN = ["plan", "--world", "wall", "--planner", "grasp", "--steps", "1", "--horizon", "4", "--no-progress"]

#: name -> (argv, what the one line must say); ``{x}`` is the path of file ``x`` of the ``files`` fixture
CASES = {
    # plan: horizons, counts, rates, noise, weights, names, types, empty values, devices, output paths
    "plan horizon 0": (PLAN + ["--horizon", "0"], "horizon must be an integer >= 1; got 0"),
    "plan horizon negative": (PLAN + ["--horizon", "-5"], "horizon must be an integer >= 1; got -5"),
    "plan horizon huge": (PLAN + ["--horizon", "1000000000"], "needs about"),
    "plan horizon huge estimate": (PLAN + ["--horizon", "99999999999999999999"], "GiB of planner tensors (limit 8 GiB)"),
    "plan horizon float": (PLAN + ["--horizon", "2.5"], "argument --horizon: invalid int value: '2.5'"),
    "plan horizon empty": (PLAN + ["--horizon", ""], "argument --horizon: invalid int value: ''"),
    "plan batch huge": (PLAN + ["--batch", "100000000"], "x batch 100000000 needs about"),
    "plan batch 0": (PLAN + ["--batch", "0"], "--batch must be an integer >= 1; got 0"),
    "plan stride 0": (PLAN + ["--stride", "0"], "--stride must be an integer >= 1; got 0"),
    "plan steps 0": (PLAN + ["--steps", "0"], "GraspConfig.steps must be in [1, 100000]; got 0"),
    "plan steps negative": (PLAN + ["--steps", "-3"], "GraspConfig.steps must be in [1, 100000]; got -3"),
    "plan steps text": (PLAN + ["--steps", "many"], "argument --steps: invalid int value: 'many'"),
    "plan seed negative": (PLAN + ["--seed", "-1"], "--seed must be an integer >= 0; got -1"),
    "plan lr negative": (["plan", "--world", "wall", "--planner", "gd", "--lr=-0.1"], "GDConfig.lr must be in"),
    "plan lr nan": (PLAN + ["--lr-states", "nan"], "GraspConfig.lr_states must be a finite number"),
    "plan lr inf": (PLAN + ["--lr-actions", "inf"], "GraspConfig.lr_actions must be a finite number"),
    "plan lr empty": (PLAN + ["--lr-states", ""], "GraspConfig.lr_states must be a number in [0.0, 1000000.0] or auto; got ''"),
    "plan noise negative": (PLAN + ["--sigma", "-1"], "GraspConfig.sigma must be in [0.0, 1000000.0]; got '-1'"),
    "plan noise nan": (PLAN + ["--init-noise", "NaN"], "GraspConfig.init_noise must be a finite number"),
    "plan weight negative": (PLAN + ["--gamma", "-2"], "GraspConfig.gamma must be in [0.0, 1000.0]"),
    "plan weight nan": (PLAN + ["--gamma", "nan"], "GraspConfig.gamma must be a finite number"),
    "plan weight text": (PLAN + ["--gamma", "lots"], "GraspConfig.gamma must be a number"),
    "plan int as float": (PLAN + ["--sync-every", "1.5"], "GraspConfig.sync_every must be an integer"),
    "plan bad choice": (PLAN + ["--sigma-schedule", "zigzag"],
                        "GraspConfig.sigma_schedule must be one of constant, linear, cosine, exponential; got 'zigzag'"),
    "plan bad bool": (PLAN + ["--noise", "maybe"], "GraspConfig.noise must be true or false; got 'maybe'"),
    "plan cross-field": (["plan", "--world", "wall", "--planner", "cem", "--samples", "8", "--elites", "9"],
                         "CEMConfig.elites must be <= samples (8); got 9"),
    "plan unknown world": (PLAN[:2] + ["moon"] + PLAN[3:], "unknown world 'moon'; expected one of:"),
    "plan empty world": (PLAN[:2] + [""] + PLAN[3:], "unknown world ''; expected one of:"),
    "plan unknown planner": (["plan", "--world", "wall", "--planner", "astar"], "unknown planner 'astar'; expected one of:"),
    "plan empty planner": (["plan", "--world", "wall", "--planner", ""], "unknown planner ''"),
    "plan foreign setting": (["plan", "--world", "wall", "--planner", "cem", "--lr-states", "0.1"],
                             "--lr-states is not a setting of planner 'cem'"),
    "plan unknown flag": (PLAN + ["--colour", "red"], "unrecognized arguments: --colour red"),
    "plan abbreviated flag": (PLAN + ["--samp", "3"], "unrecognized arguments: --samp 3"),
    "plan missing planner": (["plan", "--world", "wall"], "the following arguments are required: --planner"),
    "plan bad dtype": (PLAN + ["--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
    "plan bad device": (PLAN + ["--device", "tpu"], "device must be auto, cpu, cuda or cuda:N; got 'tpu'"),
    "plan device index": (PLAN + ["--device", "cuda:99"],
                          "device 'cuda:99' asked for, but CUDA is not available here" if not HAS_CUDA
                          else "device 'cuda:99' does not exist; this machine has"),
    "plan out is a folder": (PLAN + ["--out", "{folder}"], "it is a folder; expected a file path"),
    "plan out missing folder": (PLAN + ["--out", "{dir}/no/such/run.npz"], "does not exist"),
    # show: bad run files
    "show missing file": (["show", "{dir}/missing.npz"], "does not exist or is not a file"),
    "show folder": (["show", "{folder}"], "does not exist or is not a file"),
    "show truncated": (["show", "{truncated}"], "is not a readable graspviz run file"),
    "show empty": (["show", "{empty}"], "is not a readable graspviz run file"),
    "show text": (["show", "{text}"], "is not a readable graspviz run file"),
    "show plain npz": (["show", "{plain_npz}"], "is not a readable graspviz run file"),
    "show pickle": (["show", "{pickle_npz}"], "is not a readable graspviz run file"),
    "show wrong version": (["show", "{version99}"], "has run-file version 99; this graspviz reads versions 1, 2"),
    "show wrong format": (["show", "{wrong_format}"], "expected format 'graspviz-history'"),
    "show tampered": (["show", "{bad_horizon}"], "is a damaged graspviz run file"),
    "show flipped bytes": (["show", "{flipped}"], "flipped.npz is not a readable graspviz run file"),
    "show no file": (["show"], "the following arguments are required: RUN.npz"),
    # tables and unknown commands
    "planners unknown world": (["planners", "--world", "moon"], "unknown world 'moon'"),
    "worlds extra": (["worlds", "--all"], "unrecognized arguments: --all"),
    "unknown command": (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
    "no command": ([], "the following arguments are required: COMMAND"),
    # bench: micro and sweep
    "bench micro horizon 0": (["bench", "--micro", "--horizons", "0"], "horizons must be integers >= 2"),
    "bench micro batch 0": (["bench", "--micro", "--batch", "0"], "batch must be an integer >= 1; got 0"),
    "bench micro repeats 0": (["bench", "--micro", "--repeats", "0"], "repeats must be an integer >= 1; got 0"),
    "bench micro json folder": (["bench", "--micro", "--json", "{dir}/no/such/rows.json"], "does not exist"),
    "bench unknown world": (["bench", "--world", "moon"], "unknown world 'moon'"),
    "bench unknown planner": (["bench", "--planners", "nope"], "unknown planner 'nope'"),
    "bench horizon 0": (["bench", "--horizons", "0"], "horizons must be integers >= 1; got 0"),
    "bench horizon huge": (["bench", "--quick", "--horizons", "1000000000", "--trials", "1", "--planners", "gd",
                            "--no-progress"], "needs about"),
    "bench trials negative": (["bench", "--trials", "-1"], "--trials must be an integer >= 1; got -1"),
    "bench seed negative": (["bench", "--seed", "-4"], "--seed must be an integer >= 0; got -4"),
    "bench bad set": (["bench", "--set", "grasp.steps"], "--set expects PLANNER.KNOB=VALUE"),
    "bench set nan": (["bench", "--quick", "--set", "grasp.lr_states=nan"], "GraspConfig.lr_states must be a finite"),
    "bench set unknown knob": (["bench", "--quick", "--set", "cem.colour=1"], "has no setting 'colour'"),
    "bench bad backend": (["bench", "--backend", "spark"], "argument --backend: invalid choice: 'spark'"),
    "bench bad device": (["bench", "--device", "tpu"], "device must be auto, cpu, cuda or cuda:N; got 'tpu'"),
    "bench check-every negative": (["bench", "--quick", "--check-every", "-1"], "--check-every must be an integer >= 0"),
    "bench chunk 0": (["bench", "--quick", "--chunk", "0", "--trials", "1", "--planners", "gd", "--no-progress"],
                      "chunk must be an integer >= 1; got 0"),
    "bench ray address": (["bench", "--ray-address", "auto"], "--ray-address needs --backend ray"),
    "bench json folder": (["bench", "--quick", "--json", "{dir}/no/such/rows.json"], "does not exist"),
    # tune
    "tune unknown world": (["tune", "--world", "moon"], "unknown world 'moon'"),
    "tune unknown planner": (["tune", "--planners", "nope"], "unknown planner 'nope'"),
    "tune horizon 0": (["tune", "--horizon", "0"], "--horizon must be an integer >= 1; got 0"),
    "tune budget 0": (["tune", "--budget", "0"], "--budget and --trials must be integers >= 1"),
    "tune seed negative": (["tune", "--seed", "-1"], "--seed must be an integer >= 0; got -1"),
    "tune set nan": (["tune", "--set", "grasp.lr_states=nan"], "GraspConfig.lr_states must be a finite number"),
    "tune bad device": (["tune", "--device", "tpu"], "device must be auto, cpu, cuda or cuda:N; got 'tpu'"),
    "tune json folder": (["tune", "--json", "{dir}/no/such/t.json"], "does not exist"),
    # scaling
    "scaling horizon 0": (["scaling", "--horizons", "0"], "horizons must be integers >= 1"),
    "scaling horizon negative": (["scaling", "--horizons", "8", "-1"], "horizons must be integers >= 1"),
    "scaling batch 0": (["scaling", "--batches", "0"], "batches must be integers >= 1"),
    "scaling unknown planner": (["scaling", "--planners", "nope"], "unknown planner 'nope'"),
    "scaling iters 0": (["scaling", "--iters", "0"], "--iters must be an integer >= 1; got 0"),
    "scaling threads 0": (["scaling", "--threads", "0"], "threads must be an integer >= 1; got 0"),
    "scaling state-dim 0": (["scaling", "--state-dim", "0"], "--state-dim must be an integer >= 1; got 0"),
    "scaling huge": (["scaling", "--horizons", "100000000", "--batches", "100000"], "needs about"),
    "scaling markdown folder": (["scaling", "--markdown", "{dir}/no/such/s.md"], "does not exist"),
    # serve (bad arguments are refused before anything binds)
    "serve port negative": (["serve", "--port", "-1"], "--port must be an integer >= 0; got -1"),
    "serve port too large": (["serve", "--port", "70000"], "--port must be an integer in 0..65535; got 70000"),
    "serve port text": (["serve", "--port", "http"], "argument --port: invalid int value: 'http'"),
    "serve bad address": (["serve", "--address", "not an address"], "address must be an IP address or a host name"),
    "serve unknown host": (["serve", "--address", "no-such-host.invalid"], "cannot bind 'no-such-host.invalid'"),
    "serve empty origin": (["serve", "--allow-websocket-origin", ""], "a websocket origin must be HOST or HOST:PORT"),
    "serve origin with scheme": (["serve", "--allow-websocket-origin", "http://evil.example/"],
                                 "a websocket origin must be HOST or HOST:PORT"),
    # collect / train / execute (simulator worlds)
    "collect unknown world": (["collect", "--world", "moon", "--out", "{dir}/c.npz"], "argument --world: invalid choice"),
    "collect episodes 0": (["collect", "--world", "pointmaze", "--episodes", "0", "--out", "{dir}/c.npz"],
                           "--episodes must be an integer >= 1; got 0"),
    "collect length 0": (["collect", "--world", "pointmaze", "--episodes", "1", "--length", "0", "--out", "{dir}/c.npz"],
                         "--length must be an integer >= 1; got 0"),
    "collect length negative": (["collect", "--world", "pointmaze", "--episodes", "1", "--length", "-3",
                                 "--out", "{dir}/c.npz"], "--length must be an integer >= 1; got -3"),
    "collect seed negative": (["collect", "--world", "pointmaze", "--episodes", "1", "--seed", "-1",
                               "--out", "{dir}/c.npz"], "--seed must be an integer >= 0; got -1"),
    "collect out not npz": (["collect", "--world", "pointmaze", "--episodes", "1", "--out", "{dir}/c.txt"],
                            "--out must be a .npz path"),
    "collect out missing folder": (["collect", "--world", "pointmaze", "--episodes", "1",
                                    "--out", "{dir}/no/such/c.npz"], "does not exist"),
    "collect no out": (["collect", "--world", "pointmaze"], "the following arguments are required: --out"),
    "train unknown world": (["train", "--world", "moon"], "argument --world: invalid choice"),
    "train steps 0": (["train", "--world", "pointmaze", "--steps", "0", "--episodes", "1"], "steps must be >= 1; got 0"),
    "train episodes 0": (["train", "--world", "pointmaze", "--episodes", "0", "--steps", "1"],
                         "--episodes must be an integer >= 1; got 0"),
    "train data missing": (["train", "--world", "pointmaze", "--data", "{dir}/missing.npz", "--steps", "1"],
                           "does not exist or is not a file; expected an .npz from `graspviz collect`"),
    "train data garbage": (["train", "--world", "pointmaze", "--data", "{text}", "--steps", "1"],
                           "is not readable (ValueError); expected an .npz"),
    "train data pickle": (["train", "--world", "pointmaze", "--data", "{data_pickle}", "--steps", "1"],
                          "is not readable (ValueError); expected an .npz"),
    "train data wrong arrays": (["train", "--world", "pointmaze", "--data", "{plain_npz}", "--steps", "1"],
                                "holds neither array; expected an .npz from `graspviz collect` with states (E, T+1, S)"),
    "train data no actions": (["train", "--world", "pointmaze", "--data", "{data_no_actions}", "--steps", "1"],
                              "holds states (3, 5, 4); expected"),
    "train data wrong shapes": (["train", "--world", "pointmaze", "--data", "{data_wrong_shapes}", "--steps", "1"],
                                "holds states (3, 5, 4), actions (3, 5, 2); expected"),
    "execute unknown world": (["execute", "--world", "moon"], "unknown world 'moon'; expected one of"),
    "execute world without simulator": (["execute", "--world", "hills"], "world 'hills' has no simulator"),
    "execute world path missing": (["execute", "--world", "no_such_mod:w"], "cannot import 'no_such_mod'"),
    "execute unknown planner": (["execute", "--world", "pointmaze", "--planner", "nope"], "unknown planner 'nope'"),
    "execute n 0": (["execute", "--world", "pointmaze", "--n", "0"], "--n must be an integer >= 1; got 0"),
    "execute horizon 0": (["execute", "--world", "pointmaze", "--horizon", "0"], "horizon must be an integer >= 1"),
    "execute horizon huge": (["execute", "--world", "pointmaze", "--horizon", "1000000000"], "needs about"),
    "execute steps negative": (["execute", "--world", "pointmaze", "--n", "1", "--horizon", "2", "--steps", "-1"],
                               "steps must be an integer >= 0; got -1"),
    "execute replan negative": (["execute", "--world", "pointmaze", "--n", "1", "--horizon", "2", "--steps", "1",
                                 "--replan-every", "-1"], "replan_every must be an integer >= 1; got -1"),
    "execute seed negative": (["execute", "--world", "pointmaze", "--n", "1", "--seed", "-1"],
                              "--seed must be an integer >= 0; got -1"),
    # adversarial: worlds without a decoder, step sizes, counts, output paths
    "adversarial unknown world": (["adversarial", "--world", "moon"], "unknown world 'moon'; expected one of"),
    "adversarial world without decoder": (["adversarial", "--world", "pusht"], "world 'pusht' has no decoder"),
    "adversarial eps 0": (["adversarial", "--world", "wall_pixels", "--eps", "0"], "eps must be numbers > 0"),
    "adversarial draws 0": (["adversarial", "--world", "wall_pixels", "--draws", "0"], "draws must be an integer >= 1"),
    "adversarial n 0": (["adversarial", "--world", "wall_pixels", "--n", "0"], "--n must be an integer >= 1; got 0"),
    "adversarial json missing folder": (["adversarial", "--world", "wall_pixels", "--json", "{dir}/no/such/a.json"],
                                        "does not exist"),
}


@pytest.fixture
def safe_assets(tmp_path, monkeypatch):
    """``train``/``collect`` write into the assets folder: point it at an empty temporary one."""
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path / "assets"))


@pytest.mark.parametrize("case", list(CASES))
def test_cli_corpus(case, capsys, files, monkeypatch, tmp_path):
    argv, needle = CASES[case]
    argv = [a.format(**files) for a in argv]
    if argv and argv[0] in ("train", "collect"):
        monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path / "assets"))  # a case that wrongly ran writes nowhere real
    before = set(os.listdir(files["dir"]))
    code, out, err = run_cli(capsys, argv)
    assert_refused(code, out, err, needle.format(**files))
    assert set(os.listdir(files["dir"])) == before  # a refused command wrote nothing
    assert not os.path.exists(files["marker"])  # and nothing unpickled the pickle bomb


def test_every_subcommand_is_in_the_corpus():
    parser = cli.build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    covered = {CASES[c][0][0] for c in CASES if CASES[c][0]}
    assert commands <= covered, commands - covered


# -- weight files (a tampered copy of the bundled pointmaze model) ---------------------------------------------
def _assets_copy(tmp_path, monkeypatch):
    from graspviz.worlds import learned
    src = learned.assets_dir()
    root = tmp_path / "assets"
    (root / "models").mkdir(parents=True)
    shutil.copy(src / "models" / "pointmaze_mlp.safetensors", root / "models")
    man = json.loads((src / "manifest.json").read_text())
    man["models"] = {"pointmaze_mlp": man["models"]["pointmaze_mlp"]}
    (root / "manifest.json").write_text(json.dumps(man))
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(root))
    return root, man


def _rehash(root, man):
    from graspviz.worlds import learned
    man["models"]["pointmaze_mlp"]["sha256"] = learned.sha256(root / "models" / "pointmaze_mlp.safetensors")
    (root / "manifest.json").write_text(json.dumps(man))


def _flip(root):
    p = root / "models" / "pointmaze_mlp.safetensors"
    data = bytearray(p.read_bytes())
    data[-7] ^= 0xFF
    p.write_bytes(bytes(data))


def _truncate(root):
    p = root / "models" / "pointmaze_mlp.safetensors"
    p.write_bytes(p.read_bytes()[:200])


def _oversize(root):
    p = root / "models" / "pointmaze_mlp.safetensors"
    p.write_bytes(p.read_bytes() + b"\0" * 4096)


def _arch(man):
    man["models"]["pointmaze_mlp"]["architecture"]["hparams"]["hidden"] = 64


def _unknown_arch(man):
    man["models"]["pointmaze_mlp"]["architecture"]["class"] = "Transformer9000"


def _fifo(root):
    p = root / "models" / "pointmaze_mlp.safetensors"
    p.unlink()
    os.mkfifo(p)


def _to_dev_zero(root):
    p = root / "models" / "pointmaze_mlp.safetensors"
    p.unlink()
    p.symlink_to("/dev/zero")


def _manifest_fifo(root):
    (root / "manifest.json").unlink()
    os.mkfifo(root / "manifest.json")


WEIGHT_CASES = {
    "weights are a FIFO (would hang)": (lambda root, man: _fifo(root), "a weights file must be a regular file"),
    "weights link to /dev/zero (would never end)": (lambda root, man: _to_dev_zero(root),
                                                    "a weights file must be a regular file"),
    "manifest is a FIFO": (lambda root, man: _manifest_fifo(root), "the manifest must be a regular file"),
    "hash mismatch (flipped byte)": (lambda root, man: _flip(root), "SHA-256"),
    "hash mismatch (truncated)": (lambda root, man: _truncate(root), "SHA-256"),
    "hash mismatch (oversized)": (lambda root, man: _oversize(root), "SHA-256"),
    "truncated with matching hash": (lambda root, man: (_truncate(root), _rehash(root, man)), "safetensors"),
    "architecture mismatch": (lambda root, man: (_arch(man), _rehash(root, man)), "architecture"),
    "unknown architecture": (lambda root, man: (_unknown_arch(man), _rehash(root, man)), "Transformer9000"),
    "missing weights": (lambda root, man: (root / "models" / "pointmaze_mlp.safetensors").unlink(), "missing"),
    "manifest not json": (lambda root, man: (root / "manifest.json").write_text("{not json"), "not valid JSON"),
}


@pytest.mark.parametrize("case", list(WEIGHT_CASES))
def test_bad_weight_files(case, capsys, tmp_path, monkeypatch):
    root, man = _assets_copy(tmp_path, monkeypatch)
    damage, needle = WEIGHT_CASES[case]
    damage(root, man)
    code, out, err = run_cli(capsys, ["execute", "--world", "pointmaze", "--n", "1", "--horizon", "2", "--steps", "1"])
    assert_refused(code, out, err, needle)


def test_intact_weight_copy_loads(capsys, tmp_path, monkeypatch):
    """The control of the weight cases: the untouched copy plans and executes."""
    _assets_copy(tmp_path, monkeypatch)
    code, out, err = run_cli(capsys, ["execute", "--world", "pointmaze", "--n", "1", "--horizon", "2", "--steps", "1"])
    assert code == 0, err
    assert "pointmaze grasp n=1 T=2: success" in out


# -- earlier results survive; nothing half-written -------------------------------------------------------------
def test_a_refused_plan_keeps_the_earlier_run_file(capsys, tmp_path):
    out_file = tmp_path / "run.npz"
    code, _, err = run_cli(capsys, ["plan", "--world", "hills", "--planner", "gd", "--steps", "2", "--horizon", "3",
                                    "--out", out_file, "--no-progress", "--device", "cpu"])
    assert code == 0, err
    saved = out_file.read_bytes()
    for bad in (["--lr", "nan"], ["--horizon", "0"], ["--seed", "-2"], ["--device", "tpu"]):
        code, out, err = run_cli(capsys, ["plan", "--world", "hills", "--planner", "gd", "--steps", "2", "--horizon", "3",
                                          "--out", out_file, "--no-progress", *bad])
        assert_refused(code, out, err, bad[0].lstrip("-").split("-")[0])
    assert out_file.read_bytes() == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]  # no temporary files left
    assert len(History.load(out_file)) == 3


# -- the last-resort handlers: unexpected errors and interrupts are one line too --------------------------------
def test_unexpected_errors_are_one_line(capsys, monkeypatch):
    def boom(args):
        raise ZeroDivisionError("division by zero\nsecond line")
    monkeypatch.setattr(cli.info, "cmd_worlds", boom)
    code, out, err = run_cli(capsys, ["worlds"])
    line = assert_refused(code, out, err, "worlds failed: ZeroDivisionError: division by zero")
    assert "GRASPVIZ_DEBUG=1" in line and "second line" not in line
    monkeypatch.setenv("GRASPVIZ_DEBUG", "1")  # developers get the traceback
    with pytest.raises(ZeroDivisionError):
        cli.main(["worlds"])


def test_os_errors_are_one_line(capsys, monkeypatch):
    def denied(args):
        raise PermissionError(13, "Permission denied", "/root/secret.npz")
    monkeypatch.setattr(cli.info, "cmd_worlds", denied)
    code, out, err = run_cli(capsys, ["worlds"])
    assert_refused(code, out, err, "cannot use '/root/secret.npz': Permission denied")


def test_keyboard_interrupt_is_one_line(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli.info, "cmd_worlds", interrupted)
    code, out, err = run_cli(capsys, ["worlds"])
    assert code == 130 and err.strip() == "graspviz: interrupted" and "Traceback" not in err


# -- the real console entry point, in a subprocess ---------------------------------------------------------------
@pytest.mark.parametrize("argv, needle", [
    (["show", "{truncated}"], "is not a readable graspviz run file"),
    (["serve", "--port", "70000"], "--port must be an integer in 0..65535; got 70000"),
])
def test_cli_corpus_in_a_subprocess(argv, needle, files):
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, "-m", "graspviz", *[a.format(**files) for a in argv]], capture_output=True,
                       text=True, env=env, timeout=120, cwd=ROOT)
    assert_refused(p.returncode, p.stdout, p.stderr, needle)


# -- a finished run is never lost at save time; special files are never clobbered ------------------------------
def _sub(argv, tmp_path, stdout=subprocess.PIPE, env=None, timeout=180):
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore", **(env or {})}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "graspviz", *map(str, argv)], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, env=env, timeout=timeout, cwd=tmp_path)


PLAN_FAST = ["plan", "--world", "hills", "--planner", "gd", "--steps", "3", "--horizon", "4", "--device", "cpu",
             "--no-progress"]


def test_a_full_stdout_does_not_lose_the_saved_run(tmp_path):
    with open("/dev/full", "w") as full:
        p = _sub([*PLAN_FAST, "--out", tmp_path / "run.npz"], tmp_path, stdout=full)
    assert_refused(p.returncode, "", p.stderr, "cannot print the summary: No space left on device; the run is saved in")
    assert len(History.load(tmp_path / "run.npz")) == 4  # saved before printing


@pytest.mark.parametrize("target, needle", [
    ("/dev/null", "it is a device, not a regular file"),
    ("{fifo}", "it is a FIFO, not a regular file"),
    ("{link}", "it is a symlink, not a regular file"),
    ("{dir}/newdir/", "expected a file path such as run.npz, not a folder"),
    ("{dir}/" + "r" * 300 + ".npz", "its name is longer than this file system takes"),
])
def test_outputs_that_are_not_regular_files_are_refused_before_planning(target, needle, tmp_path, capsys):
    fifo, link = tmp_path / "fifo", tmp_path / "link.npz"
    os.mkfifo(fifo)
    link.symlink_to(tmp_path / "elsewhere.npz")
    out = target.format(fifo=fifo, link=link, dir=tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = run_cli(capsys, [*PLAN_FAST, "--out", out])
    assert_refused(code, stdout, err, needle)
    assert "iterations:" not in stdout  # refused before any planning
    assert sorted(p.name for p in tmp_path.iterdir()) == before and fifo.is_fifo() and link.is_symlink()
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_keep_the_run_like_ctrl_c(signame, tmp_path):
    import signal
    import time
    out = tmp_path / "run.npz"
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore",
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "graspviz", "plan", "--world", "point_mass", "--planner", "grasp",
                             "--steps", "100000", "--batch", "8", "--stride", "50", "--device", "cpu", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    time.sleep(8)  # well into planning
    proc.send_signal(getattr(signal, signame))
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, (proc.returncode, stderr[-2000:])  # stopped early, and saved
    h = History.load(out)
    assert h.stop_reason.kind is gv.StopKind.INTERRUPTED and h.last.iteration > 0, h.stop_reason
    assert f"stopped early: {h.stop_reason.message}" in stdout and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]  # no temporary file left


def test_an_interrupted_save_leaves_no_temporary_file(tmp_path):
    from graspviz.core.history import write_atomic

    def writer(f):
        f.write(b"x" * 1000)
        raise KeyboardInterrupt  # what SIGTERM becomes, in the middle of a save

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "run.npz", writer)
    assert list(tmp_path.iterdir()) == []


def test_a_file_name_the_terminal_cannot_show(tmp_path):
    p = _sub([*PLAN_FAST, "--out", "été.npz"], tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert p.returncode == 0, p.stderr
    assert "saved \\xe9t\\xe9.npz" in p.stdout and len(History.load(tmp_path / "été.npz")) == 4


def test_training_data_that_cannot_train_a_model_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path / "assets"))
    cases = {"one transition": (dict(states=np.zeros((1, 2, 4), np.float32), actions=np.zeros((1, 1, 2), np.float32)),
                                "holds 1 transition(s); training needs at least 2"),
             "wrong action width": (dict(states=np.zeros((3, 5, 4), np.float32), actions=np.zeros((3, 4, 3), np.float32)),
                                    "holds states of dim 4 and actions of dim 3; world 'pointmaze' has 4 and 2"),
             "NaN states": (dict(states=np.full((3, 5, 4), np.nan, np.float32), actions=np.zeros((3, 4, 2), np.float32)),
                            "holds non-numeric or NaN/Inf values")}
    for name, (arrays, needle) in cases.items():
        path = tmp_path / f"{name}.npz"
        path.write_bytes(_npz(arrays))
        code, out, err = run_cli(capsys, ["train", "--world", "pointmaze", "--data", path, "--steps", "1"])
        assert_refused(code, out, err, needle)
    assert not (tmp_path / "assets").exists()  # nothing was written


def test_text_read_from_a_run_file_is_printed_as_one_clean_line(files, capsys, tmp_path):
    bad = tmp_path / "ansi.npz"
    bad.write_bytes(retag(open(files["good"], "rb").read(), stop_reason="\x1b[2J\x1b[31mwiped\nyour screen\x07"))
    code, out, err = run_cli(capsys, ["show", bad])
    assert code == 1 and "stopped early: wiped your screen" in out and "\x1b" not in out + err and "\x07" not in out


def test_show_bounds_its_work_by_the_command_not_the_file(tmp_path, capsys):
    """A file declaring 2000 problems: show runs at most 64 in the simulator, and says so."""
    import time
    w = gv.get_world("pointmaze")
    p = w.sample_problems(2000, 3, seed=0)
    h = gv.run(gv.make_planner("gd", steps=1), p)
    path = h.save(tmp_path / "big.npz")
    t0 = time.perf_counter()
    code, out, err = run_cli(capsys, ["show", path])
    took = time.perf_counter() - t0
    assert code == 0, err
    assert "(the first 64 of 2000 problems)" in out and took < 60, took


def test_a_bad_environment_variable_is_named(tmp_path):
    p = _sub(["worlds"], tmp_path, env={"TQDM_MININTERVAL": "abc"})
    assert_refused(p.returncode, p.stdout, p.stderr, "TQDM_MININTERVAL='abc' are not valid for tqdm")


def test_show_refuses_a_zip_bomb_within_bounded_memory(files, tmp_path):
    """A run file with an extra 1 GiB member deflated to about a megabyte: refused before inflating (the child's
    peak memory stays a fraction of the bomb)."""
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(open(files["good"], "rb").read())
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("padding.npy", "w", force_zip64=True) as f:
            for _ in range(64):
                f.write(b"\0" * (1 << 24))
    assert bomb.stat().st_size < 4 * 2**20
    # the child reports its own high-water mark (VmHWM is reset by exec; getrusage in the parent is not: it would
    # count the pytest process the child was forked from)
    report = ("import runpy, sys\nsys.argv = ['graspviz', 'show', sys.argv[1]]\ntry:\n"
              "    runpy.run_module('graspviz', run_name='__main__')\nfinally:\n"
              "    hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0].split()[1]\n"
              "    print('peak-kib', hwm, file=sys.stderr)\n")
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, "-c", report, str(bomb)], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=180)
    err, _, peak = p.stderr.rstrip().rpartition("peak-kib ")
    assert_refused(p.returncode, p.stdout, err.rstrip(), "holds 1 member(s) a run file does not have (e.g. 'padding.npy')")
    peak_mib = int(peak) / 1024
    assert peak_mib < 700, f"a child peaked at {peak_mib:.0f} MiB"
