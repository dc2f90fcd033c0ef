"""GiantSteps Key (Knees et al. 2015; the revised "+" release, CC BY-SA 4.0): 24-key estimation.

The Zenodo record mirdata fetches (``audio.zip``: 2-minute Beatport previews,
``<id>.LOFI.mp3``; ``keys.zip``: one ``<id>.LOFI.key`` per clip holding e.g.
``"Eb minor"``), found by name wherever the archives put them. MARBLE trains
on the separate GiantSteps-MTG-Key set, whose audio is not archived; here the
604 clips are split 60/20/20 by a hash of the clip id (a named departure:
the figures are not comparable with MARBLE's). Clips whose key file names no
single major or minor key (an ambiguous or modal annotation) are left out,
counted in the log.
"""

from __future__ import annotations

import logging

import pandas as pd

from audiorec.probes import published
from audiorec.probes.base import ProbeDataError, ProbeTask, Remote, normalise_key, stable_split

log = logging.getLogger(__name__)
RECORD = "https://zenodo.org/record/1095691/files"


class GiantStepsKey(ProbeTask):
    KIND = "key"
    MAIN_METRIC = "weighted_score"
    REPORTED = published.figures(mert_330m=65.6, musicfm_msd=63.9)
    REMOTES = {
        "audio.zip": Remote(f"{RECORD}/audio.zip?download=1", md5="8ec9ade888d5a88ce435d7fda031929b", unpack=True),
        "keys.zip": Remote(f"{RECORD}/keys.zip?download=1", md5="775b7d17e009f5818544cf505b6a96fd", unpack=True),
    }  # fmt: skip

    def clips(self) -> pd.DataFrame:
        keys = sorted(self.root.rglob("*.LOFI.key"))
        if not keys:
            raise ProbeDataError(f"{self.root}: no <id>.LOFI.key annotation (keys.zip unpacked?)")
        audio = {p.name[: -len(".LOFI.mp3")]: p for p in self.root.rglob("*.LOFI.mp3")}
        rows, skipped = [], 0
        for path in keys:
            clip = path.name[: -len(".LOFI.key")]
            text = path.read_text(errors="replace").strip()
            try:
                key = normalise_key(text.splitlines()[0] if text else "", str(path))
            except ProbeDataError:
                skipped += 1
                continue
            where = audio.get(clip, path.parent / f"{clip}.LOFI.mp3")
            rows.append((clip, str(where), key))
        if skipped:
            log.info(
                "%s: %d clips without a single major or minor key left out", self.root, skipped
            )
        frame = pd.DataFrame(rows, columns=["track_id", "path", "label"])
        frame.insert(2, "split", stable_split(frame["track_id"], salt="giantsteps_key"))
        return frame


PROBE = GiantStepsKey
