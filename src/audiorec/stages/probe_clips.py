"""Job: a probe task's clips, split and labels, checked, as one Parquet table.

Archives the task downloaded are unpacked first (once). The table is what
the task's resample and extract jobs read (``track_id``, ``path``) and what
its probe jobs read (``split`` and the labels). Refused with the file named:
a label outside the task's vocabulary, a split part with no clip, a track
listed twice.
"""

from __future__ import annotations

import logging

from audiorec import probes
from audiorec.probes.base import SPLITS, ProbeDataError
from audiorec.probes.unpack import unpack

log = logging.getLogger(__name__)


def run(name: str, spec: dict, root: str, output: str) -> None:
    cls = probes.get(spec["type"])
    unpack(root, [f for f, r in cls.REMOTES.items() if r.unpack])
    task = cls(spec.get("params", {}), root)
    clips = task.clips()
    missing = {"track_id", "path", "split"} - set(clips.columns)
    if missing:
        raise ProbeDataError(f"{name}: the task's table lacks {', '.join(sorted(missing))}")
    twice = clips["track_id"][clips["track_id"].duplicated()]
    if len(twice):
        raise ProbeDataError(f"{task.source()}: clip {twice.iloc[0]!r} listed twice")
    empty = [s for s in SPLITS if not (clips["split"] == s).any()]
    if empty:
        raise ProbeDataError(f"{task.source()}: no clip in the {empty[0]} part")
    vocabulary = task.vocabulary(clips)
    task.targets(clips, vocabulary)  # refuses a label outside the vocabulary, naming it
    clips.to_parquet(output, index=False)
    counts = clips["split"].value_counts().reindex(SPLITS).to_dict()
    log.info("%s: %d clips %s, %d labels", name, len(clips), counts, len(vocabulary))
