"""MagnaTagATune (Law et al. 2009): auto-tagging with its 50 most frequent tags.

The published files (``annotations_final.csv``: tab-separated, ``clip_id``, the
188 tag columns and ``mp3_path``; the audio in ``mp3.zip.001``-``003``, one zip
in three parts) and the split most tagging papers use (Jongpil Lee's lists,
MIT licence, pinned commit: 15,244 train, 1,529 validation and 4,332 test
clips of the 50 tags, each clip with at least one of them and at least 29.1 s
of audio) with its ``top50_tags.txt``. The host publishes no checksums for the
MTAT files themselves: their downloads are logged as not verified; the split
lists are checked against their MD5s. The lists are Python 2 pickles of path
strings, read by an unpickler that refuses anything but strings and lists.
"""

from __future__ import annotations

import io
import pickle

import pandas as pd

from audiorec.probes import published
from audiorec.probes.base import SPLITS, ProbeDataError, ProbeTask, Remote

HOST = "https://mirg.city.ac.uk/datasets/magnatagatune"
LISTS = "https://raw.githubusercontent.com/jongpillee/music_dataset_split/07e855758f180ac8bdc0e3abebbde19277094681/MTAT_split"
LIST_FILES = {  # split -> (file, size, md5)
    "train": ("train_list_pub.cP", 1208643, "bf303a7b8f2c1574292d2d96eccccbf3"),
    "valid": ("valid_list_pub.cP", 122390, "35616c4bce37fe8d216c2d42c0819d66"),
    "test": ("test_list_pub.cP", 353102, "ebd9def4520503b7265e9cc1f152b4b1"),
}
TOP50 = ("top50_tags.txt", 347, "9ae510de5e87716523a701abb88a8497")


class _Strings(pickle.Unpickler):
    """Lists and strings only: a pickle naming any class or function is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refused: the list names {module}.{name}")


def read_list(path) -> list[str]:
    try:
        items = _Strings(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ProbeDataError(f"{path}: not a pickled list of clip paths ({err})") from err
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ProbeDataError(f"{path}: not a pickled list of clip paths")
    return items


class MagnaTagATune(ProbeTask):
    KIND = "multilabel"
    MAIN_METRIC = "ROC-AUC"
    REPORTED = published.figures(mert_330m=91.3, musicfm_msd=91.3)
    REMOTES = {
        **{f"mp3.zip.00{i}": Remote(f"{HOST}/mp3.zip.00{i}", unpack=True) for i in (1, 2, 3)},
        "annotations_final.csv": Remote(f"{HOST}/annotations_final.csv"),
        **{f: Remote(f"{LISTS}/{f}", md5=m, size=n) for f, n, m in (*LIST_FILES.values(), TOP50)},
    }

    def _tags(self) -> list[str]:
        path = self.root / TOP50[0]
        if not path.exists():
            raise ProbeDataError(f"{path}: missing (the 50 tags of the split)")
        return [t.strip() for t in path.read_text().splitlines() if t.strip()]

    def vocabulary(self, clips: pd.DataFrame) -> list[str]:
        return self._tags()

    def clips(self) -> pd.DataFrame:
        tags = self._tags()
        annotations = self.root / "annotations_final.csv"
        if not annotations.exists():
            raise ProbeDataError(f"{annotations}: missing (MagnaTagATune's tag table)")
        table = pd.read_csv(annotations, sep="\t", dtype=str)
        missing = [c for c in ("clip_id", "mp3_path", *tags) if c not in table.columns]
        if missing:
            raise ProbeDataError(f"{annotations}: no column {missing[0]!r} (a tag of {TOP50[0]}?)")
        table = table.set_index("mp3_path")
        rows = []
        for split in SPLITS:
            path = self.root / LIST_FILES[split][0]
            if not path.exists():
                raise ProbeDataError(f"{path}: missing (the {split} part of the split)")
            for item in read_list(path):
                mp3 = item.rsplit(".", 1)[0] + ".mp3"
                if mp3 not in table.index:
                    raise ProbeDataError(f"{path}: clip {mp3!r} is not in {annotations}")
                row = table.loc[mp3]
                on = [t for t in tags if str(row[t]).strip() == "1"]
                rows.append((row["clip_id"], str(self.root / mp3), split, "|".join(on)))
        return pd.DataFrame(rows, columns=["track_id", "path", "split", "tags"])


PROBE = MagnaTagATune
