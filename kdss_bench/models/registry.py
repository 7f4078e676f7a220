"""Model registry: names -> constructors, lazily.

Listing and checking names must not import torch (the CLI lists models instantly), so the
model modules are imported inside :func:`build_model` only.

Names: ``resnet10``, ``resnet18``, ``vgg11``, ``alexnet``, ``mobilenetv2`` and the ConvNet
family ``convnet_<w1>_<w2>_..._<bn|in|none>`` (one block per width).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kdss_bench.errors import ModelError

if TYPE_CHECKING:
    from torch import nn

CONVNET_PATTERN = "convnet_<w1>_<w2>_..._<bn|in|none>"
CONVNET_NORMS = ("bn", "in", "none")
# ConvNet-3 (CIFAR-100 source), ConvNet-4 (Tiny-ImageNet), ConvNet-5 (ImageNette) of the paper.
CONVNET_EXAMPLES = ("convnet_128_256_512_bn", "convnet_64_128_256_512_bn", "convnet_32_64_128_256_512_bn")
FIXED_MODELS = ("resnet10", "resnet18", "vgg11", "alexnet", "mobilenetv2")
# Names the official code's get_model() uses for the same architectures.
OFFICIAL_ALIASES = {"vgg": "vgg11", "mobilenet": "mobilenetv2"}


@dataclass(frozen=True)
class ConvNetSpec:
    """A parsed ConvNet name: one block per width, then the norm of every block."""

    widths: tuple[int, ...]
    norm: str


def model_names() -> list[str]:
    """Every fixed architecture plus the paper's ConvNet depths (any width list is also valid)."""
    return [*CONVNET_EXAMPLES, *FIXED_MODELS]


def _valid_names_hint() -> str:
    return f"valid names: {', '.join(FIXED_MODELS)}, or {CONVNET_PATTERN} (e.g. {CONVNET_EXAMPLES[0]})"


def parse_convnet_name(name: str) -> ConvNetSpec:
    """Split ``convnet_128_256_512_bn`` into widths (128, 256, 512) and norm ``bn``."""
    parts = name.split("_")
    if parts[0] != "convnet":
        raise ModelError(f"model {name!r} is not a ConvNet name; expected {CONVNET_PATTERN}")
    norm = parts[-1] if len(parts) > 1 else ""
    if norm not in CONVNET_NORMS:
        raise ModelError(
            f"model {name!r}: a ConvNet name must end with its norm ({', '.join(CONVNET_NORMS)}), "
            f"as in {CONVNET_PATTERN}, e.g. {CONVNET_EXAMPLES[0]}"
        )
    width_parts = parts[1:-1]
    if not width_parts:
        raise ModelError(
            f"model {name!r}: a ConvNet name needs at least one block width before the norm, "
            f"as in {CONVNET_PATTERN}, e.g. {CONVNET_EXAMPLES[0]}"
        )
    bad = [p for p in width_parts if not (p.isdigit() and p.isascii() and int(p) > 0)]
    if bad:
        raise ModelError(
            f"model {name!r}: ConvNet widths must be positive integers, got {', '.join(map(repr, bad))}; "
            f"expected {CONVNET_PATTERN}"
        )
    return ConvNetSpec(widths=tuple(int(p) for p in width_parts), norm=norm)


def check_model_name(name: str) -> None:
    """Raise :class:`ModelError` unless ``name`` is a buildable model name."""
    if not isinstance(name, str):
        raise ModelError(f"model name must be a string, got {name!r}; {_valid_names_hint()}")
    if name in FIXED_MODELS:
        return
    if name.startswith("convnet_") or name == "convnet":
        parse_convnet_name(name)
        return
    hint = ""
    if name.lower() in OFFICIAL_ALIASES:
        hint = f"; the official code's {name.lower()!r} is called {OFFICIAL_ALIASES[name.lower()]!r} here"
    elif name.lower() != name and (name.lower() in FIXED_MODELS or name.lower().startswith("convnet_")):
        hint = f"; model names are lower case: {name.lower()!r}"
    else:
        close = difflib.get_close_matches(name, model_names(), n=1)
        if close:
            hint = f"; did you mean {close[0]!r}?"
    raise ModelError(f"unknown model {name!r}; {_valid_names_hint()}{hint}")


def build_model(name: str, *, in_shape: tuple[int, int, int] = (3, 32, 32), num_outputs: int) -> nn.Module:
    """A freshly initialised model whose ``fc`` maps ``num_features`` to ``num_outputs``.

    Initialisation draws from torch's global RNG: seed it (or fork it) around this call.
    """
    check_model_name(name)
    if isinstance(num_outputs, bool) or not isinstance(num_outputs, int) or num_outputs < 1:
        raise ModelError(f"model {name!r}: num_outputs must be a positive integer, got {num_outputs!r}")
    if name.startswith("convnet"):
        from kdss_bench.models.convnet import ConvNet

        spec = parse_convnet_name(name)
        return ConvNet(spec.widths, spec.norm, in_shape=in_shape, num_outputs=num_outputs, name=name)
    if name in ("resnet10", "resnet18"):
        from kdss_bench.models.resnet import build_resnet

        return build_resnet(name, in_shape=in_shape, num_outputs=num_outputs)
    if name == "vgg11":
        from kdss_bench.models.vgg import VGG

        return VGG(in_shape=in_shape, num_outputs=num_outputs)
    if name == "alexnet":
        from kdss_bench.models.alexnet import AlexNet

        return AlexNet(in_shape=in_shape, num_outputs=num_outputs)
    if name == "mobilenetv2":
        from kdss_bench.models.mobilenet import MobileNetV2

        return MobileNetV2(in_shape=in_shape, num_outputs=num_outputs)
    raise AssertionError(f"model {name!r} passed check_model_name but has no constructor")  # pragma: no cover
