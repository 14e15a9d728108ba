"""``wall_tokens``: the frame-skip simulator, door tasks feasible by construction, the TokenWM architecture (token
layout, history window, the frozen encoder), a tiny deterministic training run and the shipped model's checks.
CI never trains the shipped model: training here uses a few episodes and steps in a temporary assets folder."""

import json
import shutil

import numpy as np
import pytest
import torch

from graspviz.core.errors import GraspvizError
from graspviz.worlds import get_world, learned, train
from graspviz.worlds.analytic import WallDynamics
from graspviz.worlds.sims import wall_tokens as WT

NAME = "wall_tokens_wm"


pytestmark = pytest.mark.usefixtures("one_thread")  # (tests/conftest.py)


@pytest.fixture(scope="module")
def world():
    return get_world("wall_tokens")


def test_one_model_step_is_five_wall_steps(world):
    start, a = np.array([[10.0, 40.0]]), np.array([[[0.5, -0.25]]])
    traj = world.simulate(start, a)
    s = torch.tensor(start)
    for _ in range(WT.FRAME_SKIP):
        s = WallDynamics()(s, torch.tensor(a[:, 0]))
    np.testing.assert_allclose(traj[0, -1], s[0].numpy())
    np.testing.assert_allclose(traj[0, -1], [15.0, 37.5])  # 5 x 2 px x the action
    assert world.simulate([[25.0, 45.0]], [[[1.0, 0.0]] * 3])[0, -1, 0] < WallDynamics.wall_l  # the wall still blocks


def test_goals_are_door_tasks_reached_by_their_plan(world):
    rng = np.random.default_rng(3)
    starts, goals = world.sample_pairs(40, 10, rng)
    assert starts.shape == goals.shape == (40, 2)
    across = (starts[:, 0] - 32) * (goals[:, 0] - 32) < 0
    yc = starts[:, 1] + (goals[:, 1] - starts[:, 1]) * (32 - starts[:, 0]) / (goals[:, 0] - starts[:, 0])
    assert across.all() and not ((yc > WallDynamics.door_lo - 2) & (yc < WallDynamics.door_hi + 2)).any()
    # feasible by construction: replaying the sampler's own plan reaches each goal exactly
    rng, again = np.random.default_rng(3), np.random.default_rng(3)
    s, g = world.sample_pairs(1, 10, rng)
    for _ in range(WT.DOOR_TRIES):
        s0 = np.array([again.uniform(8, 26), again.uniform(8, 56)])
        if again.random() < 0.5:
            s0[0] = 64.0 - s0[0]
        end = world.simulate(s0[None], WT._door_plan(again, s0, 10)[None])[0, -1]
        if np.allclose(end, g[0]):
            break
    np.testing.assert_allclose(s0, s[0])
    np.testing.assert_allclose(end, g[0])
    short = world.sample_pairs(3, 1, np.random.default_rng(0))  # too short for a door task: still terminates
    assert short[0].shape == (3, 2)


def test_token_layout_history_and_shapes():
    torch.manual_seed(0)
    m = learned.TokenWM(dim=4, channels=8, hidden=8, history=3)
    assert m.state_dim == 8 * 8 * 4 and m.history == 3
    z = m.encode(torch.rand(2, 64, 64))
    assert z.shape == (2, 256) and m.decode(z).shape == (2, 64, 64) and m.decode_logits(z).shape == (2, 2, 64, 64)
    g = m.grid(z)
    assert g.shape == (2, 4, 8, 8) and torch.equal(m.flat(g), z)
    assert torch.equal(g[1, :, 2, 5], z[1, (2 * 8 + 5) * 4:(2 * 8 + 5) * 4 + 4])  # token p = row * 8 + col
    win = torch.randn(5, 3, 256)
    a = torch.rand(5, 2)
    out = m.step(win, a)
    assert out.shape == (5, 256)
    older = win.clone()
    older[:, 0] += 1.0
    assert not torch.allclose(m.step(older, a), out)  # the oldest frame of the window is read
    rest = m.step(win[:, -1], a)  # one frame: the dot at rest, the frame repeated
    assert torch.allclose(rest, m.step(win[:, -1:].expand(-1, 3, -1), a))


def _tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path))
    return train.collect("wall_tokens", 3, seed=1, length=6, progress=False)


def test_train_smoke_is_deterministic_and_loads(tmp_path, monkeypatch):
    data = _tiny(tmp_path, monkeypatch)
    assert data["states"].shape == (3, 7, 2) and data["actions"].shape == (3, 6, 2)
    entry = train.train("wall_tokens", data=data, steps=4, seed=0, progress=False, eval_episodes=2)
    assert entry["name"] == NAME and entry["sha256"] == learned.sha256(learned.model_path(NAME))
    acc = entry["accuracy"]
    assert {"one_step_error", "10_step_error", "reconstruction_error"} <= set(acc) and acc["frame_skip"] == 5
    m = learned.load_model(NAME)
    assert (m.state_dim, m.action_dim, m.history) == (1024, 2, 3)
    with torch.no_grad():
        out = m.step(torch.zeros(4, 3, 1024), torch.zeros(4, 2))
    assert out.shape == (4, 1024) and torch.isfinite(out).all()
    again = train.train("wall_tokens", data=data, steps=4, seed=0, progress=False, eval_episodes=2)
    assert again["sha256"] == entry["sha256"]  # deterministic


def test_the_encoder_is_frozen_while_the_predictor_trains(tmp_path, monkeypatch):
    data = _tiny(tmp_path, monkeypatch)
    # 4 and 5 steps share stage 1 (2 steps each); only the predictor trains longer
    a, _, _ = train.train_tokens("wall_tokens", data, 4, 0, progress=False)
    b, _, _ = train.train_tokens("wall_tokens", data, 5, 0, progress=False)
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        same = torch.equal(sa[k], sb[k])
        assert same == (not k.startswith("pred.")), k
    c, _, _ = train.train_tokens("wall_tokens", data, 6, 0, progress=False)  # 3 encoder steps
    assert not torch.equal(c.state_dict()["enc.0.weight"], sa["enc.0.weight"])


def test_blurred_target_peaks_at_one_on_the_dot():
    from graspviz.worlds.sims.wall_pixels import background, render_batch
    img = torch.tensor(render_batch([[20.0, 40.0]]), dtype=torch.float32)
    blur = train.blurred_dot(img, torch.tensor(background(), dtype=torch.float32))
    assert abs(blur.max().item() - 1.0) < 0.05
    r, c = np.unravel_index(blur[0].argmax().item(), (64, 64))
    assert abs(c + 0.5 - 20) <= 1 and abs(r + 0.5 - 40) <= 1
    assert blur[0, 40, 40].item() > 0.01  # 20 px away the blurred dot still shows (that is its purpose)


# -- the shipped model ---------------------------------------------------------------------------
def _copy_assets(tmp_path, monkeypatch):
    src = learned.assets_dir()
    if not learned.model_path(NAME).exists():
        pytest.fail(f"{learned.model_path(NAME)} is missing: run `graspviz train --world wall_tokens`")
    (tmp_path / "models").mkdir()
    shutil.copy(learned.model_path(NAME), tmp_path / "models")
    shutil.copy(src / "manifest.json", tmp_path / "manifest.json")
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path))
    return tmp_path


def test_shipped_model_and_manifest(world):
    entry = learned.read_manifest()["models"][NAME]
    assert entry["world"] == "wall_tokens" and entry["architecture"]["class"] == "TokenWM"
    assert learned.model_path(NAME).stat().st_size == entry["bytes"] < 25_000_000
    assert entry["command"].startswith("graspviz train --world wall_tokens")
    m = world.model()
    assert (m.state_dim, m.history) == (world.state_dim, 3)
    xy = np.array([[12.0, 20.0], [50.0, 44.0]])
    np.testing.assert_allclose(world.to_true(world.to_planning(xy)), xy, atol=3.0)  # the decoder reads tokens back


def test_tampered_weights_refused_in_one_line(tmp_path, monkeypatch):
    root = _copy_assets(tmp_path, monkeypatch)
    p = root / "models" / f"{NAME}.safetensors"
    data = bytearray(p.read_bytes())
    data[-5] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(GraspvizError, match="SHA-256") as e:
        learned.load_model(NAME)
    assert "\n" not in str(e.value)


def test_shape_mismatch_refused_in_one_line(tmp_path, monkeypatch):
    root = _copy_assets(tmp_path, monkeypatch)
    man = json.loads((root / "manifest.json").read_text())
    man["models"][NAME]["architecture"]["hparams"]["dim"] = 8
    (root / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(GraspvizError, match="do not match architecture TokenWM") as e:
        learned.load_model(NAME)
    assert "\n" not in str(e.value)
