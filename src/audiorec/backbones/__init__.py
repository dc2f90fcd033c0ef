"""Backbone registry: a backbone's config ``type`` is the name of its module here.

Each type module assigns its class to ``BACKBONE``; adding a backbone is one
new file plus one config entry. Modules import their heavy dependencies
(torch, transformers, librosa) inside the methods that use them, so that
checking a config imports none of them.
"""

from audiorec.registry import Registry

_registry = Registry(__name__, __path__, "BACKBONE", "backbone")
available, get, module, source_file = (
    _registry.available,
    _registry.get,
    _registry.module,
    _registry.source_file,
)
