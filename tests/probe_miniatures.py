"""Miniatures of each probe dataset in its published layout, and archives as published.

Each builder writes a few clips of short real-valued audio (a tone whose pitch
or colour follows the clip's label, so a probe has something to find) and the
label and split files in the dataset's own format: GTZAN's archive of
``genres/<genre>/<genre>.000NN.au`` with the fault-filtered list files (lines
as published), MagnaTagATune's ``annotations_final.csv`` (tab-separated,
``clip_id``, tag columns, ``mp3_path``) with its zip in three parts and the
split as Python 2 pickles, GiantSteps Key's ``audio.zip`` and ``keys.zip``
(``<id>.LOFI.mp3``, ``<id>.LOFI.key``), EmoMusic's annotation CSVs and clips.
``ARCHIVED`` builders return the files as the task fetches them (archives
unpacked by the task's own job); the rest write the folder in place.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

from audiorec.probes.base import KEYS

SR = 16000
GENRES = ["blues", "classical", "country", "disco", "jazz"]
TAGS = ["guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock"]


def tone(freq: float, seconds: float = 4.0, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(t.size)).astype(
        np.float32
    )


def _encoded(y: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, SR, format=fmt)
    return buf.getvalue()


def gtzan(root: Path, per_genre: int = 12) -> dict[str, bytes]:
    """genres.tar.gz and the three list files, as the task fetches them."""
    tar_buf = io.BytesIO()
    lists = {"train": [], "valid": [], "test": []}
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tar:
        for g, genre in enumerate(GENRES):
            for i in range(per_genre):
                name = f"{genre}.{i:05d}"
                data = _encoded(tone(200 * (g + 1), seed=i), "AU")
                info = tarfile.TarInfo(f"genres/{genre}/{name}.au")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                part = (
                    "train" if i < per_genre // 2 else "valid" if i < 3 * per_genre // 4 else "test"
                )
                lists[part].append(f"{genre}/{name}.wav")
    files = {"genres.tar.gz": tar_buf.getvalue()}
    for part, lines in lists.items():
        files[f"{part}_filtered.txt"] = ("\n".join(lines) + "\n").encode()
    return files


def magnatagatune(root: Path, clips: int = 48) -> dict[str, bytes]:
    """The zip in three parts, annotations_final.csv, the pickled split and top-50 file."""
    rng = np.random.default_rng(1)
    zip_buf = io.BytesIO()
    rows, lists = [], {"train": [], "valid": [], "test": []}
    with zipfile.ZipFile(zip_buf, "w") as z:
        for i in range(clips):
            folder = "0123456789abcdef"[i % 16]
            path = f"{folder}/artist_{i}-album-01-song-{i * 29}-{i * 29 + 29}.mp3"
            on = rng.random(len(TAGS)) < 0.3
            on[i % len(TAGS)] = True  # every clip has a tag, as the split's clips do
            freq = 150 + 90 * int(np.flatnonzero(on)[0])
            z.writestr(path, _encoded(tone(freq, seed=i), "MP3"))
            rows.append((str(i), on, path))
            part = "train" if folder in "0123456789ab" else "valid" if folder == "c" else "test"
            lists[part].append(path[:-4] + ".npy")
    header = ["clip_id", *TAGS, "no voice", "mp3_path"]
    lines = ["\t".join(f'"{h}"' for h in header)]
    for clip_id, on, path in rows:
        values = [f'"{int(v)}"' for v in on] + ['"0"']
        lines.append("\t".join([f'"{clip_id}"', *values, f'"{path}"']))
    data = zip_buf.getvalue()
    third = len(data) // 3 + 1
    files = {f"mp3.zip.00{k + 1}": data[k * third : (k + 1) * third] for k in range(3)}
    files["annotations_final.csv"] = ("\n".join(lines) + "\n").encode()
    for part, items in lists.items():
        files[f"{part}_list_pub.cP"] = pickle.dumps(items, protocol=2)
    files["top50_tags.txt"] = ("\n".join(TAGS) + "\n").encode()
    return files


def giantsteps_key(root: Path, clips: int = 40) -> dict[str, bytes]:
    """audio.zip and keys.zip: <id>.LOFI.mp3 and <id>.LOFI.key (one of them ambiguous)."""
    audio, keys = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(audio, "w") as za, zipfile.ZipFile(keys, "w") as zk:
        for i in range(clips):
            clip = str(100000 + i)
            key = KEYS[i % 4]
            za.writestr(f"audio/{clip}.LOFI.mp3", _encoded(tone(220 + 40 * (i % 4), seed=i), "MP3"))
            text = "C major F minor" if i == clips - 1 else key.replace("Db", "C#")
            zk.writestr(f"annotations/key/{clip}.LOFI.key", text if i != 0 else "-")
    return {"audio.zip": audio.getvalue(), "keys.zip": keys.getvalue()}


def emomusic(root: Path, songs: int = 40) -> None:
    """annotations/songs_info.csv, annotations/static_annotations.csv, clips_45seconds/."""
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "clips_45seconds").mkdir(exist_ok=True)
    info = ["song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),Genre,Mediaeval 2013 set"]  # fmt: skip
    static = ["song_id, mean_arousal, std_arousal, mean_valence, std_valence"]
    for i in range(1, songs + 1):
        arousal = 1 + 8 * (i % 5) / 4
        sf.write(root / "clips_45seconds" / f"{i}.mp3", tone(150 + 50 * (i % 5), seed=i), SR)
        part = "evaluation" if i % 4 == 0 else "development"
        info.append(f"{i},{i}.mp3,Artist {i},Song {i},0.00,0.45,Rock,{part}")
        static.append(f"{i}, {arousal:.2f}, 0.9, {10 - arousal:.2f}, 0.8")
    (root / "annotations" / "songs_info.csv").write_text("\n".join(info) + "\n")
    (root / "annotations" / "static_annotations.csv").write_text("\n".join(static) + "\n")


ARCHIVED = {"gtzan": gtzan, "magnatagatune": magnatagatune, "giantsteps_key": giantsteps_key}


def place(task: str, root: Path) -> Path:
    """The task's folder as its download job leaves it (fetched files, archives not unpacked)."""
    root.mkdir(parents=True, exist_ok=True)
    if task in ARCHIVED:
        for name, data in ARCHIVED[task](root).items():
            (root / name).write_bytes(data)
    elif task == "emomusic":
        emomusic(root)
    return root
