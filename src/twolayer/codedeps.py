"""Which of the package's source files a module runs: its imports within the package, transitively.

The workflow gives each rule the files its stage module needs as ``code`` inputs, so
that editing a module reruns exactly the rules that import it. The imports are read
from the source with ``ast`` (nothing is imported or run): ``from .x import y``,
``from . import x``, ``from ..x import y`` and absolute ``twolayer.x`` imports, at
module level or inside functions (a function's import runs whenever the function does).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = "twolayer"
PACKAGE_DIR = Path(__file__).resolve().parent


def module_file(module: str, package_dir: Path = PACKAGE_DIR) -> Path:
    """The source file of ``twolayer.a.b``: ``a/b.py`` or ``a/b/__init__.py`` under the package folder."""
    parts = module.split(".")[1:]
    base = package_dir.joinpath(*parts)
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _is_package(module: str, package_dir: Path) -> bool:
    return module_file(module, package_dir).name == "__init__.py"


def _exists(module: str, package_dir: Path) -> bool:
    return module_file(module, package_dir).is_file()


@functools.cache
def direct_imports(module: str, package_dir: Path = PACKAGE_DIR) -> frozenset[str]:
    """The package modules that ``module``'s source imports, anywhere in the file (read once per process)."""
    tree = ast.parse(module_file(module, package_dir).read_text())
    here = module if _is_package(module, package_dir) else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target != PACKAGE and not target.startswith(PACKAGE + "."):
                continue
            for alias in node.names:  # ``from . import plots`` names a module, ``from .x import y`` a member
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _exists(candidate, package_dir) else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name == PACKAGE or a.name.startswith(PACKAGE + "."))
    return frozenset(name for name in found if _exists(name, package_dir))


def _with_parents(module: str) -> list[str]:
    """``twolayer.stages.train_final`` -> the packages Python initializes first, then the module."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def module_closure(*modules: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every package module that importing ``modules`` (and running their functions) loads, sorted."""
    seen: set[str] = set()
    pending = [name for module in modules for name in _with_parents(module)]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        for imported in direct_imports(module, package_dir):
            pending.extend(_with_parents(imported))
    return sorted(seen)


def code_files(*modules: str, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The source files of ``module_closure(*modules)``."""
    return [module_file(module, package_dir) for module in module_closure(*modules, package_dir=package_dir)]
