"""Model registry: names -> constructors, lazily (the shape of :mod:`kdss_bench.lazy_registry`).

Listing and checking names must not import torch (the CLI lists models instantly), so each entry
names its constructor as ``"module:attribute"``, imported inside :func:`build_model` only, and
called as ``constructor(in_shape=..., num_outputs=..., **options)``.

Names: ``resnet10``, ``resnet18``, ``vgg11``, ``alexnet``, ``mobilenetv2`` and the ConvNet
family ``convnet_<w1>_<w2>_..._<bn|in|none>`` (one block per width), whose options come from
the name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kdss_bench.errors import ModelError
from kdss_bench.lazy_registry import LazyRegistry, did_you_mean, import_target

if TYPE_CHECKING:
    from torch import nn

CONVNET_PATTERN = "convnet_<w1>_<w2>_..._<bn|in|none>"
CONVNET_NORMS = ("bn", "in", "none")
# ConvNet-3 (CIFAR-100 source), ConvNet-4 (Tiny-ImageNet), ConvNet-5 (ImageNette) of the paper.
CONVNET_EXAMPLES = ("convnet_128_256_512_bn", "convnet_64_128_256_512_bn", "convnet_32_64_128_256_512_bn")
# Names the official code's get_model() uses for the same architectures.
OFFICIAL_ALIASES = {"vgg": "vgg11", "mobilenet": "mobilenetv2"}


@dataclass(frozen=True)
class ModelEntry:
    constructor: str
    """``"module:attribute"``, called as ``constructor(in_shape=..., num_outputs=..., **options)``."""
    summary: str
    options: Mapping[str, Any] = field(default_factory=dict)


_MODELS = LazyRegistry[ModelEntry]("model", {
    "resnet10": ModelEntry("kdss_bench.models.resnet:build_resnet", "ResNet-10 with the CIFAR stem (Figure 3)",
                           {"name": "resnet10"}),
    "resnet18": ModelEntry("kdss_bench.models.resnet:build_resnet", "ResNet-18 with the CIFAR stem (the teachers)",
                           {"name": "resnet18"}),
    "vgg11": ModelEntry("kdss_bench.models.vgg:VGG",
                        "VGG-11 with batch norm, official models/vgg.py (Figure 3); at least 32 px"),
    "alexnet": ModelEntry("kdss_bench.models.alexnet:AlexNet",
                          "CIFAR-style AlexNet with batch norm, official models/alexnet.py (Figure 3)"),
    "mobilenetv2": ModelEntry("kdss_bench.models.mobilenet:MobileNetV2",
                              "CIFAR-style MobileNetV2, official models/mobilenet.py, expansion 2 (Figure 3)"),
}, error=ModelError)
CONVNET = ModelEntry("kdss_bench.models.convnet:ConvNet", "ConvNet: conv 3x3, norm, ReLU, avg-pool 2 per width")
FIXED_MODELS = tuple(_MODELS.names())


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
    model_entry(name)


def model_entry(name: str) -> tuple[ModelEntry, dict[str, Any]]:
    """(entry, options) of a buildable name; :class:`ModelError` (with a suggestion) otherwise."""
    if name in _MODELS:
        entry = _MODELS.get(name)
        return entry, dict(entry.options)
    if name.startswith("convnet_") or name == "convnet":
        spec = parse_convnet_name(name)
        return CONVNET, {"widths": spec.widths, "norm": spec.norm, "name": name}
    hint = ""
    if name.lower() in OFFICIAL_ALIASES:
        hint = f"; the official code's {name.lower()!r} is called {OFFICIAL_ALIASES[name.lower()]!r} here"
    elif name.lower() != name and (name.lower() in FIXED_MODELS or name.lower().startswith("convnet_")):
        hint = f"; model names are lower case: {name.lower()!r}"
    else:
        hint = did_you_mean(name, model_names())
    raise ModelError(f"unknown model {name!r}; {_valid_names_hint()}{hint}")


def build_model(name: str, *, in_shape: tuple[int, int, int] = (3, 32, 32), num_outputs: int) -> nn.Module:
    """A freshly initialised model whose ``fc`` maps ``num_features`` to ``num_outputs``.

    Initialisation draws from torch's global RNG: seed it (or fork it) around this call.
    """
    check_model_name(name)
    if isinstance(num_outputs, bool) or not isinstance(num_outputs, int) or num_outputs < 1:
        raise ModelError(f"model {name!r}: num_outputs must be a positive integer, got {num_outputs!r}")
    entry, options = model_entry(name)
    return import_target(entry.constructor)(in_shape=in_shape, num_outputs=num_outputs, **options)
