"""Downloads against a faulty server on loopback: verified, resumed, retried, never half-used."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pytest

from audiorec.download import DownloadError, Expected, fetch
from tests.http_server import FaultyServer

DATA = np.random.default_rng(0).bytes(3 << 20)  # 3 MB: several 1 MB chunks
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture
def server():
    with FaultyServer() as s:
        s.files["/f.bin"] = DATA
        yield s


def get(server, tmp_path, **kw):
    kw.setdefault("expected", Expected(len(DATA), MD5))
    return fetch(f"{server.url}/f.bin", tmp_path / "f.bin", backoff=0.01, **kw)


def test_plain_download_is_verified_and_a_rerun_downloads_nothing(server, tmp_path):
    assert get(server, tmp_path).read_bytes() == DATA
    assert len(server.requests) == 1
    get(server, tmp_path)
    assert len(server.requests) == 1
    assert not (tmp_path / "f.bin.part").exists()


def test_a_dropped_connection_resumes_with_a_range_request(server, tmp_path):
    server.faults["/f.bin"] = ["drop"]
    assert get(server, tmp_path).read_bytes() == DATA
    (_, first), (_, second) = server.requests
    assert first is None and second.startswith("bytes=") and int(second[6:-1]) > 0


def test_a_server_ignoring_ranges_restarts_cleanly(server, tmp_path):
    server.faults["/f.bin"] = ["drop", "no-range"]
    assert get(server, tmp_path).read_bytes() == DATA


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_answers_are_retried(server, tmp_path, status):
    server.faults["/f.bin"] = [status, status]
    assert get(server, tmp_path).read_bytes() == DATA
    assert len(server.requests) == 3


def test_404_fails_at_once_and_names_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"missing\.bin: HTTP 404"):
        fetch(f"{server.url}/missing.bin", tmp_path / "m.bin", backoff=0.01)
    assert len(server.requests) == 1 and not (tmp_path / "m.bin").exists()


def test_a_checksum_mismatch_fails_after_one_download_naming_both_digests(server, tmp_path):
    server.faults["/f.bin"] = ["wrong"]
    with pytest.raises(
        DownloadError, match=rf"fails its check: MD5 [0-9a-f]{{32}}, expected {MD5}"
    ):
        get(server, tmp_path, retries=5)
    assert len(server.requests) == 1  # no retry: the source serves another file
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_verified_only_when_something_was_checked(server, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        get(server, tmp_path, expected=Expected())
    assert "NOT verified" in caplog.text and "downloaded, " not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        get(server, tmp_path, expected=Expected())
    assert "not verified" in caplog.text and "verified;" not in caplog.text
    (tmp_path / "f.bin").unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        get(server, tmp_path, expected=Expected(size=len(DATA)))
    assert "downloaded, size verified" in caplog.text


def test_a_present_file_with_the_wrong_checksum_is_replaced(server, tmp_path):
    (tmp_path / "f.bin").write_bytes(b"stale")
    assert get(server, tmp_path).read_bytes() == DATA


def test_progress_is_logged_as_lines(server, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        get(server, tmp_path, progress_every=0.0)
    lines = [r.getMessage() for r in caplog.records if "MB/s" in r.getMessage()]
    assert lines and all("\r" not in x for x in lines) and "100 %" in lines[-1]
