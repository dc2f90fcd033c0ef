import hashlib

import numpy as np
import pandas as pd

from audiorec.data.readers import build_catalogue, read_log
from audiorec.data.synthetic import generate, make_styles, synthesize

SMALL = {
    "n_tracks": 30,
    "n_users": 20,
    "n_styles": 3,
    "clip_seconds": 1.0,
    "sample_rate": 16000,
    "months": 3,
    "audio_format": "flac",
}


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_dataset(tmp_path):
    generate(tmp_path / "a", seed=3, threads=2, **SMALL)
    generate(tmp_path / "b", seed=3, threads=1, **SMALL)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_dataset_is_readable_as_music4all_onion(tmp_path):
    stats = generate(tmp_path, seed=1, corrupt_tracks=2, **SMALL)
    log = read_log(tmp_path / "userid_trackid_timestamp.tsv")
    cat = build_catalogue(tmp_path, "audios", "flac", "id_information.csv", None)
    assert len(cat) == 30 and len(log) == stats["events"] > 0
    assert set(log["track_id"].astype(str)) <= set(cat["track_id"])
    truth = pd.read_csv(tmp_path / "synthetic_truth.tsv", sep="\t")
    broken = truth.loc[truth["broken"], "track_id"]
    sizes = sorted((tmp_path / "audios" / f"{t}.flac").stat().st_size for t in broken)
    assert sizes[0] == 0 and sizes[1] > 0  # one empty file, one of garbage bytes


def test_styles_are_audible_to_mfcc(rng):
    """Cosine nearest neighbours by MFCC statistics (what KNN uses) share their style: the audio carries the style."""
    from audiorec import backbones

    styles = make_styles(4, rng)
    mfcc = backbones.get("mfcc")({"sample_rate": 16000})
    labels = np.repeat(np.arange(4), 6)
    v = mfcc.embed(
        [synthesize(styles[s], 2.0, 16000, np.random.default_rng(i)) for i, s in enumerate(labels)]
    )
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    cos = v @ v.T
    np.fill_diagonal(cos, -np.inf)
    purity = (labels[cos.argmax(1)] == labels).mean()
    assert purity > 0.8  # chance is 0.25
