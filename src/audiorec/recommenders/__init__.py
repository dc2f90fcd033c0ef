"""Recommender registry: a recommender's config ``type`` is its module name here.

Each module exposes its class as ``RECOMMENDER``. Modules import nothing heavy
at top level beyond numpy and torch, so that checking a config stays fast.
"""

from audiorec.registry import Registry

_registry = Registry(__name__, __path__, "RECOMMENDER", "recommender", frozenset({"base"}))
available, get = _registry.available, _registry.get
