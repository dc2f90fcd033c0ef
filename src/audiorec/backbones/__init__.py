"""Backbone registry.

A backbone's config ``type`` is the name of its module in this package, and the
module exposes its class as ``BACKBONE``: adding a backbone is one new file
plus one config entry, with no list to keep in sync. Modules import their heavy
dependencies (torch, transformers) lazily so that checking a config stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

_NOT_BACKBONES = {"base"}


def available() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in _NOT_BACKBONES
    )


def get(type_name: str):
    """The backbone class registered under `type_name`."""
    names = available()
    if type_name not in names:
        raise KeyError(f"unknown backbone type {type_name!r} (available: {', '.join(names)})")
    return importlib.import_module(f"{__name__}.{type_name}").BACKBONE


def source_file(type_name: str) -> Path:
    """The module file, so the workflow can re-run a backbone when its code changes."""
    if type_name not in available():
        raise KeyError(f"unknown backbone type {type_name!r}")
    return Path(__file__).with_name(f"{type_name}.py")
