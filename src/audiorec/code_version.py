"""A fingerprint of the code a job runs, for Snakemake's params trigger.

A job's code is its stage module, its plug-in module (backbone or
recommender) and every audiorec module those import, at any depth, plus its
wrapper script. Each file counts by its syntax tree without docstrings, so a
comment, a docstring or reformatting re-runs nothing, while any change to
what the code does re-runs exactly the jobs that import it. Modules are found
by reading their import statements, not by importing them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]  # the folder holding the audiorec package
PACKAGE = "audiorec"


def module_file(name: str) -> Path | None:
    """The file of an audiorec module or package, or None if ``name`` is not one."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _imported(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """audiorec modules named by the import statements anywhere in a module."""
    found = set()
    here = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = here[: len(here) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] == PACKAGE and module_file(m)}


@functools.cache
def _parse(path: Path, name: str) -> tuple[str, frozenset[str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imports = _imported(tree, name, path.name == "__init__.py")
    digest = hashlib.sha256(ast.dump(_strip_docstrings(tree)).encode()).hexdigest()
    return digest, frozenset(imports)


def closure(*modules: str) -> dict[str, Path]:
    """Every audiorec module the given ones import, directly or not, and their packages."""
    todo, seen = list(modules), {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name)
        if path is None:
            raise ValueError(f"{name} is not a module of {PACKAGE}")
        seen[name] = path
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += _parse(path, name)[1]
    return dict(sorted(seen.items()))


@functools.cache
def fingerprint(*modules: str, scripts: tuple[str, ...] = ()) -> str:
    """A short hash of what the modules (and wrapper scripts) do."""
    h = hashlib.sha256()
    for name, path in closure(*modules).items():
        h.update(name.encode() + _parse(path, name)[0].encode())
    for script in scripts:
        tree = ast.parse(Path(script).read_text(encoding="utf-8"))
        h.update(ast.dump(_strip_docstrings(tree)).encode())
    return h.hexdigest()[:16]
