"""The house rules of the import graph (docs/architecture.md), checked on the source, without importing it.

* no module imports another module's ``_private`` names;
* the core (``assistant``) does not import the outer layer (``ui``: the web chat and the CLI);
* the pipeline does not import the tools beside it (``assistant.tools``);
* the core's imports (lazy ones too) form no cycle.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import REPO, require_resource

PACKAGES = ("assistant", "ui")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path, *, top_level_only: bool) -> list[tuple[str, tuple[str, ...], int]]:
    """(imported module, names taken from it, line) for each import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = tuple(alias.name for alias in node.names)
            found.append((base, names, node.lineno))
            found += [(f"{base}.{n}", (), node.lineno) for n in names if f"{base}.{n}" in MODULES]
    return found


def test_no_module_imports_another_modules_private_names():
    offences = [
        f"{name}:{line} imports {', '.join(n for n in names if n.startswith('_'))} from {module}"
        for name, path in MODULES.items()
        for module, names, line in _imports(name, path, top_level_only=False)
        if module in MODULES and module != name and any(n.startswith("_") and not n.startswith("__") for n in names)
    ]
    assert not offences, "\n".join(offences)


def test_the_core_does_not_import_the_ui():
    offences = [
        f"{name}:{line} imports {module}"
        for name, path in MODULES.items()
        if name.startswith("assistant")
        for module, _, line in _imports(name, path, top_level_only=False)
        if module == "ui" or module.startswith("ui.")
    ]
    assert not offences, "\n".join(offences)


def test_the_pipeline_does_not_import_the_tools():
    offences = [
        f"{name}:{line} imports {module}"
        for name, path in MODULES.items()
        if name.startswith("assistant") and not name.startswith("assistant.tools")
        for module, _, line in _imports(name, path, top_level_only=False)
        if module.startswith("assistant.tools")
    ]
    assert not offences, "\n".join(offences)


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (as a path that returns to its start), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_core_has_no_import_cycle():
    graph = {
        name: {
            module
            for module, _, _ in _imports(name, path, top_level_only=False)
            if module in MODULES and module != name and not name.startswith(f"{module}.")
        }
        for name, path in MODULES.items()
        if name.startswith("assistant")
    }
    assert not _cycle(graph), " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_ruff_finds_nothing():
    """The lint rules of pyproject.toml (errors, unused names, import order, complexity) hold."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    require_resource(ruff, "ruff is not installed (it comes with the test extra: pip install -e '.[test]')")
    done = subprocess.run([ruff, "check", "--quiet", str(REPO)], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


MAX_FUNCTION_LINES = 80  # docstring included
# Functions allowed to be longer, with their ceiling (each may shrink, none may grow). Empty since
# issue #18: a function that needs more than 80 lines is split, its reference prose goes to docs/.
LONG_FUNCTIONS: dict[str, int] = {}


def test_functions_stay_short():
    offences = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines, qualified = node.end_lineno - node.lineno + 1, f"{name}.{node.name}"
                if lines > LONG_FUNCTIONS.get(qualified, MAX_FUNCTION_LINES):
                    offences.append(f"{qualified} ({path.relative_to(REPO)}:{node.lineno}) has {lines} lines")
    assert not offences, "split these functions:\n" + "\n".join(offences)


def test_every_value_of_a_vocabulary_has_its_text_in_every_language():
    """The interface names each document type, answer mode, fallback reason, "not found" reason,
    origin of a document and audit action in Russian, Kazakh and English, so a new value cannot
    reach a user as a raw code."""
    from assistant.answer import NOT_FOUND_TEXTS
    from assistant.model import (
        ANSWER_MODES,
        AUDIT_ACTIONS,
        DOC_TYPES,
        FALLBACK_REASONS,
        LANGUAGES,
        NOT_FOUND_REASONS,
        ORIGINS,
    )
    from ui import texts

    missing = []
    for lang in LANGUAGES:
        keys = [f"mode_{mode}" for mode in ANSWER_MODES] + [f"fallback_{reason}" for reason in FALLBACK_REASONS]
        keys += [f"provenance_{origin}" for origin in ORIGINS] + [f"audit_{action}" for action in AUDIT_ACTIONS]
        missing += [f"ui/texts.py {lang}: {key}" for key in keys if key not in texts.TEXTS[lang]]
        missing += [f"ui/texts.py {lang}: doc type {kind}" for kind in DOC_TYPES if kind not in texts.DOC_TYPE_LABELS[lang]]
        missing += [f"answer.NOT_FOUND_TEXTS {lang}: {reason}" for reason in NOT_FOUND_REASONS if lang not in NOT_FOUND_TEXTS[reason]]
        missing += [f"ui/texts.py {lang}: region topics" for _ in [0] if not texts.REGION_EXAMPLES.get(lang)]
    assert not missing, "no text for:\n" + "\n".join(missing)
