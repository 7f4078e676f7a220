"""The docs are checked like code: links and anchors resolve, every registered method has its section
in ``docs/method-notes.md``, every option the notes name exists (with an allowed value), and no module
or suite points at documents outside the repository or at issues.

Each check is a function that returns its problems; the ``*_finds_*`` tests feed it a broken sample,
so a check that silently stopped looking would fail there.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from kdss_bench import config
from kdss_bench.methods.registry import method_info, method_names
from kdss_bench.models.registry import check_model_name
from kdss_bench.train import recipes

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
NOTES = DOCS / "method-notes.md"
THIS_FILE = Path(__file__).resolve()

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
CODE_LINE_ANCHOR = re.compile(r"^L\d+(-L\d+)?$")
OPTION = re.compile(r"`([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)(?::[ \t]+([^`]+))?`")
FILE_SUFFIXES = {"py", "md", "sh", "yaml", "yml", "pt", "pth", "json", "txt", "ipynb", "toml"}
OUTSIDE_REFERENCE = re.compile(r"brief|\bissues?\s*#?\s*\d+", re.IGNORECASE)
DOC_POINTER = re.compile(r"docs/([\w./-]+?\.md)(?:#([\w-]+))?")


# --- markdown: headings, GitHub anchors, links ---------------------------------------------------

def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.strip().lower()
    return "".join(ch for ch in text if ch.isalnum() or ch in "_- ").replace(" ", "-")


def _without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def heading_texts(text: str) -> list[str]:
    return [m.group(2) for m in HEADING.finditer(_without_code_blocks(text))]


def anchors(text: str) -> set[str]:
    """Every heading's slug; a repeated slug gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in heading_texts(text):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def link_problems(doc: Path, text: str) -> list[str]:
    """Relative links of ``doc`` whose file is missing or whose ``#anchor`` matches no heading."""
    problems = []
    prose = INLINE_CODE.sub("", _without_code_blocks(text))
    for target in LINK.findall(prose):
        if URL_SCHEME.match(target):
            continue  # http(s), mailto: not checked offline
        path_part, _, anchor = target.partition("#")
        if not path_part:  # an anchor in this page
            if anchor not in anchors(text):
                problems.append(f"{doc.name}: link {target!r}: no heading of {doc.name} has the anchor #{anchor}")
            continue
        path = (doc.parent / path_part).resolve()
        if not path.exists():
            problems.append(f"{doc.name}: link {target!r}: {path_part} does not exist")
            continue
        if not anchor:
            continue
        if path.suffix == ".md":
            if anchor not in anchors(path.read_text(encoding="utf-8")):
                problems.append(f"{doc.name}: link {target!r}: no heading of {path.name} has the anchor #{anchor}")
        elif not CODE_LINE_ANCHOR.match(anchor):
            problems.append(f"{doc.name}: link {target!r}: #{anchor} on a file that is not markdown")
    return problems


# --- method sections ----------------------------------------------------------------------------

def missing_method_sections(text: str, names: list[str]) -> list[str]:
    """Registered method names without a heading of their own (the heading is the bare name)."""
    titles = {heading.replace("`", "").strip() for heading in heading_texts(text)}
    return [name for name in names if name not in titles]


# --- options named in the notes -----------------------------------------------------------------

BOOLEANS = ("true", "false")
EXTRA_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("suite", "recipe"): config.RECIPES,
    ("suite", "eval"): config.EVAL_MODES,
    ("suite", "label_sampling"): config.LABEL_SAMPLINGS,
    ("teacher", "train"): ("barlow_twins",),
    ("kd", "teacher_mode"): recipes.BN_MODES,
    ("kd", "student_eval_mode"): recipes.BN_MODES,
}


def _fields(cls) -> dict[str, object]:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def option_sections() -> dict[str, tuple[dict[str, object], dict[str, tuple[str, ...]]]]:
    """section -> ({field: default}, {field: allowed values}) for every section the notes may name."""
    sections: dict[str, tuple[dict[str, object], dict[str, tuple[str, ...]]]] = {}
    for name in method_names():
        settings = method_info(name).settings
        sections[name] = (_fields(settings), dict(settings.CHOICES))
    for value in vars(recipes).values():
        if isinstance(value, type) and issubclass(value, recipes.Recipe) and value.SECTION:
            sections[value.SECTION] = (_fields(value), {})
    sections["finetune"][0]["iterations_per_target"] = {}
    sections["pretrain_label_regression"][0]["batch_size_per_model"] = {}
    sections["kd_teacher"][0].update({key: None for key in config.KD_TEACHER_KEYS})
    teacher = {k: v for k, v in _fields(config.TeacherSpec).items() if k != "kind"}
    sections["teacher"] = ({**teacher, "train": ""}, {})
    sections["suite"] = ({key: None for key in config.TOP_LEVEL_KEYS}, {})
    for (section, field), allowed in EXTRA_CHOICES.items():
        sections[section][1][field] = tuple(allowed)
    return sections


def _value_problem(field: str, default: object, choices: tuple[str, ...] | None, value: str) -> str | None:
    value = value.strip()
    if choices:
        return None if value in choices else f"allowed: {', '.join(choices)}"
    if field == "model":
        try:
            check_model_name(value)
        except Exception as error:  # noqa: BLE001 - the registry's own message says why
            return str(error)
        return None
    if isinstance(default, bool):
        return None if value in BOOLEANS else "expected true or false"
    if isinstance(default, (int, float)):
        try:
            float(value)
        except ValueError:
            return f"expected a number like the default {default!r}"
    return None


def named_options(text: str) -> list[tuple[str, str, str | None]]:
    """(section, field, value or None) of every backticked ``section.field[: value]`` with a known section."""
    sections = option_sections()
    found = []
    for section, field, value in OPTION.findall(text):
        if section in sections and field not in FILE_SUFFIXES:
            found.append((section, field, value or None))
    return found


def option_problems(text: str) -> list[str]:
    sections = option_sections()
    problems = []
    for section, field, value in named_options(text):
        fields, choices = sections[section]
        if field not in fields:
            problems.append(f"`{section}.{field}`: {section} has no field {field!r} (fields: {', '.join(fields)})")
        elif value is not None:
            problem = _value_problem(field, fields[field], choices.get(field), value)
            if problem:
                problems.append(f"`{section}.{field}: {value}`: {problem}")
    return problems


# --- references to documents outside the repository ----------------------------------------------

def outside_reference_lines(text: str, where: str) -> list[str]:
    return [f"{where}:{number}: {line.strip()}" for number, line in enumerate(text.splitlines(), 1)
            if OUTSIDE_REFERENCE.search(line)]


def doc_pointer_problems(text: str, where: str) -> list[str]:
    """``docs/<file>.md#anchor`` pointers (in code comments) whose file or anchor does not exist."""
    problems = []
    for name, anchor in DOC_POINTER.findall(text):
        path = DOCS / name
        if not path.is_file():
            problems.append(f"{where}: docs/{name} does not exist")
        elif anchor and anchor not in anchors(path.read_text(encoding="utf-8")):
            problems.append(f"{where}: docs/{name} has no heading with the anchor #{anchor}")
    return problems


def _modules_and_suites() -> list[Path]:
    return sorted([*(REPO / "kdss_bench").rglob("*.py"), *(REPO / "suites").rglob("*.yaml")])


def _code_files() -> list[Path]:
    """Everything that may point into the docs: the package, the suites, the scripts and the tests."""
    files = [*_modules_and_suites(), *(REPO / "scripts").rglob("*.py"), *(REPO / "scripts").rglob("*.sh"),
             *(REPO / "tests").rglob("*.py")]
    return sorted(p for p in files if p.resolve() != THIS_FILE)


# --- the tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(doc: Path):
    problems = link_problems(doc, doc.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_every_registered_method_has_a_section_in_the_method_notes():
    missing = missing_method_sections(NOTES.read_text(encoding="utf-8"), method_names())
    assert not missing, f"docs/method-notes.md has no '### <name>' section for: {', '.join(missing)}"


def test_every_option_the_method_notes_name_exists():
    text = NOTES.read_text(encoding="utf-8")
    assert len(named_options(text)) >= 50, "the notes name their options as `section.field`; the pattern found few"
    problems = option_problems(text)
    assert not problems, "\n".join(problems)


def test_no_module_or_suite_points_outside_the_repository():
    problems = []
    for path in _modules_and_suites():
        problems += outside_reference_lines(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    assert not problems, ("point into docs/method-notes.md (or state the fact) instead of a brief or an issue:\n"
                          + "\n".join(problems))


def test_every_pointer_from_the_code_into_the_docs_resolves():
    problems, pointers = [], 0
    for path in _code_files():
        text = path.read_text(encoding="utf-8")
        pointers += len(DOC_POINTER.findall(text))
        problems += doc_pointer_problems(text, str(path.relative_to(REPO)))
    assert pointers > 0, "the code points into docs/method-notes.md; the pattern found no pointer"
    assert not problems, "\n".join(problems)


# --- each check finds what it is there to find ---------------------------------------------------

@pytest.mark.parametrize(("heading", "slug"), [
    ("krr_st", "krr_st"),
    ("`kd.teacher_mode`", "kdteacher_mode"),
    ("Knowledge distillation (Table 4)", "knowledge-distillation-table-4"),
    ("MKDT protocol: MSE pre-training and L-BFGS probe", "mkdt-protocol-mse-pre-training-and-l-bfgs-probe"),
    ("Teacher (target model)", "teacher-target-model"),
])
def test_github_slug(heading: str, slug: str):
    assert github_slug(heading) == slug


def test_repeated_headings_get_numbered_anchors():
    assert anchors("## Notes\n\n## Notes\n\n```\n## not a heading\n```\n") == {"notes", "notes-1"}


def test_link_check_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path):
    doc = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Present\n", encoding="utf-8")
    text = ("# Page\n\n[ok](#page) [ok](other.md#present) [web](https://example.org/x#y) `[code](nowhere.md)`\n"
            "[gone](missing.md) [bad](other.md#absent) [bad here](#nope)\n")
    problems = link_problems(doc, text)
    assert len(problems) == 3, problems
    assert any("missing.md" in p for p in problems)
    assert any("#absent" in p for p in problems)
    assert any("#nope" in p for p in problems)


def test_method_section_check_finds_a_missing_method():
    assert missing_method_sections("### random\n\n### `dm`\n", ["random", "dm", "kip"]) == ["kip"]


def test_option_check_finds_unknown_fields_and_bad_values():
    text = ("`krr_st.pool_reset: official` `kd.teacher_mode: eval` `dsa.model: convnet_128_128_128_in` "
            "`suite.recipe: shared` `finetune.iterations_per_target` `krr_st.py:40` `torch.linalg.solve` "
            "`krr_st.no_such_field` `krr_st.pool_reset: never` `kd.teacher_mode: sideways` "
            "`mtt.dsa: maybe` `dm.model: convnet_fast` `pretrain.epochs: many` `suite.no_such_key`")
    assert len(named_options(text)) == 12
    problems = option_problems(text)
    assert len(problems) == 7, problems


def test_outside_reference_check_finds_briefs_and_issues():
    text = "ok line\n# follows the brief 1.5\nsee issue 3\nper issues #12\npytorch/vision/issues/7545 is a URL\n"
    assert [p.split(":")[1] for p in outside_reference_lines(text, "f.py")] == ["2", "3", "4"]


def test_doc_pointer_check_finds_a_missing_anchor_and_file():
    text = "see docs/method-notes.md#krr_st and docs/method-notes.md#no-such-section and docs/nothing.md"
    problems = doc_pointer_problems(text, "f.py")
    assert len(problems) == 2, problems
