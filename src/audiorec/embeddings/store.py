"""Embedding files: `track_id` plus a fixed-size float32 list, described in metadata.

The Parquet schema metadata (key ``audiorec``, JSON) says which backbone,
checkpoint, layer, pooling and sample rate made the vectors and with which
library versions, so a file found later can be told apart from its siblings.
A backbone run with ``layer: all`` adds a ``layers`` column (every hidden
state's vector, a fixed-size list of fixed-size lists) beside ``embedding``.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

META_KEY = b"audiorec"
VERSIONED = (
    "audiorec",
    "numpy",
    "torch",
    "librosa",
    "soundfile",
    "soxr",
    "transformers",
    "pyarrow",
)


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def _fixed(array: np.ndarray) -> pa.Array:
    """Nested fixed-size lists for an (n, ...) float32 array."""
    out = pa.array(np.ascontiguousarray(array, dtype=np.float32).reshape(-1), type=pa.float32())
    for size in reversed(array.shape[1:]):
        out = pa.FixedSizeListArray.from_arrays(out, size)
    return out


def write_embeddings(
    path: str | Path, track_ids, vectors: np.ndarray, meta: dict, layers: np.ndarray | None = None
) -> None:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(track_ids):
        raise ValueError(f"expected ({len(track_ids)}, dim) vectors, got {vectors.shape}")
    dim = vectors.shape[1]
    meta = {**meta, "dim": dim, "n_tracks": len(track_ids)}
    meta.setdefault("versions", library_versions())
    columns = {"track_id": pa.array(list(track_ids), pa.string()), "embedding": _fixed(vectors)}
    if layers is not None:
        if layers.shape[0] != len(track_ids) or layers.shape[2] != dim:
            raise ValueError(
                f"expected ({len(track_ids)}, n_layers, {dim}) layers, got {layers.shape}"
            )
        columns["layers"] = _fixed(layers)
        meta["n_layers"] = int(layers.shape[1])
    table = pa.table(columns)
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True)})
    pq.write_table(table, path)


def read_metadata(path: str | Path) -> dict:
    raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}


def read_embeddings(
    path: str | Path, layer: int | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(track_ids, vectors (n, dim) float32, metadata); `layer` picks a hidden state of a layer: all file."""
    meta = read_metadata(path)
    if layer is None:
        table = pq.read_table(path, columns=["track_id", "embedding"])
        col = table["embedding"].combine_chunks()
    else:
        if "layers" not in pq.read_schema(path).names:
            raise ValueError(
                f"{path} holds one layer only; extract with params.layer: all to choose layers later"
            )
        table = pq.read_table(path, columns=["track_id", "layers"])
        n_layers = table["layers"].type.list_size
        if not 0 <= layer < n_layers:
            raise ValueError(f"{path}: layer {layer} out of range 0..{n_layers - 1}")
        nested = table["layers"].combine_chunks().flatten()  # (n * n_layers) lists of dim
        col = nested.take(pa.array(np.arange(table.num_rows) * n_layers + layer))
        meta = {**meta, "layer": layer}
    dim = col.type.list_size
    vectors = col.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim).astype(np.float32)
    ids = np.asarray(table["track_id"].to_pylist(), dtype=object)
    return ids, vectors, meta


def align(ids: np.ndarray, vectors: np.ndarray, wanted) -> tuple[np.ndarray, np.ndarray]:
    """Rows for `wanted` ids in order; (vectors with zeros where missing, available mask)."""
    pos = {t: i for i, t in enumerate(ids)}
    rows = np.array([pos.get(t, -1) for t in wanted], dtype=np.int64)
    available = rows >= 0
    out = np.zeros((len(rows), vectors.shape[1]), dtype=np.float32)
    out[available] = vectors[rows[available]]
    return out, available
