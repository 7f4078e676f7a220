"""Settings of ``mkdt`` (Joshi, Ni, Mirzasoleiman, ICLR 2025, arXiv 2410.02116): knowledge-distillation
experts, then trajectory matching on 512-d targets. Kept free of torch.

Defaults are the official code's (github ``jiayini1119/MKDT``, HEAD ``eaf200e``) CIFAR-100 2%
configuration: ``commands/distill/barlow_twins/CIFAR100/2_per.sh`` (lines 3-13) on top of the
``distill.py`` argparse defaults (lines 222-252), and ``buffer.py``'s argparse defaults (lines
76-88) for the experts, which ``commands/buffer/barlow_twins/c100_get_trajectory.sh`` does not
override except ``--num_experts=5`` per process, run 5 times on each of 4 GPUs: 100 experts, the
``--num_buffers 100`` that ``sort_dset.py`` (line 81, README example) averages over.

The official scripts per scale (``commands/distill/barlow_twins/*/{2,5}_per.sh``):

| source | budget | ``iters`` | ``lr_img`` | ``syn_steps`` | ``max_start_epoch`` | ``expert_epochs`` | model |
|---|---|---|---|---|---|---|---|
| CIFAR-10 | 2% (1,000) | 5,000 | 1,000 | 40 | 2 | 2 | ConvNet |
| CIFAR-10 | 5% (2,500) | 5,000 | 10,000 | 40 | 5 | 2 | ConvNet |
| CIFAR-100 | 2% (1,000) | 5,000 | 1,000 | 40 | 2 | 2 | ConvNet |
| CIFAR-100 | 5% (2,500) | 5,000 | 10,000 | 40 | 5 | 2 | ConvNet |
| Tiny-ImageNet | 2% (2,000) | 10,000 | 100,000 | 10 | 2 | 2 | ConvNetD4 |
| Tiny-ImageNet | 5% | 10,000 | 100,000 | 10 | 2 | 2 | ConvNetD4 (the script reuses the 2% indices) |

Every other distillation argument takes its ``distill.py`` default at every scale: ``lr_lr`` 1e-4,
``lr_teacher`` 0.1, ``lr_labels`` 1, ``batch_syn`` 256. The official ConvNet is width 128, depth
3, instance norm (``nn.GroupNorm(C, C)``), ReLU, 2x2 average pooling, ``Linear(2048, 512)``
(``utils.py`` lines 254-256, ``networks.py`` lines 29-98): ``convnet_128_128_128_in`` here (the
same function: ``InstanceNorm2d(C, affine=True)`` equals ``GroupNorm(C, C)``); ConvNetD4 is
``convnet_128_128_128_128_in``. ``model: ""`` uses the suite's model instead, like ``mtt``.

Deviations from the official code, each a setting (see docs/method-notes.md#mkdt):

- ``normalization``: ``source`` (default) normalises with the suite's source statistics, which
  the rest of the pipeline uses; ``official`` uses MKDT's ``utils.py::get_dataset`` constants.
- ``expert_order``: ``cycle`` (default) visits every expert once per pass in a fresh random order,
  as ``distill.py`` did before the clean-up commit ``e330079`` (at ``34d65ae``, lines 188-205; the
  paper's sets predate it, going by the run dates in ``commands/eval/*.sh``); ``single`` is HEAD's
  ``distill.py`` (lines 99-147), which loads one expert file and never loads another, so one
  randomly chosen expert (``buffer.py`` saves one per file, lines 62-71) is matched for the whole run.
- ``model``: the suite's model unless set (official: ``convnet_128_128_128_in``).
- The official run saves its last images before the last update (``distill.py`` lines 116-126:
  ``images_5000.pt`` is written at ``it = 4999``); ``iterations: 4999`` reproduces that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.errors import SettingError
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_checks import check_budget_within_source, check_positive
from kdss_bench.methods.suite_facts import SuiteFacts

OFFICIAL_DATASET = {  # the suite's source names -> the official dataset whose constants apply
    "cifar10": "CIFAR10", "cifar10_src": "CIFAR10", "cifar100": "CIFAR100",
    "tinyimagenet": "Tiny", "tinyimagenet100": "Tiny", "imagenet64": "ImageNet",
}


@dataclass(frozen=True)
class MkdtSettings(MethodSettings):
    """MKDT: trajectory matching of KD experts; expert fields are the cache key of the trajectories."""

    # distillation (distill.py; CIFAR100/2_per.sh)
    iterations: int = 5000  # 2_per.sh --iters 5000 (distill.py line 231 default 5000)
    syn_steps: int = 40  # 2_per.sh --syn_steps 40 (distill.py line 242)
    expert_epochs: int = 2  # 2_per.sh --expert_epochs 2 (distill.py line 241 default 5)
    max_start_epoch: int = 2  # 2_per.sh --max_start_epoch 2 (line 243 default 5); start ~ U{0..max-1} (line 149)
    lr_img: float = 1000.0  # 2_per.sh --lr_img 1000 (line 233); SGD momentum 0.5 (line 77)
    lr_labels: float = 1.0  # distill.py line 245 --lr_labels 1; SGD momentum 0.5 on the targets (line 78)
    lr_lr: float = 1e-4  # distill.py line 234 --lr_lr 1e-4; SGD momentum 0.5 on the step size (line 79)
    lr_teacher: float = 0.1  # distill.py line 235 --lr_teacher 0.1: initial learnable student step size (line 61)
    batch_syn: int = 256  # distill.py line 237 default 256 (the `is None` branch, lines 69-70, never runs); 0 = all
    init: str = "high_loss"  # 2_per.sh --image_init_idx_path ..._high_loss_indices.pkl (sort_dset.py); or "random"
    expert_order: str = "cycle"  # 34d65ae distill.py lines 188-205; "single": HEAD lines 99-147 (one expert)
    normalization: str = "source"  # the suite's source mean/std; "official": utils.py get_dataset constants

    # experts (buffer.py)
    num_experts: int = 100  # buffer.py line 78; c100_get_trajectory.sh: 4 GPUs x 5 runs x 5 experts
    train_epochs: int = 20  # buffer.py line 83 --train_epochs 20; a snapshot per epoch (lines 50, 60)
    expert_lr: float = 0.1  # buffer.py line 79 --lr_teacher 0.1
    expert_momentum: float = 0.9  # experts' SGD momentum (buffer.py line 84 --mom 0.9)
    expert_weight_decay: float = 1e-4  # experts' weight decay (buffer.py line 85 --l2 1e-4)
    expert_batch: int = 256  # buffer.py line 80 --batch_train 256 (shuffled, last batch kept: utils.py line 207)
    expert_seed: int = 0  # experts are shared by every distillation seed and budget
    checkpoint_every: int = 500  # resumable checkpoint of the distillation; 0 = never
    model: str = ""  # student / expert model; empty = the suite's model (official: convnet_128_128_128_in)

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "init": ("high_loss", "random"),
        "expert_order": ("cycle", "single"),
        "normalization": ("source", "official"),
    }
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ("checkpoint_every",)

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        """A teacher, a budget within the source, positive counts, target epochs on the trajectories, and
        official normalisation constants only for the sources MKDT has them for."""
        if not facts.has_teacher:
            raise SettingError(where, "mkdt needs a teacher; add a 'teacher:' section to the suite")
        check_budget_within_source(facts)
        check_positive(self, ("num_experts", "syn_steps", "max_start_epoch", "expert_epochs", "train_epochs",
                              "expert_batch"), where)
        if self.batch_syn < 0:
            raise SettingError((*where, "batch_syn"), "must be >= 0 (0 = the whole synthetic set)")
        last_target = self.max_start_epoch - 1 + self.expert_epochs
        if last_target > self.train_epochs:
            raise SettingError((*where, "train_epochs"),
                               f"max_start_epoch - 1 + expert_epochs = {last_target} exceeds train_epochs "
                               f"{self.train_epochs}; raise train_epochs or lower max_start_epoch")
        if self.normalization == "official" and facts.source not in OFFICIAL_DATASET:
            raise SettingError((*where, "normalization"),
                               f"'official' has MKDT's constants only for the sources "
                               f"{', '.join(sorted(OFFICIAL_DATASET))}, not '{facts.source}'; "
                               "use normalization: source")
