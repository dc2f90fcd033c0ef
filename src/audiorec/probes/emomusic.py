"""EmoMusic (Soleymani et al. 2013, "1000 songs"): static arousal and valence regression.

The published folder as its authors share it (no public download the workflow
could check): ``annotations/songs_info.csv`` (``song_id`` and the MediaEval
2013 set, development or evaluation), ``annotations/static_annotations.csv``
(``song_id``, ``mean_arousal``, ``mean_valence`` on a 1-9 scale) and
``clips_45seconds/<song_id>.mp3``. The evaluation set is the test part; the
development set is split 85/15 into train and validation by a hash of the
song id (MARBLE follows Jukemir's fixed split, which is not published as a
file; a named departure).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audiorec.probes import published
from audiorec.probes.base import ProbeDataError, ProbeTask, stable_split

TARGETS = ("arousal", "valence")


def _read(path) -> pd.DataFrame:
    if not path.exists():
        raise ProbeDataError(f"{path}: missing (EmoMusic's annotations folder)")
    frame = pd.read_csv(path, skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    return frame


class EmoMusic(ProbeTask):
    KIND = "regression"
    MAIN_METRIC = "R2"
    #: the mean of the published valence and arousal R²
    REPORTED = published.figures(mert_330m=(61.2 + 74.7) / 2, musicfm_msd=(60.3 + 76.3) / 2)
    FILES = ("annotations/songs_info.csv", "annotations/static_annotations.csv")

    def vocabulary(self, clips: pd.DataFrame) -> list[str]:
        return list(TARGETS)

    def clips(self) -> pd.DataFrame:
        info = _read(self.root / "annotations" / "songs_info.csv")
        static = _read(self.root / "annotations" / "static_annotations.csv")
        need = {"song_id", "mean_arousal", "mean_valence"} - set(static.columns)
        if need:
            raise ProbeDataError(
                f"{self.root / 'annotations' / 'static_annotations.csv'}: no column {sorted(need)[0]!r}"
            )
        part = next((c for c in info.columns if "Mediaeval" in c or "set" in c.lower()), None)
        if part is None or "song_id" not in info.columns:
            raise ProbeDataError(
                f"{self.root / 'annotations' / 'songs_info.csv'}: no song_id or MediaEval set column"
            )
        frame = static.merge(info[["song_id", part]], on="song_id", how="left")
        unknown = frame[~frame[part].astype(str).str.strip().isin(["development", "evaluation"])]
        if len(unknown):
            raise ProbeDataError(
                f"songs_info.csv: song {unknown['song_id'].iloc[0]} has no development/evaluation set"
            )
        ids = frame["song_id"].astype(str)
        split = np.where(frame[part].str.strip() == "evaluation", "test",
                         stable_split(ids, (0.85, 0.15, 0.0), salt="emomusic"))  # fmt: skip
        return pd.DataFrame(
            {
                "track_id": ids,
                "path": [str(self.root / "clips_45seconds" / f"{i}.mp3") for i in ids],
                "split": split,
                "arousal": frame["mean_arousal"].astype(float),
                "valence": frame["mean_valence"].astype(float),
            }
        )


PROBE = EmoMusic
