"""Backbone registry: a backbone's config ``type`` is the name of its module here.

Each module exposes its class as ``BACKBONE``; adding a backbone is one new
file plus one config entry. Modules import their heavy dependencies (torch,
transformers) lazily so that checking a config stays fast.
"""

from audiorec.registry import Registry

_registry = Registry(__name__, __path__, "BACKBONE", "backbone", frozenset({"base"}))
available, get, source_file = _registry.available, _registry.get, _registry.source_file
