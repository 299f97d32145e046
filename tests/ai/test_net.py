"""The network and its model files."""

from __future__ import annotations

import pytest
import torch

from ringrift_cli.ai.net import PRESETS, ModelFileError, load_model, new_net, save_model
from ringrift_cli.game import CONFIG_KEYS


@pytest.mark.parametrize("config_key", CONFIG_KEYS)
def test_tiny_net_fits_every_config(config_key):
    net, info = new_net(config_key, "tiny")
    shape = info.shape
    policy, value = net(torch.zeros(3, shape.planes, shape.height, shape.width), torch.zeros(3, shape.globals))
    assert policy.shape == (3, shape.policy_size)
    assert value.shape == (3, int(config_key[-2]))
    assert torch.all(value.abs() <= 1)


def test_presets_reach_reference_sizes():
    assert (PRESETS["medium"].blocks, PRESETS["medium"].channels) == (6, 96)
    assert (PRESETS["large"].blocks, PRESETS["large"].channels) == (12, 192)


def test_model_file_round_trip_keeps_weights_and_lineage(tmp_path):
    net, info = new_net("hex8_2p", "tiny")
    info.lineage["parent"] = None
    info.lineage["shards"] = ["abc"]
    saved = save_model(tmp_path / "m.pt", net, info)
    loaded, loaded_info = load_model(tmp_path / "m.pt", config_key="hex8_2p")
    assert loaded_info.weights_sha256 == saved.weights_sha256 and len(saved.weights_sha256) == 64
    assert loaded_info.lineage == {"parent": None, "shards": ["abc"]}
    assert loaded_info.encoder_version == info.encoder_version and loaded_info.preset == "tiny"
    x = torch.randn(2, info.shape.planes, info.shape.height, info.shape.width)
    g = torch.randn(2, info.shape.globals)
    net.eval()
    with torch.no_grad():
        assert torch.allclose(net(x, g)[0], loaded(x, g)[0])


def test_model_for_another_config_or_encoding_is_refused(tmp_path):
    net, info = new_net("hex8_2p", "tiny")
    save_model(tmp_path / "m.pt", net, info)
    with pytest.raises(ModelFileError, match="not square8_2p"):
        load_model(tmp_path / "m.pt", config_key="square8_2p")
    info.encoding["version"] = info.encoding["version"] + 1
    save_model(tmp_path / "old.pt", net, info)
    with pytest.raises(ModelFileError, match="encoding mismatch"):
        load_model(tmp_path / "old.pt", config_key="hex8_2p")


def test_corrupt_model_file_is_refused(tmp_path):
    net, info = new_net("square8_2p", "tiny")
    path = tmp_path / "m.pt"
    save_model(path, net, info)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load_model(path, config_key="square8_2p")
    path.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="cannot load"):
        load_model(path)
