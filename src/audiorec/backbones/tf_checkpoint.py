"""Read TensorFlow (V2 "tensor bundle") checkpoints without TensorFlow.

A checkpoint is ``<prefix>.index``, a LevelDB-style sorted table mapping each
variable name to a ``BundleEntryProto`` (dtype, shape, shard, offset, size),
and ``<prefix>.data-0000i-of-0000n`` holding the raw little-endian tensors.
This reader decodes the table format (footer, index block, prefix-compressed
data blocks) and the few protobuf fields it needs, which is enough for the
uncompressed float checkpoints that musicnn ships.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_, 19: np.float16}


class CheckpointError(ValueError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _block_entries(buf: bytes) -> list[tuple[bytes, bytes]]:
    """Key-value pairs of one table block (keys are prefix-compressed)."""
    n_restarts = struct.unpack_from("<I", buf, len(buf) - 4)[0]
    end = len(buf) - 4 - 4 * n_restarts
    pos, key, out = 0, b"", []
    while pos < end:
        shared, pos = _varint(buf, pos)
        unshared, pos = _varint(buf, pos)
        size, pos = _varint(buf, pos)
        key = key[:shared] + buf[pos : pos + unshared]
        pos += unshared
        out.append((key, buf[pos : pos + size]))
        pos += size
    return out


def _read_block(data: bytes, handle: bytes, path: Path) -> bytes:
    offset, pos = _varint(handle, 0)
    size, _ = _varint(handle, pos)
    if data[offset + size] != 0:  # trailer byte: compression type
        raise CheckpointError(f"{path}: compressed table blocks are not supported")
    return data[offset : offset + size]


def _fields(msg: bytes) -> dict[int, list]:
    """Minimal protobuf decoding: field number -> values (varints, fixed32 or bytes)."""
    out: dict[int, list] = {}
    pos = 0
    while pos < len(msg):
        tag, pos = _varint(msg, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(msg, pos)
        elif wire == 2:
            n, pos = _varint(msg, pos)
            value, pos = msg[pos : pos + n], pos + n
        elif wire == 5:
            value, pos = msg[pos : pos + 4], pos + 4
        elif wire == 1:
            value, pos = msg[pos : pos + 8], pos + 8
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        out.setdefault(field, []).append(value)
    return out


def _shape(msg: bytes) -> tuple[int, ...]:
    dims = _fields(msg).get(2, [])
    return tuple(_fields(d).get(1, [0])[0] for d in dims)


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every variable of the checkpoint at `prefix` (the path without .index)."""
    prefix = str(prefix)
    index_path = Path(prefix + ".index")
    if not index_path.exists():
        raise CheckpointError(f"{index_path}: checkpoint index not found")
    data = index_path.read_bytes()
    if len(data) < FOOTER_BYTES or struct.unpack_from("<Q", data, len(data) - 8)[0] != MAGIC:
        raise CheckpointError(f"{index_path}: not a TensorFlow checkpoint index")
    footer = data[-FOOTER_BYTES:]
    _, pos = _varint(footer, 0)  # metaindex handle: offset, size
    _, pos = _varint(footer, pos)
    index_handle = footer[pos:]
    entries: dict[str, bytes] = {}
    header = b""
    for _, handle in _block_entries(_read_block(data, index_handle, index_path)):
        for key, value in _block_entries(_read_block(data, handle, index_path)):
            if key:
                entries[key.decode()] = value
            else:  # the empty key holds the bundle header
                header = value
    n_shards = _fields(header).get(1, [1])[0]
    shards: dict[int, bytes] = {}
    tensors = {}
    for name, raw in entries.items():
        f = _fields(raw)
        dtype = DTYPES.get(f.get(1, [0])[0])
        if dtype is None:
            continue  # strings and other non-numeric entries are not weights
        shard = f.get(3, [0])[0]
        if shard not in shards:
            shard_path = Path(f"{prefix}.data-{shard:05d}-of-{n_shards:05d}")
            if not shard_path.exists():
                raise CheckpointError(f"{shard_path}: checkpoint data shard not found")
            shards[shard] = shard_path.read_bytes()
        offset, size = f.get(4, [0])[0], f.get(5, [0])[0]
        shape = _shape(f[2][0]) if 2 in f else ()
        dt = np.dtype(dtype).newbyteorder("<")
        array = np.frombuffer(shards[shard], dtype=dt, count=size // dt.itemsize, offset=offset)
        tensors[name] = array.reshape(shape).copy()
    return tensors
