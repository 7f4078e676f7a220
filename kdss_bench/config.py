"""The suite schema: a YAML file -> a validated, typed :class:`Suite`.

Validation is complete before anything runs or is written: unknown names, missing files, wrong
types, out-of-range numbers and settings a method would refuse at run time all fail here with
one line naming the file, line and key (see ``config_reader``). Recipe defaults are the training
code's own (:mod:`kdss_bench.train.recipes`, the official values); suites scale the lengths down
for CPU.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdss_bench.config_reader import ConfigReader, parse_yaml_mapping, read_suite_text
from kdss_bench.errors import KdssError, MissingDataError, SettingError
from kdss_bench.methods.registry import method_info, method_names
from kdss_bench.methods.settings import MethodSettings, read_settings
from kdss_bench.methods.suite_facts import SuiteFacts
from kdss_bench.printable import printable, show, show_number
from kdss_bench.train.recipes import (
    ClassifierPretrainRecipe,
    FinetuneRecipe,
    KdRecipe,
    LabelRegressionPretrainRecipe,
    LinearProbeRecipe,
    MkdtProtocolRecipe,
    PretrainRecipe,
    Recipe,
    TargetTeacherRecipe,
    recipe_defaults,
)

PRETRAIN_DEFAULTS: dict[str, Any] = recipe_defaults(PretrainRecipe)
FINETUNE_DEFAULTS: dict[str, Any] = recipe_defaults(FinetuneRecipe)
FINE_GRAINED_ITERATIONS = {"aircraft": 5000, "cars": 5000, "cub2011": 5000, "dogs": 5000, "flowers102": 5000}
CLASSIFIER_PRETRAIN_DEFAULTS: dict[str, Any] = recipe_defaults(ClassifierPretrainRecipe)
LABEL_REGRESSION_PRETRAIN_DEFAULTS: dict[str, Any] = recipe_defaults(LabelRegressionPretrainRecipe)
LINEAR_PROBE_DEFAULTS: dict[str, Any] = recipe_defaults(LinearProbeRecipe)
RECIPES = ("native", "shared")
EVAL_MODES = ("finetune", "linear_probe", "kd")
KD_TEACHER_KEYS = ("checkpoint", "arch", "seed")
"""``kd_teacher:`` keys besides its recipe: a checkpoint to load instead of training, the architecture, the seed."""
DEVICES = ("auto", "cpu", "cuda")
PROTOCOLS = ("krr_st", "mkdt")
"""Evaluation protocols: ``krr_st`` (the paper's: the method's pre-training recipe, then the suite's ``eval``)
and ``mkdt`` (MKDT's: 20 epochs of MSE to the set's targets, then an L-BFGS linear probe)."""
LABEL_SAMPLINGS = ("stratified", "random")
"""How a label fraction draws the target's training images: a seeded fraction of each class (at least one),
or a seeded uniform sample of the split (MKDT's ``subset_frac``)."""
TOP_LEVEL_KEYS = (
    "name", "description", "data_root", "datasets", "source", "budget", "budgets", "resolution", "model",
    "eval_models", "kd", "kd_teacher", "protocols", "mkdt_protocol", "label_fraction", "label_fractions",
    "label_sampling",
    "teacher", "methods", "targets", "seeds", "distill_seed", "eval", "recipe", "pretrain",
    "pretrain_classifier", "pretrain_label_regression", "finetune", "linear_probe", "device",
    "resources", "slurm",
)
STAGE_KINDS = ("teacher", "intermediate", "distill", "pretrain", "target_teacher", "evaluate")
"""Stage kinds a suite's ``resources:`` may name (``intermediate``: a method's cached pieces, e.g. MTT experts)."""
RESOURCE_KEYS = {"gpus": float, "cpus": int, "memory_gb": float}
SLURM_KEYS = {"partition": str, "time_min": int, "account": str, "qos": str, "constraint": str,
              "mem_gb": float, "cpus_per_task": int, "gpus_per_node": int}
"""``slurm:`` keys; the CLI's --slurm-* options override them (see runner/executors/slurm_backend.py)."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""Suite and declared dataset names (matched whole): they become folder names and parts of cell ids."""
MAX_NAME_LENGTH = 200
"""Longest suite or dataset name: a cell id (method__target__seedN) must stay under 255 bytes."""
MAX_BUDGET = 10_000_000
"""Most images a distilled set may hold (the paper's largest is 2,000; ImageNet has 1.3 million)."""
MAX_RESOLUTION = 1024
"""Largest side in pixels every dataset may be resized to (the paper's largest is 64)."""


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


TEACHER_TRAIN_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(TeacherSpec) if f.name not in ("kind", "arch", "checkpoint")}


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
    label_regression_batch_per_model: dict[str, int] = field(default_factory=dict)
    """``pretrain_label_regression.batch_size_per_model``: the batch for these pre-trained models."""
    linear_probe: dict[str, Any] = field(default_factory=lambda: dict(LINEAR_PROBE_DEFAULTS))
    device: str = "auto"
    resources: dict[str, dict[str, float | int]] = field(default_factory=dict)
    """Per stage kind: ``{gpus, cpus, memory_gb}`` overrides of the executor's defaults."""
    slurm: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """One line each: things that are allowed but probably not meant (the CLI prints them on stderr)."""
    kd: dict[str, Any] = field(default_factory=lambda: recipe_defaults(KdRecipe))
    """``eval: kd``: knowledge distillation of the target's classifier teacher on the distilled images."""
    kd_teacher: dict[str, Any] = field(default_factory=lambda: {**recipe_defaults(TargetTeacherRecipe),
                                                                "arch": "resnet18", "seed": 0, "checkpoint": None})
    """The target's classifier teacher: trained here with its recipe, or ``checkpoint`` (a file) loaded."""
    budgets: tuple[int, ...] = ()
    """The ``budgets:`` axis (images per distilled set); empty: the one ``budget``, and no axis in cell ids."""
    eval_models: tuple[str, ...] = ()
    """The ``eval_models:`` axis (the architecture pre-trained on each set and evaluated); empty: ``model``."""
    protocols: tuple[str, ...] = ()
    """The ``protocols:`` axis (see PROTOCOLS); empty: ``krr_st`` only, and no axis in cell ids."""
    mkdt_protocol: dict[str, Any] = field(default_factory=lambda: recipe_defaults(MkdtProtocolRecipe))
    label_fraction: float = 1.0
    """The fraction of each target's training labels the evaluation sees (1: all of them)."""
    label_fractions: tuple[float, ...] = ()
    """The ``label_fractions:`` axis; empty: the one ``label_fraction``."""
    label_sampling: str = "stratified"

    @property
    def all_budgets(self) -> tuple[int, ...]:
        return self.budgets or (self.budget,)

    @property
    def all_eval_models(self) -> tuple[str, ...]:
        return self.eval_models or (self.model,)

    @property
    def all_protocols(self) -> tuple[str, ...]:
        return self.protocols or ("krr_st",)

    @property
    def all_label_fractions(self) -> tuple[float, ...]:
        return self.label_fractions or (self.label_fraction,)

    @property
    def has_evaluation_axes(self) -> bool:
        """Protocols or label fractions vary: every result and every planned cell then names both values."""
        return bool(self.protocols or self.label_fractions)

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
    return suite_from_text(read_suite_text(path), path, data_root=data_root, check_files=check_files)


def suite_from_text(text: str, path: str | Path, *, data_root: str | Path | None = None,
                    check_files: bool = True) -> Suite:
    """Validate suite ``text`` as if read from ``path`` (which error messages and ``Suite.path`` name)."""
    path = Path(path)
    data, lines = parse_yaml_mapping(text, path)
    reader = ConfigReader(path, lines)
    warnings: list[str] = []
    reader.reject_unknown(data, (), TOP_LEVEL_KEYS)

    name = _read_name(reader.required(data, ("name",)), ("name",), reader, "it names a folder")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise reader.error(("description",), f"expected a string, got {show(description)}")

    root = data_root if data_root is not None else data.get("data_root")
    resolved_root = None
    if root is not None:
        resolved_root = reader.file_path(root, ("data_root",)) if data_root is None else _cli_path(root)
        if check_files and not resolved_root.is_dir():
            if data_root is not None:
                raise KdssError(f"--data-root {printable(str(root), None)}: folder not found; pass the folder that "
                                "holds the datasets")
            raise reader.error(("data_root",), f"folder '{printable(str(root), None)}' not found (relative paths "
                                               "are read from the current directory); fix it or pass --data-root")

    datasets = _read_declared_datasets(data.get("datasets"), reader, warnings)
    source = reader.string(reader.required(data, ("source",)), ("source",))
    budget, budgets = _read_budgets(data, reader)
    resolution = reader.integer(data.get("resolution", 32), ("resolution",), minimum=1)
    if resolution < 8:
        raise reader.error(("resolution",), f"expected at least 8 pixels, got {resolution}")
    if resolution > MAX_RESOLUTION:
        raise reader.error(("resolution",), f"expected at most {MAX_RESOLUTION} pixels, got {show_number(resolution)}")
    model = reader.string(data.get("model", "convnet_128_256_512_bn"), ("model",))
    eval_models = ()
    if "eval_models" in data:
        eval_models = tuple(reader.string_list(data["eval_models"], ("eval_models",)))
        if len(set(eval_models)) != len(eval_models):
            raise reader.error(("eval_models",), f"models repeat: {printable(', '.join(eval_models))}; list each once")
    methods = _read_methods(reader.required(data, ("methods",)), reader)
    targets = reader.string_list(reader.required(data, ("targets",)), ("targets",))
    seeds_value = data.get("seeds", [0])
    if isinstance(seeds_value, int) and not isinstance(seeds_value, bool):
        seeds_value = [seeds_value]
    if not isinstance(seeds_value, list) or not seeds_value:
        raise reader.error(("seeds",), "expected a non-empty list of integers, e.g. [0, 1, 2]")
    seeds = [reader.integer(s, ("seeds", str(i)), minimum=0) for i, s in enumerate(seeds_value)]
    if len(set(seeds)) != len(seeds):
        raise reader.error(("seeds",), f"seeds repeat: {printable(str(seeds))}; list each seed once")
    distill_seed = reader.integer(data.get("distill_seed", 0), ("distill_seed",), minimum=0)
    eval_mode = reader.string(data.get("eval", "finetune"), ("eval",), choices=EVAL_MODES)
    device = reader.string(data.get("device", "auto"), ("device",), choices=DEVICES)

    recipe = reader.string(data.get("recipe", "native"), ("recipe",), choices=RECIPES)
    pretrain = _read_recipe(data.get("pretrain"), PretrainRecipe, reader)
    pretrain_classifier = _read_recipe(data.get("pretrain_classifier"), ClassifierPretrainRecipe, reader)
    pretrain_label_regression, _, batch_per_model = _read_recipe_and_table(
        data.get("pretrain_label_regression"), LabelRegressionPretrainRecipe, reader, "batch_size_per_model", minimum=1)
    finetune, finetune_given, given_per_target = _read_recipe_and_table(
        data.get("finetune"), FinetuneRecipe, reader, "iterations_per_target", minimum=0)
    per_target = {**(FINE_GRAINED_ITERATIONS if "iterations" not in finetune_given else {}), **given_per_target}
    linear_probe = _read_recipe(data.get("linear_probe"), LinearProbeRecipe, reader)
    kd = _read_recipe(data.get("kd"), KdRecipe, reader)
    kd_teacher = _read_kd_teacher(data.get("kd_teacher"), reader, resolved_root, check_files)
    protocols = _read_protocols(data, reader, eval_mode)
    mkdt_protocol = _read_recipe(data.get("mkdt_protocol"), MkdtProtocolRecipe, reader)
    label_fraction, label_fractions = _read_label_fractions(data, reader, eval_mode)
    label_sampling = reader.string(data.get("label_sampling", "stratified"), ("label_sampling",),
                                   choices=LABEL_SAMPLINGS)
    teacher = _read_teacher(reader.required(data, ("teacher",)), reader, resolved_root, check_files)
    resources = _read_resources(data.get("resources"), reader)
    slurm = _read_slurm(data.get("slurm"), reader)

    suite = Suite(
        name=name, path=path, description=description or "", data_root=resolved_root, datasets=datasets,
        source=source, budget=budget, resolution=resolution, model=model, teacher=teacher,
        methods=methods, targets=targets, seeds=seeds, distill_seed=distill_seed, eval=eval_mode,
        recipe=recipe, pretrain=pretrain, pretrain_classifier=pretrain_classifier,
        pretrain_label_regression=pretrain_label_regression, finetune=finetune,
        finetune_iterations_per_target=per_target, label_regression_batch_per_model=batch_per_model,
        linear_probe=linear_probe, device=device, resources=resources, slurm=slurm,
        warnings=tuple(warnings), budgets=budgets, eval_models=eval_models, kd=kd, kd_teacher=kd_teacher,
        protocols=protocols, mkdt_protocol=mkdt_protocol, label_fraction=label_fraction,
        label_fractions=label_fractions, label_sampling=label_sampling,
    )
    _check_names(suite, reader, check_files)
    _check_method_settings(suite, reader, check_files)
    return suite


def _cli_path(value: str | Path) -> Path:
    try:
        return Path(value).expanduser()
    except RuntimeError as error:  # "~nobody/...": no such user's home
        raise KdssError(f"--data-root {printable(str(value), None)}: cannot be expanded ({error}); write the path "
                        "out") from None


def _read_name(value: Any, key: tuple[str, ...], reader: ConfigReader, why: str) -> str:
    """A suite or dataset name: letters, digits, '_', '.', '-' (not first), at most MAX_NAME_LENGTH."""
    name = reader.string(value, key)
    if not NAME_PATTERN.fullmatch(name):
        raise reader.error(key, f"'{printable(name)}' must be letters, digits, '_', '.' or '-', starting with a "
                                f"letter or digit ({why})")
    if len(name) > MAX_NAME_LENGTH:
        raise reader.error(key, f"'{printable(name)}' has {len(name)} characters; at most {MAX_NAME_LENGTH} ({why})")
    if "__" in name:
        raise reader.error(key, f"'{printable(name)}' contains '__', which separates the parts of cell ids "
                                f"(krr_st__gtsrb43__seed0); use a single '_' ({why})")
    return name


def _read_budgets(data: dict, reader: ConfigReader) -> tuple[int, tuple[int, ...]]:
    """``budget: N`` (one distilled-set size) or ``budgets: [N, ...]`` (an axis of the grid), not both."""
    if ("budget" in data) == ("budgets" in data):
        raise reader.error(("budget",), "give either 'budget: N' (images in the distilled set) or "
                                        "'budgets: [N, ...]' (one distillation per budget)")
    key = ("budget",) if "budget" in data else ("budgets",)
    values = [data["budget"]] if key == ("budget",) else data["budgets"]
    if not isinstance(values, list) or not values:
        raise reader.error(key, "expected a non-empty list of image counts, e.g. [100, 250, 500, 1000]")
    budgets = []
    for index, value in enumerate(values):
        where = key if key == ("budget",) else (*key, str(index))
        budget = reader.integer(value, where, minimum=1, maximum=None)
        if budget > MAX_BUDGET:
            raise reader.error(where, f"{show_number(budget)} images is more than any distilled set holds "
                                      f"(at most {MAX_BUDGET:,}); give the number of images of the set")
        budgets.append(budget)
    if len(set(budgets)) != len(budgets):
        raise reader.error(key, f"budgets repeat: {budgets}; list each once")
    return budgets[0], (tuple(budgets) if key == ("budgets",) else ())


def _read_protocols(data: dict, reader: ConfigReader, eval_mode: str) -> tuple[str, ...]:
    """``protocols: [krr_st, mkdt]``: each cell evaluated under each protocol, on the same distilled sets."""
    if "protocols" not in data:
        return ()
    key = ("protocols",)
    protocols = tuple(reader.string_list(data["protocols"], key))
    for index, name in enumerate(protocols):
        if name not in PROTOCOLS:
            raise reader.error((*key, str(index)), f"unknown protocol '{printable(name)}'; choose from "
                                                   f"{', '.join(PROTOCOLS)}")
    if len(set(protocols)) != len(protocols):
        raise reader.error(key, f"protocols repeat: {', '.join(protocols)}; list each once")
    if eval_mode == "kd":
        raise reader.error(key, "protocols compare transfer evaluations; 'eval: kd' has its own; remove "
                                "'protocols' or set eval to finetune or linear_probe")
    return protocols


def _read_label_fractions(data: dict, reader: ConfigReader, eval_mode: str) -> tuple[float, tuple[float, ...]]:
    """``label_fraction: F`` or the axis ``label_fractions: [F, ...]``, each in (0, 1]."""
    if "label_fraction" in data and "label_fractions" in data:
        raise reader.error(("label_fractions",), "give either 'label_fraction: F' or 'label_fractions: [F, ...]'")
    if "label_fraction" not in data and "label_fractions" not in data:
        return 1.0, ()
    key = ("label_fraction",) if "label_fraction" in data else ("label_fractions",)
    values = [data["label_fraction"]] if key == ("label_fraction",) else data["label_fractions"]
    if not isinstance(values, list) or not values:
        raise reader.error(key, "expected a non-empty list of fractions, e.g. [0.05, 0.5]")
    fractions = []
    for index, value in enumerate(values):
        where = key if key == ("label_fraction",) else (*key, str(index))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) <= 1.0:
            shown = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else show(value)
            raise reader.error(where, f"expected a fraction of the training labels in (0, 1], got {shown}")
        fractions.append(float(value))
    if len(set(fractions)) != len(fractions):
        raise reader.error(key, f"label fractions repeat: {fractions}; list each once")
    if eval_mode == "kd" and fractions != [1.0]:
        raise reader.error(key, "'eval: kd' uses no target labels; remove the label fraction")
    return fractions[0], (tuple(fractions) if key == ("label_fractions",) else ())


def _read_declared_datasets(value: Any, reader: ConfigReader, warnings: list[str]) -> dict[str, dict]:
    """Entries under ``datasets:``: a valid name, a known format, only that format's keys (strings where
    they name files or sets), and valid subset options (``train_per_class`` a positive integer,
    ``subset_seed`` an integer >= 0 given with it). A name that shadows a built-in one is a warning."""
    from kdss_bench.data.registry import FORMATS, dataset_names, declared_keys, describe_dataset, resolve_dataset

    declared = {}
    for raw_name, spec in reader.mapping(value, ("datasets",)).items():
        key = ("datasets", str(raw_name))
        name = _read_name(raw_name, key, reader, "it names the dataset in cell ids and folders")
        spec = reader.mapping(spec, key)
        fmt = reader.string(reader.required(spec, (*key, "format")), (*key, "format"), choices=FORMATS)
        reader.reject_unknown(spec, key, declared_keys(fmt))
        for text_key in ("name", "description"):
            if text_key in spec:
                reader.string(spec[text_key], (*key, text_key))
        for path_key in ("path", "root"):
            if path_key in spec:
                reader.file_path(spec[path_key], (*key, path_key))
        if "train_per_class" in spec:
            per_class = spec["train_per_class"]
            if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
                raise reader.error((*key, "train_per_class"),
                                   f"expected a positive integer, got {_show_value(per_class)}")
            reader.integer(per_class, (*key, "train_per_class"), minimum=1)
            reader.integer(spec.get("subset_seed", 0), (*key, "subset_seed"), minimum=0)
        elif "subset_seed" in spec:
            raise reader.error((*key, "subset_seed"), "applies only with train_per_class; add "
                                                      "train_per_class: K (train images per class) or remove it")
        try:  # the format's own needs (a path, a known torchvision or bundled name), files aside
            resolve_dataset(name, data_root=None, declared={name: spec}, need_location=False)
        except KdssError as error:
            raise reader.error(key, str(error)) from None
        if name in dataset_names():
            line = reader.line_of(key)
            warnings.append(f"{printable(str(reader.path), None)}{f':{line}' if line else ''}: key '{'.'.join(key)}' "
                            f"replaces the built-in dataset '{name}' ({describe_dataset(name)}) in this suite; "
                            "rename it to keep both")
        declared[name] = dict(spec)
    return declared


def _show_value(value: Any) -> str:
    """An integer as itself (``got 0``), anything else with its type (``got str 'ten'``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return show_number(value)
    return show(value)


def _read_methods(value: Any, reader: ConfigReader) -> dict[str, MethodSettings]:
    key = ("methods",)
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        if not value:
            raise reader.error(key, "expected at least one method")
        names = [reader.string(v, (*key, str(i))) for i, v in enumerate(value)]
        if len(set(names)) != len(names):
            raise reader.error(key, f"methods repeat: {printable(', '.join(names))}; list each once")
        value = {name: None for name in names}
    value = reader.mapping(value, key)
    if not value:
        raise reader.error(key, "expected at least one method")
    methods = {}
    for name, settings in value.items():
        name = str(name)
        if name not in method_names():
            raise reader.error((*key, name), f"unknown method '{printable(name)}'; registered: "
                                             f"{', '.join(method_names())}")
        methods[name] = read_settings(method_info(name).settings, settings, reader, (*key, name))
    return methods


def _read_recipe(value: Any, recipe_class: type[Recipe], reader: ConfigReader,
                 extra_known: tuple[str, ...] = ()) -> dict[str, Any]:
    """A recipe section: its defaults with the suite's values, each typed like its default, then
    checked by building the training code's own recipe (one check, here and at run time)."""
    key = (recipe_class.SECTION,)
    defaults = recipe_defaults(recipe_class)
    given = reader.mapping(value, key)
    reader.reject_unknown(given, key, (*defaults, *extra_known))
    recipe = dict(defaults)
    for name, item in given.items():
        if name in extra_known:
            continue
        recipe[name] = reader.typed_like(item, defaults[name], (*key, name))
    try:
        recipe_class(**recipe)
    except SettingError as error:
        raise reader.error(error.key, error.problem) from None
    return recipe


def _read_recipe_and_table(value: Any, recipe_class: type[Recipe], reader: ConfigReader, table: str, *,
                           minimum: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    """A recipe section that may also hold ``table: {name: integer}`` (per target, per model): the recipe,
    the keys the suite gave, and the table with each value checked as an integer >= ``minimum``."""
    section = recipe_class.SECTION
    given = dict(reader.mapping(value, (section,)))
    raw_table = given.pop(table, None)
    recipe = _read_recipe(given, recipe_class, reader, extra_known=(table,))
    key = (section, table)
    values = {str(name): reader.integer(item, (*key, str(name)), minimum=minimum)
              for name, item in reader.mapping(raw_table, key).items()}
    return recipe, given, values


def _read_kd_teacher(value: Any, reader: ConfigReader, data_root: Path | None, check_files: bool) -> dict[str, Any]:
    """``kd_teacher: {checkpoint: FILE}`` (a classifier in the authors' format) or its training recipe."""
    key = ("kd_teacher",)
    given = dict(reader.mapping(value, key))
    extra = {name: given.pop(name) for name in KD_TEACHER_KEYS if name in given}
    recipe = _read_recipe(given, TargetTeacherRecipe, reader)
    arch = reader.string(extra.get("arch", "resnet18"), (*key, "arch"))
    seed = reader.integer(extra.get("seed", 0), (*key, "seed"), minimum=0)
    checkpoint = None
    if extra.get("checkpoint") is not None:
        raw = reader.string(extra["checkpoint"], (*key, "checkpoint"))
        path = Path(raw).expanduser()
        if not path.is_absolute() and data_root is not None:
            path = data_root / path
        if check_files and not path.is_file():
            raise reader.error((*key, "checkpoint"), f"file '{printable(str(path), None)}' not found (relative paths "
                                                     "are read from the data root); fix the path or remove it to "
                                                     "train the teacher here")
        checkpoint = str(path)
    return {**recipe, "arch": arch, "seed": seed, "checkpoint": checkpoint}


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
        checkpoint = reader.file_path(spec["checkpoint"], (*key, "checkpoint"))
        if not checkpoint.is_absolute() and data_root is not None:
            checkpoint = data_root / checkpoint
        if check_files and not checkpoint.is_file():
            raise reader.error((*key, "checkpoint"), f"file '{printable(str(checkpoint), None)}' not found (relative "
                                                     "paths are read from the data root); fix the path or pass "
                                                     "--data-root")
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
    """Resolve every dataset and model name now, so a typo fails before any work starts; with
    ``check_files``, also every declared dataset's file, used or not."""
    from kdss_bench.data.registry import check_dataset, dataset_names
    from kdss_bench.models.registry import check_model_name

    def check_model(name: str, key: tuple[str, ...]) -> None:
        try:
            check_model_name(name)
        except KdssError as exc:
            raise reader.error(key, str(exc)) from None

    check_model(suite.model, ("model",))
    if suite.eval == "kd":
        check_model(suite.kd_teacher["arch"], ("kd_teacher", "arch"))
        for method in suite.methods:
            if method == "no_pretrain":
                raise reader.error(("methods", method), "eval: kd distils on a method's images and no_pretrain has "
                                                         "none; use the gaussian baseline (noise images) instead")
    elif "gaussian" in suite.methods:
        raise reader.error(("methods", "gaussian"), "gaussian is the baseline of eval: kd (a student distilled on "
                                                    "noise); use no_pretrain with eval: finetune or linear_probe")
    for index, eval_model in enumerate(suite.eval_models):
        check_model(eval_model, ("eval_models", str(index)))
    for method, settings in suite.methods.items():
        if getattr(settings, "model", ""):
            check_model(settings.model, ("methods", method, "model"))
    pretrained = tuple(suite.eval_models) or (suite.model,)
    for model in suite.label_regression_batch_per_model:
        if model not in pretrained:
            raise reader.error(("pretrain_label_regression", "batch_size_per_model", model),
                               f"'{printable(model)}' is not a model this suite pre-trains; name one of "
                               f"{', '.join(pretrained)}")
    if suite.teacher.kind == "barlow_twins" or suite.teacher.arch != "resnet18":
        check_model(suite.teacher.arch, ("teacher", "arch"))

    missing: list[tuple[tuple[str, ...], MissingDataError]] = []

    def check_data(name: str, key: tuple[str, ...]) -> None:
        if not check_files:
            if name not in dataset_names() and name not in suite.datasets:
                raise reader.error(key, f"unknown dataset '{printable(name)}'; built-in: "
                                        f"{', '.join(dataset_names())}, or declare it under 'datasets:'")
            return
        try:
            check_dataset(name, data_root=suite.data_root, declared=suite.datasets, resolution=suite.resolution)
        except MissingDataError as exc:  # reported after the other names, with one prepare command for all
            missing.append((key, exc))
        except KdssError as exc:
            raise reader.error(key, str(exc)) from None

    check_data(suite.source, ("source",))
    for i, target in enumerate(suite.targets):
        check_data(target, ("targets", str(i)))
    if len(set(suite.targets)) != len(suite.targets):
        raise reader.error(("targets",), f"targets repeat: {printable(', '.join(suite.targets))}; list each once")
    if check_files:
        for name in suite.datasets:
            if name != suite.source and name not in suite.targets:
                check_data(name, ("datasets", name))
    if missing:
        raise reader.error(missing[0][0], _missing_datasets_message([error for _, error in missing]))
    known = {*dataset_names(), *suite.datasets}
    for target in suite.finetune_iterations_per_target:
        if target not in known and target not in FINE_GRAINED_ITERATIONS:
            raise reader.error(("finetune", "iterations_per_target", target),
                               f"unknown dataset '{printable(target)}'; name a built-in or declared dataset")


def _missing_datasets_message(errors: list[MissingDataError]) -> str:
    """The first missing dataset's line; with more, their names and one prepare command for all of them."""
    first = str(errors[0])
    names = list(dict.fromkeys(error.dataset for error in errors))
    if len(names) == 1:
        return first
    from kdss_bench.data.dataset_sources import prepare_command

    roots = list(dict.fromkeys(error.root for error in errors))
    others = ", ".join(names[1:])
    text = first.rsplit("; run ", 1)[0] if len(roots) == 1 else first
    if len(roots) > 1:
        return f"{text}; also missing: {others}"
    command = prepare_command(names, Path(roots[0]), download=any(error.downloadable for error in errors))
    return f"{text}; {len(names) - 1} more of this suite's datasets are missing too ({others}); run {command}"


def _check_method_settings(suite: Suite, reader: ConfigReader, check_files: bool) -> None:
    """Each method's own settings check (the one it runs again at run time), against the source's counts."""
    from kdss_bench.data.dataset_facts import dataset_facts

    try:
        counts = dataset_facts(suite.source, data_root=suite.data_root, declared=suite.datasets,
                               read_files=check_files)
    except KdssError as exc:
        raise reader.error(("source",), str(exc)) from None
    for index, budget in enumerate(suite.all_budgets):
        facts = SuiteFacts(budget=budget, source=suite.source, num_classes=counts.num_classes,
                           train_images=counts.train_images, has_teacher=True, check_files=check_files)
        for method, settings in suite.methods.items():
            try:
                settings.check(facts, ("methods", method))
            except SettingError as error:
                key = error.key
                if key == ("budget",) and suite.budgets:
                    key = ("budgets", str(index))
                raise reader.error(key, error.problem) from None


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
        raise KdssError(f"--methods {printable(','.join(names))}: '{printable(missing[0]) if missing else ''}' is "
                        f"not a method of {printable(str(suite.path), None)}; choose from {', '.join(suite.methods)}")
    return dataclasses.replace(suite, methods={name: suite.methods[name] for name in names})
