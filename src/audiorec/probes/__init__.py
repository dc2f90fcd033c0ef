"""Probe-task registry: a MIR probe's config ``type`` is its module name here.

Each task module assigns its class (a ``probes.base.ProbeTask``) to ``PROBE``:
where its data comes from and in what layout, its split, its labels and its
kind (tagging, classification, key, regression), which decides the metrics.
The probes themselves (linear and one-hidden-layer MLP on frozen vectors) are
shared (``probes.fit``), as MARBLE runs them.
"""

from audiorec.registry import Registry

_registry = Registry(__name__, __path__, "PROBE", "probe task")
available, get, module, source_file = (
    _registry.available,
    _registry.get,
    _registry.module,
    _registry.source_file,
)
