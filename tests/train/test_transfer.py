from __future__ import annotations

import pytest
import torch

from kdss_bench.errors import ModelError
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.transfer import build_transfer_model

TINY_MODEL = "convnet_8_16_bn"


def _pretrained():
    """A source model whose BN running stats and weights differ from any fresh init."""
    init = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=7, seed=11)
    init.train()
    with torch.no_grad():
        init(torch.randn(8, 3, 16, 16) * 3 + 1)  # moves the BN running statistics
        for p in init.parameters():
            p.add_(0.1)
    return init


def test_every_non_head_tensor_and_bn_stat_comes_from_init_and_head_is_fresh():
    init = _pretrained()
    init_state = {k: v.clone() for k, v in init.state_dict().items()}
    model = build_transfer_model(TINY_MODEL, init, num_classes=3, in_shape=(3, 16, 16), seed=0)
    state = model.state_dict()
    transferred = [k for k in state if not k.startswith("fc.")]
    assert any("running_mean" in k for k in transferred) and any("running_var" in k for k in transferred)
    for key in transferred:
        assert torch.equal(state[key], init_state[key]), key
    assert model.fc.out_features == 3
    fresh = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=3, seed=0)
    assert torch.equal(model.fc.weight, fresh.fc.weight)
    for key, value in init.state_dict().items():  # init is left as it was
        assert torch.equal(value, init_state[key]), key
    model.fc.weight.data.zero_()
    next(model.parameters()).data.zero_()
    assert not torch.equal(next(init.parameters()), next(model.parameters()))  # copies, not shared


def test_no_init_is_the_seeded_random_model():
    a = build_transfer_model(TINY_MODEL, None, num_classes=4, in_shape=(3, 16, 16), seed=5)
    b = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=4, seed=5)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


def test_init_of_another_architecture_is_a_model_error():
    other = build_seeded_model("convnet_8_bn", in_shape=(3, 16, 16), num_outputs=7, seed=0)
    with pytest.raises(ModelError, match="does not match 'convnet_8_16_bn'"):
        build_transfer_model(TINY_MODEL, other, num_classes=3, in_shape=(3, 16, 16), seed=0)
    wider = build_seeded_model("convnet_8_32_bn", in_shape=(3, 16, 16), num_outputs=7, seed=0)
    with pytest.raises(ModelError, match="do not fit 'convnet_8_16_bn'"):
        build_transfer_model(TINY_MODEL, wider, num_classes=3, in_shape=(3, 16, 16), seed=0)
