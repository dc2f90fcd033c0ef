"""Shared fixtures. Tests never reach a model hub: HF_HUB_OFFLINE is set here too."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
MUSIC = REPO / ".cache" / "music" / "usr" / "share" / "games"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def music_files():
    """Real music from Debian's asc-music and singularity-music (see tests/fetch_music.sh)."""
    files = sorted(MUSIC.glob("asc/music/*.mp3")) + sorted(MUSIC.glob("singularity/music/*.ogg"))
    if not files:
        pytest.skip(
            "real test music missing: run `sh tests/fetch_music.sh .cache/music` (needs apt-get)"
        )
    return files


_PARITY: list[tuple[str, float]] = []


@pytest.fixture
def parity():
    """Record a backbone's largest difference to its upstream, printed after the run."""

    def record(name: str, diff: float) -> None:
        _PARITY.append((name, diff))

    return record


def pytest_terminal_summary(terminalreporter):
    if not _PARITY:
        return
    terminalreporter.section("upstream parity: max |audiorec - upstream|")
    for name, diff in _PARITY:
        terminalreporter.write_line(f"{name:<60} {diff:.2e}")
