"""Plug-in types by module name: a config's ``type`` is the name of a module in a package.

Each module exposes its class under one attribute (``BACKBONE``,
``RECOMMENDER``), so adding a type is adding a file; modules whose names start
with an underscore are shared helpers, not types.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


class Registry:
    def __init__(
        self, package: str, path, attribute: str, kind: str, exclude: frozenset[str] = frozenset()
    ):
        self.package, self.path, self.attribute, self.kind = package, list(path), attribute, kind
        self.exclude = exclude

    def available(self) -> list[str]:
        return sorted(
            m.name
            for m in pkgutil.iter_modules(self.path)
            if not m.name.startswith("_") and m.name not in self.exclude
        )

    def _check(self, name: str) -> None:
        names = self.available()
        if name not in names:
            raise KeyError(f"unknown {self.kind} type {name!r} (available: {', '.join(names)})")

    def get(self, name: str):
        self._check(name)
        return getattr(importlib.import_module(f"{self.package}.{name}"), self.attribute)

    def source_file(self, name: str) -> Path:
        """The module file, so the workflow can re-run what depends on it when it changes."""
        self._check(name)
        return Path(self.path[0]) / f"{name}.py"


def choice(*values, description: str | None = None) -> dict:
    """A parameter's schema that takes one of ``values``, the first by default."""
    schema = {"enum": list(values), "default": values[0]}
    if description:
        schema["description"] = description
    return schema
