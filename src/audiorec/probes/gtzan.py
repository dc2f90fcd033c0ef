"""GTZAN genre (Tzanetakis & Cook 2002): 10 genres, 30-s clips, the fault-filtered split.

The archive (``genres.tar.gz``, as mirdata fetches it: ``genres/<genre>/<genre>.000NN.au``)
and the fault-filtered split of Kereliuk et al. (2015), which keeps an artist's
clips in one part and leaves out GTZAN's repeated and mislabelled clips: 443
train, 197 validation, 290 test clips (Jongpil Lee's lists, MIT licence,
pinned commit), as MARBLE and most probing work use it. A clip listed in the
split without audio is kept: its decoding fails and is recorded, as any
unreadable file is.
"""

from __future__ import annotations

import pandas as pd

from audiorec.probes import published
from audiorec.probes.base import SPLITS, ProbeDataError, ProbeTask, Remote

LISTS = "https://raw.githubusercontent.com/jongpillee/music_dataset_split/07e855758f180ac8bdc0e3abebbde19277094681/GTZAN_split"
LIST_FILES = {  # split -> (file, size, md5)
    "train": ("train_filtered.txt", 10152, "d55795dd4bc006e94d1c1b092bfe9da3"),
    "valid": ("valid_filtered.txt", 4522, "bf8b8540ab13630c984d6331b3102191"),
    "test": ("test_filtered.txt", 6616, "6dbab6aabd0c49a20bc3b6df10986454"),
}


class GTZAN(ProbeTask):
    KIND = "multiclass"
    MAIN_METRIC = "accuracy"
    REPORTED = published.figures(mert_330m=78.6, musicfm_msd=83.8)
    REMOTES = {
        "genres.tar.gz": Remote(
            "http://opihi.cs.uvic.ca/sound/genres.tar.gz",
            md5="5b3d6dddb579ab49814ab86dba69e7c7",
            unpack=True,
        ),
        **{f: Remote(f"{LISTS}/{f}", md5=m, size=n) for f, n, m in LIST_FILES.values()},
    }

    def clips(self) -> pd.DataFrame:
        audio = {p.stem: p for p in (self.root / "genres").glob("*/*.*") if p.suffix != ".mf"}
        rows = []
        for split in SPLITS:
            path = self.root / LIST_FILES[split][0]
            if not path.exists():
                raise ProbeDataError(
                    f"{path}: missing (the {split} part of the fault-filtered split)"
                )
            for line_no, line in enumerate(path.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                genre, _, name = line.strip().partition("/")
                stem = name.rsplit(".", 1)[0]
                if not name or not stem.startswith(f"{genre}."):
                    raise ProbeDataError(
                        f"{path}, line {line_no}: {line!r} is not <genre>/<genre>.NNNNN.wav"
                    )
                where = audio.get(stem, self.root / "genres" / genre / f"{stem}.au")
                rows.append((stem, str(where), split, genre))
        return pd.DataFrame(rows, columns=["track_id", "path", "split", "label"])


PROBE = GTZAN
