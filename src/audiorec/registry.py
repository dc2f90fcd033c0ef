"""Plug-in types by module name: a config's ``type`` is the name of a module in a package.

A module is a type when it assigns the package's attribute (``BACKBONE``,
``RECOMMENDER``) at top level; other modules of the package are shared code.
Types are found by reading the files, not by importing them, so listing them
costs nothing and a helper module never turns up as a type.
"""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path


class Registry:
    def __init__(self, package: str, path, attribute: str, kind: str):
        self.package, self.path, self.attribute, self.kind = package, list(path), attribute, kind

    @functools.cached_property
    def _files(self) -> dict[str, Path]:
        marker = re.compile(rf"^{self.attribute}\s*=", re.MULTILINE)
        found = {}
        for folder in self.path:
            for file in sorted(Path(folder).glob("*.py")):
                if marker.search(file.read_text(encoding="utf-8")):
                    found.setdefault(file.stem, file)
        return found

    def available(self) -> list[str]:
        return sorted(self._files)

    def _check(self, name: str) -> None:
        if name not in self._files:
            raise KeyError(
                f"unknown {self.kind} type {name!r} (available: {', '.join(self.available())})"
            )

    def get(self, name: str):
        self._check(name)
        return getattr(importlib.import_module(f"{self.package}.{name}"), self.attribute)

    def module(self, name: str) -> str:
        """The type's module name, e.g. ``audiorec.backbones.mfcc``."""
        self._check(name)
        return f"{self.package}.{name}"

    def source_file(self, name: str) -> Path:
        """The module file, so the workflow can re-run what depends on it when it changes."""
        self._check(name)
        return self._files[name]
