"""Vectors someone else computed: Music4All-Onion's feature files, or any table of vectors.

Music4All-Onion publishes dozens of per-track features (``id_<feature>.tsv.bz2``:
tab-separated, an ``id`` column then the vector), among them the MFCC
statistics the study's MFCC row used (``id_mfcc_stats``) and i-vectors. This
backbone reads such a file, or a CSV, Parquet (one column per value, or one
list column) or NPY matrix, keyed by track id directly or through an id map
(e.g. the authors' ``trackid_sorted.csv``: row index -> Music4All id; NPY
rows always go through one). It reads no audio: the workflow's
``import_embeddings`` job writes the same ``embeddings/<name>.parquet`` and
failures table as the audio backbones (catalogue tracks without a usable
vector are failures), so every recommender, variant and test runs on it
unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiorec.backbones.base import Backbone
from audiorec.data.readers import DataError
from audiorec.schema import choice


class Precomputed(Backbone):
    needs_audio = False
    needs_weights = False
    uses_torch = False
    PARAMS = {
        "path": {"type": "string", "description": "the vectors' file (relative: to dataset.root)"},
        "format": choice("auto", "tsv", "csv", "parquet", "npy"),
        "id_column": {
            "type": ["string", "null"],
            "default": "id",
            "description": "the column of track ids (or of row indices with id_map)",
        },
        "vector_column": {
            "type": ["string", "null"],
            "default": None,
            "description": "one list column holding the vector (Parquet); null: every other column",
        },
        "id_map": {
            "type": ["string", "null"],
            "default": None,
            "description": "a table mapping the file's keys (or NPY rows) to track ids",
        },
        "id_map_columns": {
            "type": "object",
            "additionalProperties": False,
            "default": {},
            "properties": {
                "key": {"type": "string", "default": "idx"},
                "track_id": {"type": "string", "default": "trackid"},
            },
        },
        "dim": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "expected length of each vector (checked); null: as the file has",
        },
    }

    def __init__(self, params: dict, device: str = "cpu", batch_size: int = 16, root=None):
        super().__init__(params, device, batch_size)
        self.root = Path(root) if root else None
        self._table = None

    @classmethod
    def sample_rate_for(cls, params: dict) -> int:
        return 0  # no audio

    def resolve(self, name: str) -> Path:
        path = Path(name).expanduser()
        return path if path.is_absolute() or self.root is None else self.root / path

    @property
    def file(self) -> Path:
        return self.resolve(self.params["path"])

    def _format(self) -> str:
        fmt = self.params["format"]
        if fmt != "auto":
            return fmt
        suffixes = [s.lower() for s in self.file.suffixes]
        for fmt, names in (
            ("parquet", {".parquet", ".pqt", ".pq"}),
            ("npy", {".npy"}),
            ("csv", {".csv"}),
        ):
            if names & set(suffixes):
                return fmt
        return "tsv"

    def _read_text(self, sep: str):
        import pyarrow.csv as pacsv

        from audiorec.data.readers import open_text

        return pacsv.read_csv(
            open_text(self.file, 2), parse_options=pacsv.ParseOptions(delimiter=sep)
        )

    def _parquet(self, wanted):
        """The Parquet table, only the rows of `wanted` ids when given (Yambda's 7.7 M
        vectors are 14 GB: the catalogue's rows are read, not the file)."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        data = ds.dataset(self.file, format="parquet")
        key = self.params["id_column"]
        if wanted is None or key not in data.schema.names:
            return data.to_table()
        kind = data.schema.field(key).type
        values = list(wanted)
        if pa.types.is_integer(kind):
            values = [int(v) for v in values if str(v).isdigit()]
        return data.to_table(filter=ds.field(key).isin(pa.array(values, kind)))

    def _keys_and_matrix(self, wanted=None) -> tuple[np.ndarray | None, np.ndarray]:
        fmt, p = self._format(), self.params
        if fmt == "npy":
            return None, np.load(self.file, mmap_mode="r")
        if fmt == "parquet":
            table = self._parquet(wanted)
        else:
            table = self._read_text("\t" if fmt == "tsv" else ",")
        if p["id_column"] not in table.column_names:
            raise DataError(
                f"{self.file}: no id column {p['id_column']!r} (found: "
                f"{', '.join(table.column_names[:6])}...); set params.id_column"
            )
        keys = np.asarray(table[p["id_column"]].cast("string").to_pylist(), dtype=object)
        if p["vector_column"]:
            col = table[p["vector_column"]].combine_chunks()
            lengths = col.value_lengths().to_numpy(zero_copy_only=False) if len(col) else []
            if len(col) and (lengths == lengths[0]).all() and col.null_count == 0:
                matrix = col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), -1)
            else:
                matrix = np.asarray(col.to_pylist(), dtype=np.float64)
        else:
            rest = [c for c in table.column_names if c != p["id_column"]]
            matrix = np.column_stack(
                [table[c].cast("double").to_numpy(zero_copy_only=False) for c in rest]
            )
        return keys, matrix

    def _id_map(self) -> dict[str, str]:
        import pandas as pd

        cols = {"key": "idx", "track_id": "trackid", **self.params["id_map_columns"]}
        path = self.resolve(self.params["id_map"])
        sep = "\t" if path.suffix.lower() in {".tsv", ".txt"} else ","
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
        missing = [c for c in cols.values() if c not in frame.columns]
        if missing:
            raise DataError(f"{path}: missing column {', '.join(missing)} of params.id_map_columns")
        return dict(zip(frame[cols["key"]], frame[cols["track_id"]], strict=True))

    def table(self, wanted=None) -> tuple[np.ndarray, np.ndarray]:
        """(track ids, vectors float32 (n, dim)) as the file has them, validated; with
        `wanted` (track ids) a Parquet file's other rows may be left unread."""
        if self._table is not None:
            return self._table
        if not self.file.exists():
            raise DataError(f"{self.file}: precomputed vectors not found (params.path)")
        keys, matrix = self._keys_and_matrix(None if self.params["id_map"] else wanted)
        if self.params["id_map"]:
            mapping = self._id_map()
            keys = np.arange(len(matrix)).astype(str) if keys is None else keys
            unmapped = [k for k in keys if k not in mapping]
            if unmapped:
                raise DataError(
                    f"{self.file}: {len(unmapped)} keys not in {self.params['id_map']} "
                    f"(e.g. {', '.join(map(str, unmapped[:5]))})"
                )
            keys = np.asarray([mapping[k] for k in keys], dtype=object)
        elif keys is None:
            raise DataError(f"{self.file}: an NPY matrix has no ids; set params.id_map")
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2:
            raise DataError(
                f"{self.file}: expected a 2-d table of vectors, got shape {matrix.shape}"
            )
        if self.params["dim"] and matrix.shape[1] != self.params["dim"]:
            raise DataError(
                f"{self.file}: vectors have {matrix.shape[1]} values, params.dim says "
                f"{self.params['dim']}"
            )
        import pandas as pd

        index = pd.Index(keys)
        if index.has_duplicates:
            repeated = index[index.duplicated()].unique()[:5]
            raise DataError(f"{self.file}: track ids listed twice: {', '.join(map(str, repeated))}")
        self._table = (keys, matrix)
        return self._table

    @property
    def dim(self) -> int:
        return int(self.params["dim"] or self.table()[1].shape[1])

    def describe(self) -> dict:
        return {
            "checkpoint": str(self.file),
            "layer": "as published",
            "pooling": "as published",
            "id_map": self.params["id_map"],
        }

    def ready(self) -> None:
        self.table()

    def prepare(self, waveform: np.ndarray):
        raise TypeError(
            "precomputed vectors are read from a file (import_embeddings), not from audio"
        )

    def embed(self, batch):
        raise TypeError(
            "precomputed vectors are read from a file (import_embeddings), not from audio"
        )


BACKBONE = Precomputed
