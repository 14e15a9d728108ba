"""Bundled learned models: loading, SHA-256 and architecture checks, a training smoke test."""

import json
import shutil

import pytest
import torch

from graspviz.core.errors import GraspvizError
from graspviz.worlds import get_world, learned


def _copy_assets(tmp_path, monkeypatch, name="pointmaze_mlp"):
    src = learned.assets_dir()
    (tmp_path / "models").mkdir()
    shutil.copy(src / "models" / f"{name}.safetensors", tmp_path / "models")
    shutil.copy(src / "manifest.json", tmp_path / "manifest.json")
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path))
    return tmp_path


def test_bundled_models_load():
    man = learned.read_manifest()["models"]
    assert {"pointmaze_mlp", "pusht_mlp"} <= set(man)
    for name, entry in man.items():
        assert learned.model_path(name).stat().st_size < 3_000_000
        m = learned.load_model(name)
        assert m.state_dim == get_world(entry["world"]).state_dim  # the planning state of the model's world
        window = (3, m.state_dim) if m.history == 1 else (3, m.history, m.state_dim)
        with torch.no_grad():
            out = m.step(torch.zeros(window), torch.zeros(3, m.action_dim))
        assert out.shape == (3, m.state_dim) and torch.isfinite(out).all()


def test_tampered_file_refused(tmp_path, monkeypatch):
    root = _copy_assets(tmp_path, monkeypatch)
    p = root / "models" / "pointmaze_mlp.safetensors"
    data = bytearray(p.read_bytes())
    data[-5] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(GraspvizError, match="SHA-256"):
        learned.load_model("pointmaze_mlp")


def test_architecture_mismatch_refused(tmp_path, monkeypatch):
    root = _copy_assets(tmp_path, monkeypatch)
    man = json.loads((root / "manifest.json").read_text())
    man["models"]["pointmaze_mlp"]["architecture"]["hparams"]["hidden"] = 64
    (root / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(GraspvizError, match="do not match architecture"):
        learned.load_model("pointmaze_mlp")


def test_missing_model_message(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path))
    with pytest.raises(GraspvizError, match="graspviz train --world pointmaze"):
        get_world("pointmaze").make_model()


def test_train_smoke(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path))
    from graspviz.worlds import train
    data = train.collect("pointmaze", 3, seed=1, length=6, progress=False)
    assert data["states"].shape == (3, 7, 4) and data["actions"].shape == (3, 6, 2)
    train.save_data(data, tmp_path / "d.npz")
    entry = train.train("pointmaze", data=str(tmp_path / "d.npz"), steps=5, seed=0, progress=False, eval_episodes=2)
    assert entry["sha256"] == learned.sha256(learned.model_path("pointmaze_mlp"))
    m = learned.load_model("pointmaze_mlp")
    assert m.state_dim == 4
    again = train.train("pointmaze", data=data, steps=5, seed=0, progress=False, eval_episodes=2)
    assert again["sha256"] == entry["sha256"]  # deterministic


def test_pixel_model_shapes():
    m = learned.PixelWM(latent=8)
    z = m.encode(torch.zeros(2, 64, 64))
    assert z.shape == (2, 8) and m.decode(z).shape == (2, 64, 64) and m.step(z, torch.zeros(2, 2)).shape == (2, 8)
