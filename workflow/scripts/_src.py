"""What every job wrapper needs first: this checkout's src/ on the path, and plain params.

Snakemake appends its own sys.path to a script's, after the virtual
environment's entries, so an editable install of another checkout would
otherwise win; src/ goes first, and the import is checked. Per-backbone conda
envs do not install audiorec at all.
"""

import sys
from collections.abc import Mapping
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
while SRC in sys.path:
    sys.path.remove(SRC)
sys.path.insert(0, SRC)

import audiorec  # noqa: E402

if not Path(audiorec.__file__).resolve().is_relative_to(SRC):
    raise ImportError(f"audiorec was imported from {audiorec.__file__}, not from {SRC}")


def to_plain(obj):
    """Snakemake hands params over as its own mapping types; make them plain."""
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj
