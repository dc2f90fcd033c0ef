import numpy as np
import pytest
import soundfile as sf

from audiorec.audio.cache import iter_shard, shard_sample_rate, write_shard
from audiorec.audio.decode import AudioError, decode
from audiorec.stages.resample import run as resample_run


def _tone(sr=22050, seconds=1.0, channels=1):
    t = np.arange(int(sr * seconds)) / sr
    y = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([y, -y * 0.5], axis=1)[:, :channels] if channels > 1 else y


def test_decode_resamples_and_mixes_to_mono(tmp_path):
    p = tmp_path / "s.flac"
    sf.write(p, _tone(44100, 2.0, channels=2), 44100)
    y = decode(p, 16000)
    assert y.dtype == np.float32 and y.shape == (32000,)
    assert abs(np.abs(y).max() - 0.125) < 0.005  # channels y and -y/2 average to y/4


def test_decode_offset_and_max_seconds(tmp_path):
    p = tmp_path / "s.wav"
    sf.write(p, _tone(16000, 3.0), 16000)
    assert decode(p, 16000, offset_seconds=1.0, max_seconds=1.5).shape == (24000,)
    with pytest.raises(AudioError, match="past the end"):
        decode(p, 16000, offset_seconds=5.0)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "file not found"),
        (b"", "empty file"),
        (b"ID3" + bytes(range(256)) * 8, "cannot decode"),
    ],
)
def test_unusable_files_raise_with_a_reason(tmp_path, content, reason):
    p = tmp_path / "bad.mp3"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(AudioError, match=reason):
        decode(p, 16000)


def test_cache_round_trip_is_lossless_to_24_bits(tmp_path, rng):
    tracks = [("a", rng.uniform(-1, 1, 16000).astype(np.float32)), ("b", np.zeros(10, np.float32))]
    p = tmp_path / "shard.parquet"
    write_shard(p, 16000, tracks)
    back = dict(iter_shard(p))
    assert shard_sample_rate(p) == 16000
    for tid, y in tracks:
        assert back[tid].shape == y.shape
        assert np.abs(back[tid] - y).max() < 2**-23
    write_shard(tmp_path / "c.parquet", 8000, [("c", np.array([1.5, -2.0], np.float32))])
    clipped = dict(iter_shard(tmp_path / "c.parquet"))["c"]
    assert clipped[0] > 0.99 and clipped[1] == -1.0  # overshoot is clipped, never wrapped


def test_resample_job_records_bad_files_and_keeps_the_rest(tmp_path):
    import pandas as pd

    good = tmp_path / "good.ogg"
    sf.write(good, _tone(22050, 1.0), 22050, format="OGG", subtype="VORBIS")
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    cat = pd.DataFrame(
        {
            "track_id": ["good", "empty", "gone"],
            "path": [str(good), str(empty), str(tmp_path / "gone.mp3")],
        }
    )
    cat.to_parquet(tmp_path / "cat.parquet")
    resample_run(
        str(tmp_path / "cat.parquet"),
        str(tmp_path / "out.parquet"),
        str(tmp_path / "f.tsv"),
        16000,
        0,
        1,
    )
    assert [t for t, _ in iter_shard(tmp_path / "out.parquet")] == ["good"]
    fails = pd.read_csv(tmp_path / "f.tsv", sep="\t").set_index("track_id")
    assert "empty file" in fails.loc["empty", "reason"]
    assert "file not found" in fails.loc["gone", "reason"]


def test_real_music_decodes(music_files):
    y = decode(music_files[0], 16000, max_seconds=5)
    assert y.shape == (80000,) and np.abs(y).max() > 0.01
