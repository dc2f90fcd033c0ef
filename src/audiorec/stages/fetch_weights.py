"""Job: fetch one backbone's pretrained weights once, before its extraction jobs.

Runs on the host Snakemake runs on (a local rule), which has network where
compute nodes may not; it writes a manifest of the files it found, and every
extraction job then reads them with the hub offline.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from audiorec import backbones

log = logging.getLogger(__name__)


def run(name: str, spec: dict, output: str) -> dict:
    """Fetch what `spec` (a backbone type and the params that name its weights) loads;
    `name` is the weights' key, shared by every backbone entry that loads them."""
    cls = backbones.get(spec["type"])
    files = cls.fetch_weights(spec["params"])
    manifest = {
        "weights": name,
        "type": spec["type"],
        "files": [{"path": f, "bytes": Path(f).stat().st_size} for f in files],
    }
    Path(output).write_text(json.dumps(manifest, indent=2))
    log.info("%s: %d weight files ready", name, len(files))
    return manifest
