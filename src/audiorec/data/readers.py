"""Readers for listening logs and track catalogues.

Music4All-Onion's log has 253 M rows, so the log is streamed block by block
with pyarrow, filtered by date as it is read, and user and track ids are kept
dictionary-encoded (pandas categoricals): about 16 bytes a row in memory.
Problems are reported with the file and line they occur on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

USER, ITEM, TIME = "user_id", "track_id", "timestamp"
BLOCK_BYTES = 64 << 20


class DataError(ValueError):
    """Input data that cannot be used, with the file (and line) it comes from."""


def _separator(path: Path, separator: str | None) -> str:
    if separator:
        return separator
    suffixes = [s.lower() for s in path.suffixes]
    return "," if ".csv" in suffixes and ".tsv" not in suffixes else "\t"


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in {".parquet", ".pqt", ".pq"}


def _check_columns(path: Path, found: list[str], wanted: dict[str, str]) -> None:
    missing = [src for src in wanted.values() if src not in found]
    if missing:
        raise DataError(
            f"{path}: missing column {', '.join(repr(m) for m in missing)} "
            f"(found: {', '.join(found)})"
        )


def _parse_times(values: pa.Array, path: Path, first_line: int) -> pa.Array:
    """Timestamps from strings; the first unparsable one is reported by line."""
    if pa.types.is_timestamp(values.type):
        parsed = values.cast(pa.timestamp("ns"))
    elif pa.types.is_date(values.type):
        parsed = values.cast(pa.timestamp("ns"))
    else:
        text = pc.utf8_trim_whitespace(values.cast(pa.string()))
        parsed = pc.cast(
            pc.strptime(text, format="%Y-%m-%d %H:%M:%S", unit="ns", error_is_null=True),
            pa.timestamp("ns"),
        )
        retry = pc.and_(pc.is_null(parsed), pc.is_valid(text))
        if pc.any(retry).as_py():  # ISO 8601 with 'T', dates alone, fractional seconds
            try:
                series = pd.to_datetime(
                    pd.Series(text.to_pylist()), errors="coerce", format="ISO8601"
                )
            except ValueError as err:  # pandas refuses offsets that differ within a column
                zoned = [v for v in text.to_pylist() if v and (v.endswith("Z") or "+" in v[10:])]
                raise DataError(
                    f"{path}, lines {first_line}-{first_line + len(values) - 1}: timestamps "
                    f"mix time zones (e.g. {', '.join(map(repr, zoned[:2]))}); write them all in "
                    f"one zone, e.g. UTC ({err})"
                ) from err
            if series.dt.tz is not None:
                series = series.dt.tz_convert("UTC").dt.tz_localize(None)
            parsed = pa.array(series.to_numpy(dtype="datetime64[ns]"), type=pa.timestamp("ns"))
    bad = pc.is_null(parsed)
    if pc.any(bad).as_py():
        i = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
        raise DataError(
            f"{path}, line {first_line + i}: cannot parse timestamp {values[i].as_py()!r}"
        )
    return parsed


def _check_ids(column: pa.Array, name: str, path: Path, first_line: int) -> None:
    nulls = pc.is_null(column)
    if pc.any(nulls).as_py():
        i = int(np.flatnonzero(nulls.to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{path}, line {first_line + i}: empty {name}")


def _instant(value) -> pa.Scalar:
    return pa.scalar(pd.Timestamp(value).as_unit("ns").value, pa.timestamp("ns"))


def _date_filter(times: pa.Array, start, end) -> pa.Array | None:
    mask = None
    if start is not None:
        mask = pc.greater_equal(times, _instant(start))
    if end is not None:
        upper = pc.less(times, _instant(end))
        mask = upper if mask is None else pc.and_(mask, upper)
    return mask


def _to_frame(batches: list[pa.RecordBatch]) -> pd.DataFrame:
    schema = pa.schema(
        [
            (USER, pa.dictionary(pa.int32(), pa.string())),
            (ITEM, pa.dictionary(pa.int32(), pa.string())),
            (TIME, pa.timestamp("ns")),
        ]
    )
    table = pa.Table.from_batches(batches, schema=schema).unify_dictionaries()
    return table.to_pandas()


def _normalise(
    batch: pa.RecordBatch, cols: dict[str, str], path: Path, first_line: int, start, end
):
    user = batch.column(cols["user"])
    item = batch.column(cols["item"])
    _check_ids(user, f"{cols['user']}", path, first_line)
    _check_ids(item, f"{cols['item']}", path, first_line)
    times = _parse_times(batch.column(cols["timestamp"]), path, first_line)
    arrays = [
        pc.dictionary_encode(user.cast(pa.string())),
        pc.dictionary_encode(item.cast(pa.string())),
        times,
    ]
    out = pa.RecordBatch.from_arrays(arrays, names=[USER, ITEM, TIME])
    mask = _date_filter(times, start, end)
    return out if mask is None else out.filter(mask)


def open_text(path: Path, threads: int):
    """What pyarrow reads: bz2 decompressed in parallel blocks (indexed_bzip2), else the path."""
    if path.suffix.lower() == ".bz2":
        import indexed_bzip2

        return indexed_bzip2.open(str(path), parallelization=max(1, threads))
    return str(path)


def _line_of(path: Path, message: str, threads: int) -> str:
    """'line N' of the row a pyarrow parse error quotes ("...: <row>"), found by scanning."""
    row = message.rsplit(": ", 1)[-1].strip()
    if not row:
        return ""
    source = open_text(path, threads)
    with source if not isinstance(source, str) else open(source, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if line.decode(errors="replace").rstrip("\r\n") == row:
                return f", line {number}"
    return ""


def raw_batches(
    path: str | Path,
    cols: dict[str, str],
    separator: str | None = None,
    threads: int = 1,
) -> Iterator[tuple[pa.RecordBatch, int]]:
    """(record batch as stored, its first line in the file), in file order.

    `cols` maps user/item/timestamp to the file's column names; CSV and TSV
    columns come as strings. bz2 logs are decompressed with `threads` threads
    (indexed_bzip2); CSV, TSV and Parquet are read block by block, so memory
    holds one block.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: listening log not found")
    if _is_parquet(path):
        pf = pq.ParquetFile(path)
        _check_columns(path, pf.schema_arrow.names, cols)
        batches = pf.iter_batches(columns=list(cols.values()), batch_size=1 << 20)
        line = 1
    else:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the listening log is empty (0 bytes); download it again")
        sep = _separator(path, separator)
        source = open_text(path, threads)
        try:
            batches = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=sep),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in cols.values()},
                    include_columns=None,
                    strings_can_be_null=True,
                ),
            )
        except pa.ArrowInvalid as err:
            what = "tab" if sep == chr(9) else repr(sep)
            raise DataError(
                f"{path}{_line_of(path, str(err), threads)}: cannot read as a {what}-separated "
                f"table with a header line: {err}; check dataset.separator and that line"
            ) from err
        _check_columns(path, batches.schema.names, cols)
        line = 2  # line 1 is the header
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except pa.ArrowInvalid as err:
            where = _line_of(path, str(err), threads) or f", after line {line}"
            raise DataError(f"{path}{where}: malformed row: {err}") from err
        yield batch, line
        line += batch.num_rows


def log_columns(columns: dict[str, str] | None) -> dict[str, str]:
    """The file's column name for user, item and timestamp (defaults: Onion's)."""
    return {"user": USER, "item": ITEM, "timestamp": TIME, **(columns or {})}


def iter_log(
    path: str | Path,
    columns: dict[str, str] | None = None,
    start: str | dt.datetime | None = None,
    end: str | dt.datetime | None = None,
    separator: str | None = None,
    threads: int = 1,
) -> Iterator[pa.RecordBatch]:
    """Record batches of (user_id, track_id, timestamp), validated, in file order."""
    path = Path(path)
    cols = log_columns(columns)
    for batch, line in raw_batches(path, cols, separator, threads):
        yield _normalise(batch, cols, path, line, start, end)


def read_log(
    path: str | Path,
    columns: dict[str, str] | None = None,
    start: str | dt.datetime | None = None,
    end: str | dt.datetime | None = None,
    separator: str | None = None,
) -> pd.DataFrame:
    """Events as (user_id, track_id, timestamp), ids categorical, rows in file order.

    `columns` maps user/item/timestamp to the file's own column names;
    only events with start <= timestamp < end are kept.
    """
    return _to_frame(list(iter_log(path, columns, start, end, separator)))


def read_id_list(path: str | Path, column: str | None = None) -> list[str]:
    """Track ids from a table: `column` if given, else `id`, `trackid`, `track_id` or the first."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    sep = _separator(path, None)
    if path.suffix == ".csv":  # Music4All's id_information.csv is tab-separated despite its name
        with open(path) as fh:
            header = fh.readline()
        sep = "\t" if "\t" in header else ","
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    names = [column] if column else ["id", "trackid", "track_id"]
    chosen = next((c for c in names if c in frame.columns), None)
    if chosen is None:
        if column:
            raise DataError(
                f"{path}: missing column {column!r} (found: {', '.join(frame.columns)})"
            )
        chosen = frame.columns[0]
    ids = frame[chosen].str.strip()
    empty = np.flatnonzero((ids == "").to_numpy())
    if empty.size:
        raise DataError(f"{path}, line {int(empty[0]) + 2}: empty track id")
    return ids.tolist()


def build_catalogue(
    root: str | Path,
    audio_dir: str | None,
    audio_ext: str,
    id_information: str | None,
    track_list: str | None,
    listened: set[str] | None = None,
) -> pd.DataFrame:
    """Tracks to embed and where their audio lives: (track_id, path), sorted by id.

    Ids come from id_information (Music4All layout) or, without it, from the
    audio folder; `track_list` restricts them (e.g. the study's 56,512 ids).
    `listened` (the log's distinct tracks) drops tracks nobody heard. A listed
    track without audio is kept: the resample job records it as a failure.
    Without an audio folder (every backbone precomputed) ids come from
    id_information, the track list or the log, and paths are empty.
    """
    root = Path(root)
    audio_root = root / audio_dir if audio_dir else None
    ext = audio_ext.lstrip(".")
    if id_information:
        ids = read_id_list(root / id_information)
    elif audio_root is None:
        if listened is None and not track_list:
            raise DataError(
                "without dataset.audio_dir the catalogue needs dataset.id_information, "
                "dataset.track_list or dataset.only_listened"
            )
        ids = (
            sorted(listened)
            if listened is not None
            else read_id_list(track_list if Path(track_list).is_absolute() else root / track_list)
        )
    else:
        if not audio_root.is_dir():
            raise DataError(f"{audio_root}: audio folder not found")
        ids = [p.stem for p in audio_root.glob(f"*.{ext}")]
    if track_list:
        keep = set(
            read_id_list(track_list if Path(track_list).is_absolute() else root / track_list)
        )
        ids = [t for t in ids if t in keep]
    if listened is not None:
        ids = [t for t in ids if t in listened]
    dup = pd.Index(ids)[pd.Index(ids).duplicated()]
    if len(dup):
        raise DataError(f"track ids listed twice: {', '.join(map(str, dup[:5]))}")
    ids = sorted(ids)
    paths = [str(audio_root / f"{t}.{ext}") if audio_root else "" for t in ids]
    return pd.DataFrame(
        {"track_id": pd.Series(ids, dtype=str), "path": pd.Series(paths, dtype=str)}
    )


def known_tracks(
    events: pd.DataFrame, catalogue_ids, policy: str, source: str
) -> tuple[pd.DataFrame, dict]:
    """Keep events of catalogue tracks; `policy` 'error' refuses any other."""
    col = events["track_id"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        known_cat = col.cat.categories.isin(pd.Index(catalogue_ids))
        codes = col.cat.codes.to_numpy()
        known = np.where(codes >= 0, known_cat[codes], False)
    else:
        known = col.isin(pd.Index(catalogue_ids)).to_numpy()
    unknown_ids = pd.unique(col[~known].astype(str))
    info = {"events": int((~known).sum()), "tracks": len(unknown_ids)}
    if info["events"]:
        examples = ", ".join(map(str, unknown_ids[:5]))
        if policy == "error":
            raise DataError(
                f"{source}: {info['events']} events of {info['tracks']} tracks not in the catalogue "
                f"(e.g. {examples}); set dataset.unknown_tracks: drop to skip them"
            )
        log.warning(
            "%s: dropped %d events of %d tracks not in the catalogue (e.g. %s)",
            source,
            info["events"],
            info["tracks"],
            examples,
        )
        events = events[known]
    return events, info
