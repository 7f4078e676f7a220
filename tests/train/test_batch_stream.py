from __future__ import annotations

import pytest
import torch

from kdss_bench.train.batch_stream import ShuffledBatchStream


def test_each_pass_visits_every_index_once_including_the_partial_batch():
    x = torch.arange(10)
    stream = ShuffledBatchStream((x, x * 10), batch_size=4, seed=0)
    assert stream.batches_per_pass == 3
    passes = []
    for _ in range(3):
        batches = [next(stream) for _ in range(stream.batches_per_pass)]
        assert [b[0].shape[0] for b in batches] == [4, 4, 2]
        for xb, yb in batches:
            assert torch.equal(yb, xb * 10)  # rows stay aligned across tensors
        seen = torch.cat([b[0] for b in batches])
        assert sorted(seen.tolist()) == list(range(10))
        passes.append(seen)
    assert stream.passes_started == 3
    assert not torch.equal(passes[0], passes[1])  # reshuffled every pass


def test_same_seed_same_order_other_seed_other_order():
    x = torch.arange(50)
    first = next(ShuffledBatchStream((x,), 8, seed=3))[0]
    s1, s2, s3 = (ShuffledBatchStream((x,), 8, seed=s) for s in (3, 3, 4))
    o1 = torch.cat([next(s1)[0] for _ in range(14)])
    o2 = torch.cat([next(s2)[0] for _ in range(14)])
    o3 = torch.cat([next(s3)[0] for _ in range(14)])
    assert torch.equal(o1, o2) and torch.equal(o1[:8], first)
    assert not torch.equal(o1, o3)


def test_batch_larger_than_data_yields_whole_set_each_time():
    x = torch.arange(5)
    stream = ShuffledBatchStream((x,), batch_size=256, seed=0)
    for _ in range(3):
        (xb,) = next(stream)
        assert sorted(xb.tolist()) == [0, 1, 2, 3, 4]


def test_next_indices_matches_a_pass():
    stream = ShuffledBatchStream((torch.zeros(7, 2),), batch_size=3, seed=1)
    idx = torch.cat([stream.next_indices() for _ in range(3)])
    assert sorted(idx.tolist()) == list(range(7))


@pytest.mark.parametrize(
    ("tensors", "batch_size", "message"),
    [((torch.zeros(3), torch.zeros(4)), 2, "disagree"), ((torch.zeros(0),), 2, "non-empty"),
     ((torch.zeros(3),), 0, "batch_size")],
)
def test_rejects_bad_input(tensors, batch_size, message):
    with pytest.raises(ValueError, match=message):
        ShuffledBatchStream(tensors, batch_size, seed=0)
