"""Recommender registry: a recommender's config ``type`` is its module name here.

Each type module assigns its class to ``RECOMMENDER``. Modules import torch
and other heavy libraries inside the methods that use them (networks live in
``audiorec.networks``), so that checking a config imports none of them.
"""

from audiorec.registry import Registry

_registry = Registry(__name__, __path__, "RECOMMENDER", "recommender")
available, get, module, source_file = (
    _registry.available,
    _registry.get,
    _registry.module,
    _registry.source_file,
)
