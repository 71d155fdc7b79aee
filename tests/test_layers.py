"""The import-layer contract: foundation <- dataset_builder <- models <- benchmark <- the command.

Every module of the package is read with ``ast``; each import (absolute or relative, at any depth,
deferred ones inside functions included) is resolved to a ``regsim`` module and must not point to a
higher layer. The evaluate module ``regsim.metrics.motif_attribution`` imports nothing of regsim but its
own siblings (``evaluate.load`` copies it alone). Importing by string (``importlib.import_module``,
``__import__``) is allowed only in the package root, the top of the stack. ``.ci/run`` runs this file
before the rest of the suite.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("dataset_builder", "models", "metrics", "cards")
ROOT_MODULES = ("__init__.py", "__main__.py", "cli.py")

# (prefix, layer); the longest matching prefix wins. A module may import only its own layer or lower.
LAYERS = [
    ("regsim.dataset_builder.core", 0),
    ("regsim.cards", 0),
    ("regsim.metrics.motif_attribution", 0),
    ("regsim.dataset_builder", 1),
    ("regsim.models", 2),
    ("regsim.metrics.benchmark", 3),
    ("regsim.metrics", 0),
    ("regsim", 4),
]
LAYER_NAMES = {0: "foundation", 1: "dataset_builder", 2: "models", 3: "benchmark", 4: "the regsim command"}
STANDALONE = "regsim.metrics.motif_attribution"
LEGACY_TOP_LEVEL = set(PACKAGE_DIRS)


def layer_of(module: str) -> int:
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise KeyError(module)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["regsim", *parts])


def package_files(root: Path = ROOT) -> list[Path]:
    files = [root / name for name in ROOT_MODULES if (root / name).exists()]
    for folder in PACKAGE_DIRS:
        files += sorted((root / folder).rglob("*.py"))
    return files


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in ``path``, relative ones resolved; string imports as
    ``(line, "<string import>")``."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # `from . import x`: x may be a module
                    found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
                    continue
            else:
                target = node.module
            found.append((node.lineno, target))
        elif isinstance(node, ast.Call):
            func = node.func
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            if called in ("import_module", "__import__"):
                found.append((node.lineno, "<string import>"))
    return found


def violations(root: Path = ROOT) -> list[str]:
    problems = []
    for path in package_files(root):
        name = module_name(path, root)
        own = layer_of(name)
        where = path.relative_to(root)
        for line, target in imported_modules(path, root):
            if target == "<string import>":
                if name not in ("regsim",):
                    problems.append(f"{where}:{line}: imports by string (only the package root may)")
                continue
            top = target.split(".")[0]
            if top in LEGACY_TOP_LEVEL:
                problems.append(f"{where}:{line}: imports {target} outside the regsim namespace")
                continue
            if top != "regsim":
                continue
            if name.startswith(STANDALONE) and not target.startswith(STANDALONE):
                problems.append(f"{where}:{line}: the evaluate module imports {target}")
                continue
            if layer_of(target) > own:
                problems.append(
                    f"{where}:{line}: {LAYER_NAMES[own]} module {name} imports {target} ({LAYER_NAMES[layer_of(target)]})"
                )
    return problems


def test_imports_point_one_way():
    assert violations() == []


def test_every_package_module_is_checked():
    names = {module_name(p) for p in package_files()}
    assert {"regsim", "regsim.cli", "regsim.dataset_builder.core.errors", "regsim.models.train",
            "regsim.metrics.benchmark.pipeline", "regsim.metrics.motif_attribution.motif_attribution"} <= names
    assert len(names) > 60


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("dataset_builder/core/bad.py", "from regsim.dataset_builder.build import build_dataset\n",
         "foundation module regsim.dataset_builder.core.bad imports regsim.dataset_builder.build"),
        ("dataset_builder/bad.py", "def f():\n    from ..models import train\n",
         "dataset_builder module regsim.dataset_builder.bad imports regsim.models (models)"),
        ("models/bad.py", "from regsim.metrics.benchmark import pipeline\n",
         "imports regsim.metrics.benchmark (benchmark)"),
        ("metrics/motif_attribution/bad.py", "from regsim.dataset_builder.core.errors import UserError\n",
         "the evaluate module imports regsim.dataset_builder.core.errors"),
        ("models/bad2.py", "import importlib\nimportlib.import_module('regsim.metrics.benchmark.report')\n",
         "imports by string"),
        ("models/bad3.py", "from dataset_builder.core import errors\n", "outside the regsim namespace"),
    ],
)
def test_the_contract_catches_violations(tmp_path, where, source, expected):
    for folder in PACKAGE_DIRS:
        (tmp_path / folder).mkdir()
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text(source)
    problems = violations(tmp_path)
    assert len(problems) == 1 and expected in problems[0], problems


def test_package_root_imports_nothing_relatively():
    """pytest imports the repository root's ``__init__.py`` under the checkout folder's name (``regsim-ci-1``,
    ``issue-11``, ...), where a relative import fails and every test errors at collection."""
    tree = ast.parse((ROOT / "__init__.py").read_text())
    assert not [node.lineno for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
