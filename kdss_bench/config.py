"""The suite schema: a YAML file -> a validated, typed :class:`Suite`.

Validation is complete before anything runs or is written: unknown names, missing files and
wrong types all fail here with one line naming the file, line and key (see ``config_reader``).
Recipe defaults are the official code's (brief section 2); suites scale the lengths down for CPU.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench.config_reader import ConfigReader, _show, load_yaml_mapping
from kdss_bench.errors import KdssError
from kdss_bench.methods.registry import method_info, method_names
from kdss_bench.methods.settings import MethodSettings, read_settings

PRETRAIN_DEFAULTS: dict[str, Any] = {  # algorithms/pretrain_krr_st.py
    "epochs": 1000, "batch_size": 256, "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3,
}
FINETUNE_DEFAULTS: dict[str, Any] = {  # algorithms/finetune.py + test.py
    "iterations": 10_000, "batch_size": 256, "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
}
FINE_GRAINED_ITERATIONS = {"aircraft": 5000, "cars": 5000, "cub2011": 5000, "dogs": 5000, "flowers102": 5000}
CLASSIFIER_PRETRAIN_DEFAULTS: dict[str, Any] = {  # algorithms/pretrain_dc.py: hard labels (random ... mtt)
    "epochs": 1000, "batch_size": 256, "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
    "milestone_fraction": 0.5, "dsa": True, "dsa_strategy": "color_crop_cutout_flip_scale_rotate",
}
LABEL_REGRESSION_PRETRAIN_DEFAULTS: dict[str, Any] = {  # algorithms/pretrain_frepo.py: learned labels (kip, frepo)
    "iterations": 10_000, "batch_size": 500, "lr": 3e-4, "weight_decay": 0.0, "warmup": 500,
    "dsa": True, "dsa_strategy": "color_crop_cutout_flip_scale_rotate",
}
DSA_OPS = ("color", "crop", "cutout", "flip", "scale", "rotate")
RECIPES = ("native", "shared")
LINEAR_PROBE_DEFAULTS: dict[str, Any] = {  # algorithms/linear_eval.py (test_batch_size as the int 512)
    "iterations": 5000, "batch_size": 512, "lr": 0.2, "momentum": 0.9, "weight_decay": 0.0,
}
TEACHER_TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 15, "batch_size": 256, "lr": 1e-3, "projector_dims": (1024, 1024), "seed": 0,
}
EVAL_MODES = ("finetune", "linear_probe")
DEVICES = ("auto", "cpu", "cuda")
TOP_LEVEL_KEYS = (
    "name", "description", "data_root", "datasets", "source", "budget", "resolution", "model",
    "teacher", "methods", "targets", "seeds", "distill_seed", "eval", "recipe", "pretrain",
    "pretrain_classifier", "pretrain_label_regression", "finetune", "linear_probe", "device",
    "resources", "slurm",
)
STAGE_KINDS = ("teacher", "intermediate", "distill", "pretrain", "evaluate")
"""Stage kinds a suite's ``resources:`` may name (``intermediate``: a method's cached pieces, e.g. MTT experts)."""
RESOURCE_KEYS = {"gpus": float, "cpus": int, "memory_gb": float}
SLURM_KEYS = {"partition": str, "time_min": int, "account": str, "qos": str, "constraint": str,
              "mem_gb": float, "cpus_per_task": int, "gpus_per_node": int}
"""``slurm:`` keys; the CLI's --slurm-* options override them (see runner/executors/slurm_backend.py)."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class TeacherSpec:
    """Where the frozen self-supervised target model comes from."""

    kind: str  # "checkpoint" | "barlow_twins"
    arch: str
    checkpoint: Path | None = None
    epochs: int = 15
    batch_size: int = 256
    lr: float = 1e-3
    projector_dims: tuple[int, ...] = (1024, 1024)
    seed: int = 0

    def identity(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["checkpoint"] = str(self.checkpoint) if self.checkpoint else None
        return data


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    source: str
    budget: int
    resolution: int
    model: str
    teacher: TeacherSpec
    methods: dict[str, MethodSettings]
    targets: list[str]
    seeds: list[int]
    description: str = ""
    data_root: Path | None = None
    datasets: dict[str, dict] = field(default_factory=dict)
    distill_seed: int = 0
    eval: str = "finetune"
    recipe: str = "native"  # "shared": every method pre-trains with `pretrain`, the loss chosen by target kind
    pretrain: dict[str, Any] = field(default_factory=lambda: dict(PRETRAIN_DEFAULTS))
    pretrain_classifier: dict[str, Any] = field(default_factory=lambda: dict(CLASSIFIER_PRETRAIN_DEFAULTS))
    pretrain_label_regression: dict[str, Any] = field(
        default_factory=lambda: dict(LABEL_REGRESSION_PRETRAIN_DEFAULTS))
    finetune: dict[str, Any] = field(default_factory=lambda: dict(FINETUNE_DEFAULTS))
    finetune_iterations_per_target: dict[str, int] = field(default_factory=dict)
    linear_probe: dict[str, Any] = field(default_factory=lambda: dict(LINEAR_PROBE_DEFAULTS))
    device: str = "auto"
    resources: dict[str, dict[str, float | int]] = field(default_factory=dict)
    """Per stage kind: ``{gpus, cpus, memory_gb}`` overrides of the executor's defaults."""
    slurm: dict[str, Any] = field(default_factory=dict)

    def finetune_for(self, target: str) -> dict[str, Any]:
        recipe = dict(self.finetune)
        if target in self.finetune_iterations_per_target:
            recipe["iterations"] = self.finetune_iterations_per_target[target]
        return recipe

    def method_model(self, method: str) -> str:
        settings = self.methods[method]
        return getattr(settings, "model", "") or self.model


def load_suite(path: str | Path, *, data_root: str | Path | None = None, check_files: bool = True) -> Suite:
    """Read and validate a suite file. ``data_root`` (from --data-root) overrides the suite's."""
    path = Path(path)
    data, lines = load_yaml_mapping(path)
    reader = ConfigReader(path, lines)
    reader.reject_unknown(data, (), TOP_LEVEL_KEYS)

    name = reader.string(reader.required(data, ("name",)), ("name",))
    if not NAME_PATTERN.match(name):
        raise reader.error(("name",), f"'{name}' must be letters, digits, '_', '.' or '-' (it names a folder)")
    description = str(data.get("description") or "")

    root = data_root if data_root is not None else data.get("data_root")
    resolved_root = None
    if root is not None:
        if data_root is None:
            reader.string(root, ("data_root",))
        resolved_root = Path(root).expanduser()
        if check_files and not resolved_root.is_dir():
            if data_root is not None:
                raise KdssError(f"--data-root {root}: folder not found; pass the folder that holds the datasets")
            raise reader.error(("data_root",), f"folder '{root}' not found (relative paths are read from the "
                                               "current directory); fix it or pass --data-root")

    datasets = _read_declared_datasets(data.get("datasets"), reader)
    source = reader.string(reader.required(data, ("source",)), ("source",))
    budget = reader.integer(reader.required(data, ("budget",)), ("budget",), minimum=1)
    resolution = reader.integer(data.get("resolution", 32), ("resolution",), minimum=1)
    if resolution < 8:
        raise reader.error(("resolution",), f"expected at least 8 pixels, got {resolution}")
    model = reader.string(data.get("model", "convnet_128_256_512_bn"), ("model",))
    methods = _read_methods(reader.required(data, ("methods",)), reader)
    targets = reader.string_list(reader.required(data, ("targets",)), ("targets",))
    seeds_value = data.get("seeds", [0])
    if isinstance(seeds_value, int) and not isinstance(seeds_value, bool):
        seeds_value = [seeds_value]
    if not isinstance(seeds_value, list) or not seeds_value:
        raise reader.error(("seeds",), "expected a non-empty list of integers, e.g. [0, 1, 2]")
    seeds = [reader.integer(s, ("seeds", str(i)), minimum=0) for i, s in enumerate(seeds_value)]
    if len(set(seeds)) != len(seeds):
        raise reader.error(("seeds",), f"seeds repeat: {seeds}; list each seed once")
    distill_seed = reader.integer(data.get("distill_seed", 0), ("distill_seed",), minimum=0)
    eval_mode = reader.string(data.get("eval", "finetune"), ("eval",), choices=EVAL_MODES)
    device = reader.string(data.get("device", "auto"), ("device",), choices=DEVICES)

    recipe = reader.string(data.get("recipe", "native"), ("recipe",), choices=RECIPES)
    pretrain = _read_recipe(data.get("pretrain"), PRETRAIN_DEFAULTS, ("pretrain",), reader)
    pretrain_classifier = _read_recipe(data.get("pretrain_classifier"), CLASSIFIER_PRETRAIN_DEFAULTS,
                                       ("pretrain_classifier",), reader)
    pretrain_label_regression = _read_recipe(data.get("pretrain_label_regression"),
                                             LABEL_REGRESSION_PRETRAIN_DEFAULTS, ("pretrain_label_regression",),
                                             reader)
    finetune_raw = dict(reader.mapping(data.get("finetune"), ("finetune",)))
    per_target_raw = finetune_raw.pop("iterations_per_target", None)
    finetune = _read_recipe(finetune_raw, FINETUNE_DEFAULTS, ("finetune",), reader,
                            extra_known=("iterations_per_target",))
    per_target = dict(FINE_GRAINED_ITERATIONS) if "iterations" not in finetune_raw else {}
    key = ("finetune", "iterations_per_target")
    for target, iterations in reader.mapping(per_target_raw, key).items():
        per_target[str(target)] = reader.integer(iterations, (*key, str(target)), minimum=0)
    linear_probe = _read_recipe(data.get("linear_probe"), LINEAR_PROBE_DEFAULTS, ("linear_probe",), reader)
    teacher = _read_teacher(reader.required(data, ("teacher",)), reader, resolved_root, check_files)
    resources = _read_resources(data.get("resources"), reader)
    slurm = _read_slurm(data.get("slurm"), reader)

    suite = Suite(
        name=name, path=path, description=description, data_root=resolved_root, datasets=datasets,
        source=source, budget=budget, resolution=resolution, model=model, teacher=teacher,
        methods=methods, targets=targets, seeds=seeds, distill_seed=distill_seed, eval=eval_mode,
        recipe=recipe, pretrain=pretrain, pretrain_classifier=pretrain_classifier,
        pretrain_label_regression=pretrain_label_regression, finetune=finetune,
        finetune_iterations_per_target=per_target,
        linear_probe=linear_probe, device=device, resources=resources, slurm=slurm,
    )
    _check_names(suite, reader, check_files)
    return suite


def _read_declared_datasets(value: Any, reader: ConfigReader) -> dict[str, dict]:
    """Entries under ``datasets:``: a known format, only that format's keys, and valid subset options
    (``train_per_class`` a positive integer, ``subset_seed`` an integer >= 0 given with it)."""
    from kdss_bench.data.registry import FORMATS, declared_keys

    declared = {}
    for name, spec in reader.mapping(value, ("datasets",)).items():
        key = ("datasets", str(name))
        spec = reader.mapping(spec, key)
        fmt = reader.string(reader.required(spec, (*key, "format")), (*key, "format"), choices=FORMATS)
        reader.reject_unknown(spec, key, declared_keys(fmt))
        if "train_per_class" in spec:
            per_class = spec["train_per_class"]
            if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
                raise reader.error((*key, "train_per_class"),
                                   f"expected a positive integer, got {_show_value(per_class)}")
            reader.integer(spec.get("subset_seed", 0), (*key, "subset_seed"), minimum=0)
        elif "subset_seed" in spec:
            raise reader.error((*key, "subset_seed"), "applies only with train_per_class; add "
                                                      "train_per_class: K (train images per class) or remove it")
        declared[str(name)] = dict(spec)
    return declared


def _show_value(value: Any) -> str:
    """An integer as itself (``got 0``), anything else with its type (``got str 'ten'``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _show(value)


def _read_methods(value: Any, reader: ConfigReader) -> dict[str, MethodSettings]:
    key = ("methods",)
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        if not value:
            raise reader.error(key, "expected at least one method")
        value = {reader.string(v, (*key, str(i))): None for i, v in enumerate(value)}
    value = reader.mapping(value, key)
    if not value:
        raise reader.error(key, "expected at least one method")
    methods = {}
    for name, settings in value.items():
        name = str(name)
        if name not in method_names():
            raise reader.error((*key, name), f"unknown method '{name}'; registered: {', '.join(method_names())}")
        methods[name] = read_settings(method_info(name).settings, settings, reader, (*key, name))
    return methods


def _read_recipe(value: Any, defaults: dict[str, Any], key: tuple[str, ...], reader: ConfigReader,
                 extra_known: tuple[str, ...] = ()) -> dict[str, Any]:
    given = reader.mapping(value, key)
    reader.reject_unknown(given, key, (*defaults, *extra_known))
    recipe = dict(defaults)
    for name, item in given.items():
        if name in extra_known:
            continue
        recipe[name] = reader.typed_like(item, defaults[name], (*key, name))
        if name in ("epochs", "iterations") and recipe[name] < 0:
            raise reader.error((*key, name), "expected a non-negative integer")
        if name == "batch_size" and recipe[name] < 1:
            raise reader.error((*key, name), f"expected a positive integer, got {recipe[name]}")
        if name == "milestone_fraction" and not 0.0 <= recipe[name] <= 1.0:
            raise reader.error((*key, name), f"expected a fraction in [0, 1], got {recipe[name]:g}")
        if name == "dsa_strategy":
            unknown = [op for op in recipe[name].split("_") if op not in DSA_OPS]
            if unknown:
                raise reader.error((*key, name), f"unknown augmentation {unknown[0]!r}; join any of "
                                                 f"{', '.join(DSA_OPS)} with '_'")
    return recipe


def _read_teacher(value: Any, reader: ConfigReader, data_root: Path | None, check_files: bool) -> TeacherSpec:
    key = ("teacher",)
    spec = reader.mapping(value, key)
    known = ("checkpoint", "train", "arch", *TEACHER_TRAIN_DEFAULTS)
    reader.reject_unknown(spec, key, known)
    has_checkpoint, has_train = "checkpoint" in spec, "train" in spec
    if has_checkpoint == has_train:
        raise reader.error(key, "give exactly one of 'checkpoint: FILE' (a Barlow Twins ResNet18 in the "
                                "authors' format) or 'train: barlow_twins'")
    arch = reader.string(spec.get("arch", "resnet18"), (*key, "arch"))
    if has_checkpoint:
        raw = reader.string(spec["checkpoint"], (*key, "checkpoint"))
        checkpoint = Path(raw).expanduser()
        if not checkpoint.is_absolute() and data_root is not None:
            checkpoint = data_root / checkpoint
        if check_files and not checkpoint.is_file():
            raise reader.error((*key, "checkpoint"), f"file '{checkpoint}' not found (relative paths are read "
                                                     "from the data root); fix the path or pass --data-root")
        return TeacherSpec(kind="checkpoint", arch=arch, checkpoint=checkpoint)
    reader.string(spec["train"], (*key, "train"), choices=("barlow_twins",))
    values = {}
    for name, default in TEACHER_TRAIN_DEFAULTS.items():
        item = spec.get(name, default)
        values[name] = reader.typed_like(item, default, (*key, name))
    if values["epochs"] < 1 or values["batch_size"] < 2:
        raise reader.error((*key, "epochs"), "teacher training needs epochs >= 1 and batch_size >= 2")
    values["projector_dims"] = tuple(reader.integer(v, (*key, "projector_dims", str(i)), minimum=1)
                                     for i, v in enumerate(values["projector_dims"]))
    return TeacherSpec(kind="barlow_twins", arch=arch, **values)


def _check_names(suite: Suite, reader: ConfigReader, check_files: bool) -> None:
    """Resolve every dataset and model name now, so a typo fails before any work starts."""
    from kdss_bench.data.registry import check_dataset, dataset_names
    from kdss_bench.models.registry import check_model_name

    def check_model(name: str, key: tuple[str, ...]) -> None:
        try:
            check_model_name(name)
        except KdssError as exc:
            raise reader.error(key, str(exc)) from None

    check_model(suite.model, ("model",))
    for method, settings in suite.methods.items():
        if getattr(settings, "model", ""):
            check_model(settings.model, ("methods", method, "model"))
    if suite.teacher.kind == "barlow_twins" or suite.teacher.arch != "resnet18":
        check_model(suite.teacher.arch, ("teacher", "arch"))

    def check_data(name: str, key: tuple[str, ...]) -> None:
        if not check_files:
            if name not in dataset_names() and name not in suite.datasets:
                raise reader.error(key, f"unknown dataset '{name}'; built-in: {', '.join(dataset_names())}, "
                                        "or declare it under 'datasets:'")
            return
        try:
            check_dataset(name, data_root=suite.data_root, declared=suite.datasets)
        except KdssError as exc:
            raise reader.error(key, str(exc)) from None

    check_data(suite.source, ("source",))
    for i, target in enumerate(suite.targets):
        check_data(target, ("targets", str(i)))
    if len(set(suite.targets)) != len(suite.targets):
        raise reader.error(("targets",), f"targets repeat: {suite.targets}; list each once")


def _read_resources(value: Any, reader: ConfigReader) -> dict[str, dict[str, float | int]]:
    """``resources: {distill: {gpus: 1, cpus: 4, memory_gb: 24}, evaluate: {gpus: 0.5}}``."""
    resources = {}
    for kind, spec in reader.mapping(value, ("resources",)).items():
        key = ("resources", str(kind))
        if kind not in STAGE_KINDS:
            raise reader.error(key, f"unknown stage kind; choose from {', '.join(STAGE_KINDS)}")
        spec = reader.mapping(spec, key)
        reader.reject_unknown(spec, key, RESOURCE_KEYS)
        values: dict[str, float | int] = {}
        for name, item in spec.items():
            if RESOURCE_KEYS[name] is int:
                values[name] = reader.integer(item, (*key, name), minimum=1)
            else:
                values[name] = reader.number(item, (*key, name), minimum=0.0)
        if values.get("gpus", 0) > 1:
            raise reader.error((*key, "gpus"), f"a stage runs on one device; expected at most 1, "
                                               f"got {values['gpus']:g}")
        resources[str(kind)] = values
    return resources


def _read_slurm(value: Any, reader: ConfigReader) -> dict[str, Any]:
    """``slurm: {partition: gpu, time_min: 240, ...}``: defaults for ``run --executor slurm``."""
    spec = reader.mapping(value, ("slurm",))
    reader.reject_unknown(spec, ("slurm",), SLURM_KEYS)
    values: dict[str, Any] = {}
    for name, item in spec.items():
        kind = SLURM_KEYS[name]
        key = ("slurm", str(name))
        if kind is str:
            values[name] = reader.string(item, key)
        elif kind is int:
            values[name] = reader.integer(item, key, minimum=1)
        else:
            values[name] = reader.number(item, key, minimum=0.0, exclusive=True)
    return values


def only_methods(suite: Suite, names: list[str]) -> Suite:
    """The suite restricted to ``names`` (``run --methods``); a name the suite lacks is an error."""
    missing = [name for name in names if name not in suite.methods]
    if missing or not names:
        raise KdssError(f"--methods {','.join(names)}: '{missing[0] if missing else ''}' is not a method of "
                        f"{suite.path}; choose from {', '.join(suite.methods)}")
    return dataclasses.replace(suite, methods={name: suite.methods[name] for name in names})
