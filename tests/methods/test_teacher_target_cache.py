"""Fast mode's teacher-target cache: stored views re-create exactly and carry the teacher's features."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.methods.teacher_target_cache import TeacherTargetCache
from kdss_bench.teacher.backbone import build_teacher_backbone
from kdss_bench.train.augment import CropFlip, TrainAugment

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    teacher = build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)).eval().requires_grad_(False)
    images = torch.randint(0, 256, (20, 3, 16, 16), dtype=torch.uint8)
    augment = TrainAugment(MEAN, STD)
    cache = TeacherTargetCache(teacher, images, augment, views=3, generator=torch.Generator().manual_seed(1),
                               batch_size=7)
    return teacher, images, augment, cache


def test_targets_are_the_teacher_features_of_the_stored_views(setup):
    teacher, images, augment, cache = setup
    assert cache.targets.shape == (20, 3, 16) and cache.targets.dtype == torch.float16
    for view in range(3):
        params = CropFlip(cache.off_y[:, view], cache.off_x[:, view], cache.flipped[:, view])
        expected = teacher(augment.normalize_(augment.apply_crop_flip(images, params)))
        torch.testing.assert_close(cache.targets[:, view].float(), expected, rtol=2e-3, atol=2e-3)


def test_batches_pair_each_image_with_the_target_of_its_view(setup):
    teacher, _, _, cache = setup
    index = torch.tensor([3, 3, 11, 0, 19])
    x, y = cache.batch(index, torch.Generator().manual_seed(5))
    assert x.shape == (5, 3, 16, 16) and y.dtype == torch.float32
    torch.testing.assert_close(y, teacher(x), rtol=2e-3, atol=2e-3)


def test_views_differ_and_are_reproducible_from_the_seed(setup):
    teacher, images, augment, cache = setup
    again = TeacherTargetCache(teacher, images, augment, views=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again.targets, cache.targets) and torch.equal(again.off_x, cache.off_x)
    views = cache.view_images(torch.zeros(3, dtype=torch.long), torch.arange(3))
    assert not torch.equal(views[0], views[1]) or not torch.equal(views[1], views[2])


def test_progress_is_reported_and_zero_views_refused(setup):
    teacher, images, augment, _ = setup
    seen = []
    TeacherTargetCache(teacher, images, augment, views=2, generator=torch.Generator().manual_seed(0),
                       batch_size=8, on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (40, 40) and len(seen) == 6
    with pytest.raises(ValueError, match="teacher_views"):
        TeacherTargetCache(teacher, images, augment, views=0, generator=torch.Generator())
