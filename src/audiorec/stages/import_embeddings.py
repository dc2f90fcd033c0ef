"""Job: a precomputed backbone's vectors into ``embeddings/<name>.parquet``, like an extraction.

Catalogue tracks without a vector, and vectors with non-finite values, are
recorded in the failures table; vectors of tracks outside the catalogue are
left out (and counted in the log). A file with no vector for any catalogue
track fails the job.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from audiorec import backbones, failures
from audiorec.embeddings.store import write_embeddings

log = logging.getLogger(__name__)


def run(
    name: str,
    spec: dict,
    root: str,
    catalogue_path: str,
    output: str,
    failures_path: str,
) -> None:
    model = backbones.get(spec["type"])(spec["params"], root=root)
    wanted = pd.read_parquet(catalogue_path, columns=["track_id"])["track_id"].astype(str)
    ids, vectors = model.table(wanted)
    position = pd.Series(np.arange(len(ids)), index=pd.Index(ids.astype(str)))
    found = wanted[wanted.isin(position.index)]
    rows = position[found].to_numpy()
    finite = np.isfinite(vectors[rows]).all(axis=1)
    fails = [
        {"track_id": t, "stage": "import", "reason": f"no vector in {model.file}"}
        for t in wanted[~wanted.isin(position.index)]
    ] + [
        {"track_id": t, "stage": "import", "reason": f"non-finite values in {model.file}"}
        for t in found[~finite]
    ]
    keep = found[finite].to_numpy()
    if len(keep) == 0:
        raise ValueError(
            f"{model.file}: no usable vector for any of the {len(wanted)} catalogue tracks "
            f"(ids there look like {', '.join(map(str, ids[:3]))}; catalogue: "
            f"{', '.join(wanted[:3])}); check params.id_column and params.id_map"
        )
    outside = len(ids) - len(found)  # (a Parquet file's other rows are not even read)
    if outside:
        log.info("%s: %d vectors of tracks outside the catalogue left out", model.file, outside)
    meta = {"backbone": name, "type": spec["type"], "sample_rate": None, "params": spec["params"]}
    write_embeddings(output, keep, vectors[rows[finite]], {**meta, **model.describe()})
    failures.write(failures_path, fails)
    log.info("%s: %d tracks imported, %d failed", output, len(keep), len(fails))
