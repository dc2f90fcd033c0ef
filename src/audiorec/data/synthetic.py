"""A deterministic synthetic dataset in Music4All-Onion's on-disk layout.

Tracks are synthesised from a few latent *styles*; each style fixes a tempo,
a register (pitch range), a timbre (harmonic roll-off, odd/even balance, note
decay), a drum pattern and a noise floor, and each track jitters around its
style. Users prefer one or two styles (Dirichlet preferences) and listen in
sessions over several months: a session picks a style from the user's taste,
then plays tracks of that style, replaying known ones or discovering new ones
by within-style popularity (Zipf). So the audio carries exactly the signal a
content model can find, and a recommender that reads it can beat chance.

Written files: ``audios/<track_id>.<ext>``, ``userid_trackid_timestamp.tsv``
and ``id_information.csv`` (both tab-separated, as in Music4All-Onion), plus
``synthetic_truth.tsv`` (each track's style) for checks and
``synthetic_styles.tsv`` (each style's synthesis parameters) for the demo's probe task.
"""

from __future__ import annotations

import logging
import string
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

log = logging.getLogger(__name__)

SCALES = {
    "major": [0, 2, 4, 5, 7, 9, 11],
    "minor": [0, 2, 3, 5, 7, 8, 10],
    "pentatonic": [0, 2, 4, 7, 9],
    "blues": [0, 3, 5, 6, 7, 10],
    "whole_tone": [0, 2, 4, 6, 8, 10],
}
FORMATS = {
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
    "flac": ("FLAC", "PCM_16"),
    "wav": ("WAV", "PCM_16"),
}
ALNUM = np.array(list(string.ascii_letters + string.digits))


@dataclass
class Style:
    tempo: float  # beats per minute
    root: float  # MIDI pitch of the melody's tonic
    rolloff: float  # harmonic h has amplitude h ** -rolloff
    odd: float  # weight of even harmonics (0: clarinet-like, 1: sawtooth-like)
    decay: float  # note decay time in seconds
    note_beats: float  # note length in beats
    scale: str
    kick: np.ndarray  # 16-step pattern
    hat: np.ndarray  # 16-step pattern
    drums: float  # drum level
    noise: float  # noise floor level
    noise_color: float  # one-pole low-pass coefficient of the noise (0 white, ~1 dark)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A well-spread 64-bit hash of each value: the same key always draws the same item,
    so synthetic logs written in chunks replay a user's tracks across chunks."""
    x = (x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)).astype(np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def unit_interval(key: np.ndarray) -> np.ndarray:
    """A hash as a float in [0, 1)."""
    return (splitmix64(key) >> np.uint64(11)) / 2.0**53


def make_styles(n: int, rng: np.random.Generator) -> list[Style]:
    """Styles spread over the space, so that each pair differs on several axes."""
    roots = rng.permutation(np.linspace(40, 80, n))
    tempos = rng.permutation(np.linspace(70, 170, n))
    rolloffs = rng.permutation(np.linspace(0.6, 2.6, n))
    noises = rng.permutation(np.linspace(0.0, 0.25, n))
    scales = list(SCALES)
    return [
        Style(
            tempo=float(tempos[s]),
            root=float(roots[s]),
            rolloff=float(rolloffs[s]),
            odd=float(rng.uniform(0, 1)),
            decay=float(rng.uniform(0.08, 0.8)),
            note_beats=float(rng.choice([0.5, 1.0, 2.0])),
            scale=scales[s % len(scales)],
            kick=rng.random(16) < rng.uniform(0.1, 0.4),
            hat=rng.random(16) < rng.uniform(0.2, 0.8),
            drums=float(rng.uniform(0.0, 0.6)),
            noise=float(noises[s]),
            noise_color=float(rng.uniform(0.0, 0.95)),
        )
        for s in range(n)
    ]


SYNTH_PARAMS = ("tempo", "root", "rolloff", "odd", "decay", "note_beats", "scale", "drums", "noise",
                "noise_color")  # fmt: skip


def style_table(styles: list[Style]) -> pd.DataFrame:
    """Each style's synthesis parameters, one row per style: what the demo's probe task
    turns into tags."""
    return pd.DataFrame(
        {
            "style": range(len(styles)),
            **{k: [getattr(s, k) for s in styles] for k in SYNTH_PARAMS},
            "kick_density": [float(s.kick.mean()) for s in styles],
            "hat_density": [float(s.hat.mean()) for s in styles],
        }
    )


def _random_ids(rng: np.random.Generator, n: int, length: int, prefix: str = "") -> list[str]:
    ids: set[str] = set()
    out = []
    while len(out) < n:
        tid = prefix + "".join(rng.choice(ALNUM, length))
        if tid not in ids:
            ids.add(tid)
            out.append(tid)
    return out


def synthesize(style: Style, seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One track: melody with style timbre, drums on a 16-step grid, coloured noise."""
    n = round(seconds * sr)
    tempo = style.tempo * rng.uniform(0.95, 1.05)
    root = style.root + rng.integers(-2, 3)
    rolloff = style.rolloff + rng.normal(0, 0.1)
    beat = 60.0 / tempo
    y = np.zeros(n, np.float64)

    scale = SCALES[style.scale]
    note_len = max(int(style.note_beats * beat * sr), 1)
    degree = int(rng.integers(0, len(scale)))
    attack = max(int(0.01 * sr), 1)
    for start in range(0, n, note_len):
        degree = int(np.clip(degree + rng.integers(-2, 3), -len(scale), 2 * len(scale)))
        pitch = root + scale[degree % len(scale)] + 12 * (degree // len(scale))
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        seg = min(note_len, n - start)
        t = np.arange(seg) / sr
        n_harm = max(1, min(12, int(sr / 2 / f0) - 1))
        h = np.arange(1, n_harm + 1)
        amp = h**-rolloff * np.where(h % 2 == 0, style.odd, 1.0)
        tone = amp @ np.sin(
            2 * np.pi * f0 * np.outer(h, t) + rng.uniform(0, 2 * np.pi, (n_harm, 1))
        )
        env = np.exp(-t / style.decay)
        env[: min(attack, seg)] *= np.linspace(0, 1, min(attack, seg))
        y[start : start + seg] += 0.5 * tone * env

    step = beat / 4
    kick_len, hat_len = int(0.15 * sr), int(0.04 * sr)
    tk = np.arange(kick_len) / sr
    kick = np.sin(2 * np.pi * (50 * tk + 70 * 0.05 * (1 - np.exp(-tk / 0.05)))) * np.exp(-tk / 0.05)
    hat = np.diff(rng.standard_normal(hat_len + 1)) * np.exp(-np.arange(hat_len) / (0.01 * sr))
    for i, onset in enumerate(np.arange(0, seconds, step)):
        pos = int(onset * sr)
        for pattern, sound in ((style.kick, kick), (style.hat, 0.3 * hat)):
            if pattern[i % 16]:
                m = min(len(sound), n - pos)
                y[pos : pos + m] += style.drums * sound[:m]

    noise = rng.standard_normal(n)
    if style.noise_color > 0:
        from scipy.signal import lfilter

        noise = lfilter([1 - style.noise_color], [1, -style.noise_color], noise)
        noise /= noise.std() + 1e-12
    y += style.noise * noise * 0.3
    peak = np.abs(y).max() or 1.0
    return (y / peak * rng.uniform(0.5, 0.9)).astype(np.float32)


def _listening(
    rng: np.random.Generator,
    track_style: np.ndarray,
    n_users: int,
    n_styles: int,
    start: pd.Timestamp,
    months: int,
    sessions_per_month: float,
    session_length: float,
    taste_concentration: float,
    exploration: float,
    released: np.ndarray | None = None,
) -> tuple[list[int], list[int], list[pd.Timestamp], np.ndarray]:
    """`released`: each track's release, in seconds from `start` (None: all out from the start)."""
    n_tracks = len(track_style)
    popularity = np.empty(n_tracks)
    for s in range(n_styles):
        idx = np.flatnonzero(track_style == s)
        popularity[idx] = rng.permutation(1.0 / np.arange(1, len(idx) + 1) ** 0.9)
    by_style = [np.flatnonzero(track_style == s) for s in range(n_styles)]
    by_style_p = [popularity[i] / popularity[i].sum() for i in by_style]

    end = start + pd.DateOffset(months=months)
    span = (end - start).total_seconds()
    taste = rng.dirichlet(np.full(n_styles, taste_concentration), n_users)
    taste = (1 - exploration) * taste + exploration / n_styles
    users, tracks, times = [], [], []
    for u in range(n_users):
        active_from = rng.uniform(0, 0.3) * span if rng.random() < 0.3 else 0.0
        active_to = span if rng.random() < 0.8 else rng.uniform(0.5, 1.0) * span
        n_sessions = rng.poisson(
            sessions_per_month * rng.lognormal(0, 0.5) * months * (active_to - active_from) / span
        )
        heard: dict[int, int] = {}
        for t0 in np.sort(rng.uniform(active_from, active_to, n_sessions)):
            style = rng.choice(n_styles, p=taste[u])
            known = [t for t in heard if track_style[t] == style]
            clock = t0
            for _ in range(1 + rng.poisson(session_length - 1)):
                if clock >= span:
                    break
                if known and rng.random() < 0.35:
                    w = np.array([heard[t] for t in known], float)
                    track = known[rng.choice(len(known), p=w / w.sum())]
                elif released is None:
                    track = int(rng.choice(by_style[style], p=by_style_p[style]))
                    if track not in heard:
                        known.append(track)
                else:  # only what is out by now; new releases draw attention (weight x 3)
                    out = released[by_style[style]] <= clock
                    w = by_style_p[style] * out * np.where(released[by_style[style]] > 0, 3.0, 1.0)
                    track = int(rng.choice(by_style[style], p=w / w.sum()))
                    if track not in heard:
                        known.append(track)
                heard[track] = heard.get(track, 0) + 1
                users.append(u)
                tracks.append(track)
                times.append(start + pd.Timedelta(seconds=int(clock)))
                clock += rng.uniform(150, 300)
    return users, tracks, times, taste


FEATURE_DIMS = {
    "mfcc_stats": 104,
    "ivec256": 100,
    "ivec512": 100,
    "ivec1024": 100,
}  # ivec: as Onion has them


def _feature_file(root: Path, name: str, track_ids, track_style, n_styles: int, seed: int) -> None:
    """``id_<name>.tsv.bz2``: a style centroid plus noise per track, Onion's layout."""
    import bz2

    rng = np.random.default_rng([seed, len(name)])
    dim = FEATURE_DIMS[name]
    centroids = rng.normal(0, 1, (n_styles, dim))
    values = centroids[track_style] + rng.normal(0, 0.8, (len(track_ids), dim))
    frame = pd.DataFrame(values.round(5), columns=[f"{name}_{j}" for j in range(dim)])
    frame.insert(0, "id", track_ids)
    text = frame.to_csv(sep="\t", index=False).encode()
    (root / f"id_{name}.tsv.bz2").write_bytes(bz2.compress(text))


def generate(
    root: str | Path,
    n_tracks: int = 800,
    n_users: int = 400,
    n_styles: int = 8,
    clip_seconds: float = 6.0,
    sample_rate: int = 22050,
    audio_format: str = "mp3",
    start_date: str = "2019-01-01",
    months: int = 6,
    sessions_per_month: float = 6.0,
    session_length: float = 6.0,
    taste_concentration: float = 0.2,
    exploration: float = 0.05,
    corrupt_tracks: int = 0,
    seed: int = 0,
    threads: int = 1,
    audio: bool = True,
    log_compression: str | None = None,
    feature_files: tuple[str, ...] = (),
    new_releases: float = 0.0,
    release_after_months: float | None = None,
    **_ignored,
) -> dict:
    """Write the dataset under `root`; returns counts for the log.

    `audio: False` writes no clips (a Music4All-Onion folder as published:
    log and feature files only); `log_compression: "bz2"` writes
    ``userid_trackid_timestamp.tsv.bz2``; `feature_files` names Onion feature
    files to write (``mfcc_stats``: 104 values, ``ivec256``: 100), each a
    noisy function of the track's style, so that they carry what the audio would.
    `new_releases`: the share of tracks released only after
    `release_after_months` (on a uniform day to the end): nobody can hear them
    before, which gives a hot/cold split its cold tracks.
    """
    root = Path(root)
    audio_dir = root / "audios"
    audio_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    styles = make_styles(n_styles, rng)
    style_share = rng.dirichlet(np.full(n_styles, 4.0))
    track_style = rng.choice(n_styles, n_tracks, p=style_share)
    track_ids = _random_ids(rng, n_tracks, 16)
    user_ids = _random_ids(rng, n_users, 8, prefix="user_")
    track_seeds = rng.integers(0, 2**63 - 1, n_tracks)

    fmt, subtype = FORMATS[audio_format]
    broken = set(rng.choice(n_tracks, min(corrupt_tracks, n_tracks), replace=False).tolist())

    def write_track(i: int) -> None:
        path = audio_dir / f"{track_ids[i]}.{audio_format}"
        if i in broken:  # first broken track: garbage bytes; second: empty file; and so on
            order = sorted(broken).index(i)
            path.write_bytes(b"" if order % 2 else np.random.default_rng(i).bytes(2048))
            return
        y = synthesize(
            styles[track_style[i]], clip_seconds, sample_rate, np.random.default_rng(track_seeds[i])
        )
        sf.write(path, y, sample_rate, format=fmt, subtype=subtype)

    if audio:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(write_track, range(n_tracks)))

    released = None
    if new_releases > 0:  # its own stream: the other draws stay as they were without it
        rel_rng = np.random.default_rng([seed, 11])
        span = pd.Timestamp(start_date) + pd.DateOffset(months=months) - pd.Timestamp(start_date)
        after = pd.Timedelta(days=30.44 * (release_after_months or months - 1)).total_seconds()
        released = np.zeros(n_tracks)
        new = rel_rng.random(n_tracks) < new_releases
        released[new] = rel_rng.uniform(after, span.total_seconds(), int(new.sum()))
    users, tracks, times, taste = _listening(
        rng,
        track_style,
        n_users,
        n_styles,
        pd.Timestamp(start_date),
        months,
        sessions_per_month,
        session_length,
        taste_concentration,
        exploration,
        released,
    )
    log_df = pd.DataFrame(
        {
            "user_id": np.asarray(user_ids)[users],
            "track_id": np.asarray(track_ids)[tracks],
            "timestamp": pd.to_datetime(times).strftime("%Y-%m-%d %H:%M:%S"),
        }
    ).sort_values(["timestamp", "user_id"], kind="stable")
    if log_compression == "bz2":
        import bz2

        text = log_df.to_csv(sep="\t", index=False).encode()
        (root / "userid_trackid_timestamp.tsv.bz2").write_bytes(bz2.compress(text))
    else:
        log_df.to_csv(root / "userid_trackid_timestamp.tsv", sep="\t", index=False)
    for name in feature_files:
        _feature_file(root, name, track_ids, track_style, n_styles, seed)

    artists = {s: [f"Synth {s + 1}.{k + 1}" for k in range(5)] for s in range(n_styles)}
    info = pd.DataFrame(
        {
            "id": track_ids,
            "artist": [artists[s][i % 5] for i, s in enumerate(track_style)],
            "song": [f"Piece {i:04d}" for i in range(n_tracks)],
            "album_name": [f"Style {s + 1} Album" for s in track_style],
        }
    )
    info.to_csv(root / "id_information.csv", sep="\t", index=False)
    truth = pd.DataFrame(
        {
            "track_id": track_ids,
            "style": track_style,
            "broken": [i in broken for i in range(n_tracks)],
            "released": (
                pd.Timestamp(start_date) + pd.to_timedelta(released, unit="s")
                if released is not None
                else pd.Timestamp(start_date)
            ),
        }
    )
    truth.to_csv(root / "synthetic_truth.tsv", sep="\t", index=False)
    style_table(styles).to_csv(root / "synthetic_styles.tsv", sep="\t", index=False)
    pd.DataFrame(taste, index=pd.Index(user_ids, name="user_id")).round(4).to_csv(
        root / "synthetic_user_taste.tsv", sep="\t"
    )
    stats = {"tracks": n_tracks, "users": n_users, "events": len(log_df), "broken": len(broken)}
    log.info("synthetic dataset at %s: %s", root, stats)
    return stats
