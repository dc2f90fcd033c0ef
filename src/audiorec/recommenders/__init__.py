"""Recommender registry: a recommender's config ``type`` is its module name here.

Each module exposes its class as ``RECOMMENDER``. Modules import nothing heavy
at top level beyond numpy and torch, so that checking a config stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil

_NOT_MODELS = {"base"}


def available() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in _NOT_MODELS
    )


def get(type_name: str):
    names = available()
    if type_name not in names:
        raise KeyError(f"unknown recommender type {type_name!r} (available: {', '.join(names)})")
    return importlib.import_module(f"{__name__}.{type_name}").RECOMMENDER
