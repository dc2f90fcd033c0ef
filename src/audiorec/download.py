"""Downloading files that later jobs trust: verified, resumable, atomic.

One file at a time, ``fetch`` keeps the partial download beside the target
(``<name>.part``) and asks the server for the rest with an HTTP range request
after a dropped connection; it retries timeouts, dropped connections, 429 and
5xx answers with exponential backoff (honouring ``Retry-After``), refuses at
once on other 4xx answers, checks the size and checksum the source publishes
(MD5 on Zenodo, SHA-256 on the Hugging Face hub), and
only then renames the file into place. A file that fails its size or
checksum is deleted and the job fails at once, naming both values (a second
download from the same source would give the same file). A target that is
already there with the right size and checksum is not downloaded again. The
log says "verified" only when a size or checksum was checked, and says so
plainly when none was known.

Written on requests rather than pooch: pooch verifies hashes and writes
atomically, but restarts a multi-GB file from zero after a dropped
connection and does not wait out 429 answers.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 1 << 16  # small enough that a dropped connection keeps most of what arrived
RETRIED = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(RuntimeError):
    """A file could not be fetched or failed its checks; the message says which and why."""


@dataclass
class Expected:
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None

    def checks(self) -> str | None:
        """What a file is checked against ("size and MD5"), or None when nothing is known."""
        known = [
            k for k, v in (("size", self.size), ("MD5", self.md5), ("SHA-256", self.sha256)) if v
        ]
        return " and ".join(known) or None


def digest_of(path: str | Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def md5_of(path: str | Path) -> str:
    return digest_of(path, "md5")


def verified(path: Path, expected: Expected) -> str | None:
    """None if `path` matches what is expected, else why not."""
    if expected.size is not None and path.stat().st_size != expected.size:
        return f"{path.stat().st_size} bytes, expected {expected.size}"
    for name, algorithm in (("MD5", "md5"), ("SHA-256", "sha256")):
        want = getattr(expected, algorithm)
        if want:
            got = digest_of(path, algorithm)
            if got != want.lower():
                return f"{name} {got}, expected {want.lower()}"
    return None


class _Progress:
    """A log line every `every` seconds: bytes so far, rate and time left."""

    def __init__(self, name: str, total: int | None, every: float):
        self.name, self.total, self.every = name, total, every
        self.started = self.last = time.monotonic()

    def __call__(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        if self.total:
            left = (self.total - done) / rate if rate else float("inf")
            log.info(
                "%s: %.1f of %.1f MB (%.0f %%), %.1f MB/s, %.0f s left",
                self.name,
                done / 1e6,
                self.total / 1e6,
                100 * done / self.total,
                rate / 1e6,
                left,
            )
        else:
            log.info("%s: %.1f MB, %.1f MB/s", self.name, done / 1e6, rate / 1e6)


def _wait(attempt: int, backoff: float, retry_after: str | None) -> float:
    if retry_after:
        try:
            return min(float(retry_after), 300.0)
        except ValueError:
            pass
    return backoff * 2**attempt


def fetch(
    url: str,
    dest: str | Path,
    expected: Expected | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress_every: float = 30.0,
    session=None,
) -> Path:
    """`url` to `dest`, verified against `expected`; returns `dest`."""
    import requests

    dest, expected = Path(dest), expected or Expected()
    checks = expected.checks()
    if dest.exists() and verified(dest, expected) is None:
        if checks:
            log.info("%s: present, %s verified; not downloaded", dest, checks)
        else:
            log.warning("%s: present; no size or checksum known, so not verified", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    session = session or requests.Session()
    problem = "no attempt"
    for attempt in range(retries + 1):
        if attempt:
            pause = _wait(attempt - 1, backoff, getattr(problem, "retry_after", None))
            log.warning(
                "%s: %s; retrying in %.1f s (%d of %d)", url, problem, pause, attempt, retries
            )
            time.sleep(pause)
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with session.get(url, headers=headers, stream=True, timeout=timeout) as r:
                if r.status_code == 416 and have:  # asked past the end: the part is complete
                    pass
                elif r.status_code in RETRIED:
                    problem = _Problem(f"HTTP {r.status_code}", r.headers.get("Retry-After"))
                    continue
                elif r.status_code >= 400:
                    raise DownloadError(f"{url}: HTTP {r.status_code} {r.reason}")
                else:
                    if r.status_code == 200 and have:
                        log.info("%s: the server ignored the range request; starting over", url)
                        have = 0
                    total = expected.size
                    length = r.headers.get("Content-Length")
                    if total is None and length is not None:
                        total = have + int(length)
                    show = _Progress(dest.name, total, progress_every)
                    with open(part, "ab" if have else "wb") as fh:
                        done = have
                        for block in r.iter_content(CHUNK):
                            fh.write(block)
                            done += len(block)
                            show(done)
                    show(done, force=True)
                    if length is not None and done != have + int(length):
                        problem = _Problem(f"connection closed after {done} bytes")
                        continue
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as err:
            problem = _Problem(f"{type(err).__name__}: {err}")
            continue
        why = verified(part, expected)
        if why is not None:  # the source serves another file: downloading again cannot help
            part.unlink()
            raise DownloadError(f"{url}: the downloaded file fails its check: {why}; not used")
        os.replace(part, dest)
        if checks:
            log.info("%s: downloaded, %s verified", dest, checks)
        else:
            log.warning("%s: downloaded; no size or checksum known, so NOT verified", dest)
        return dest
    raise DownloadError(f"{url}: gave up after {retries + 1} attempts: {problem}")


class _Problem(str):
    """A retry reason that can carry the server's Retry-After."""

    def __new__(cls, text: str, retry_after: str | None = None):
        obj = super().__new__(cls, text)
        obj.retry_after = retry_after
        return obj


def published_checksums(record_json: str | Path) -> dict[str, Expected]:
    """Size and checksum per file name from a record's API answer: a Zenodo record's
    (``/api/records/<id>``: size and MD5) or a Hugging Face hub tree listing
    (``/api/datasets/<repo>/tree/<revision>?recursive=true``: each file's path, size and,
    for files in LFS, their SHA-256)."""
    import json

    data = json.loads(Path(record_json).read_text())
    if isinstance(data, list):
        return {
            f["path"]: Expected(size=f.get("size"), sha256=(f.get("lfs") or {}).get("oid"))
            for f in data
            if f.get("type", "file") == "file" and "path" in f
        }
    out = {}
    for f in data.get("files", []):
        name = f.get("key") or f.get("filename")
        checksum = f.get("checksum", "")
        md5 = checksum.split(":", 1)[1] if checksum.startswith("md5:") else None
        out[name] = Expected(size=f.get("size"), md5=md5)
    return out


def read_manifest(path: str | Path) -> dict[str, Expected]:
    """name -> expected size and checksums from a dataset manifest (``name, size, md5`` and
    optionally ``sha256``; blanks unknown)."""
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    missing = {"name", "size", "md5"} - set(frame.columns)
    if missing:
        raise DownloadError(f"{path}: missing column {', '.join(sorted(missing))}")
    sha = frame["sha256"] if "sha256" in frame else [""] * len(frame)
    return {
        r.name: Expected(size=int(r.size) if r.size else None, md5=r.md5 or None, sha256=s or None)
        for r, s in zip(frame.itertuples(), sha, strict=True)
    }


def expected_for(
    name: str, manifest: dict[str, Expected], published: dict[str, Expected]
) -> Expected:
    """What a file must match: the manifest's values, checked against the record's where both exist."""
    mine, theirs = manifest.get(name, Expected()), published.get(name, Expected())
    for key in ("size", "md5", "sha256"):
        a, b = getattr(mine, key), getattr(theirs, key)
        if a is not None and b is not None and str(a).lower() != str(b).lower():
            raise DownloadError(
                f"{name}: the manifest says {key} {a}, the record publishes {b}; "
                "the record changed or the manifest is wrong"
            )
    return Expected(
        size=mine.size or theirs.size,
        md5=mine.md5 or theirs.md5,
        sha256=mine.sha256 or theirs.sha256,
    )


class RateLimit:
    """At most `per_second` starts per second, shared by threads."""

    def __init__(self, per_second: float):
        import threading

        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.interval
        time.sleep(max(0.0, start - now))


def fetch_many(
    items: list[tuple[str, str, Path, Expected]],
    workers: int = 4,
    per_second: float = 5.0,
    retries: int = 5,
    backoff: float = 1.0,
) -> list[dict]:
    """Download (key, url, dest, expected) items in parallel; returns one failure row per item lost."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    limit, local = RateLimit(per_second), threading.local()
    failures = []

    def one(item):
        key, url, dest, expected = item
        if dest.exists() and verified(dest, expected) is None:
            return None  # a re-run downloads nothing and waits for nothing
        if not hasattr(local, "session"):
            local.session = requests.Session()
        limit.wait()
        try:
            fetch(
                url,
                dest,
                expected,
                retries=retries,
                backoff=backoff,
                session=local.session,
                progress_every=3600,
            )
        except DownloadError as err:
            return {"track_id": key, "stage": "download", "reason": str(err)}
        return None

    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for result in pool.map(one, items):
            done += 1
            if result:
                failures.append(result)
                log.warning("%s", result["reason"])
            if done % 500 == 0:
                log.info("%d of %d files, %d failed", done, len(items), len(failures))
    log.info(
        "%d of %d files downloaded or present, %d failed",
        done - len(failures),
        len(items),
        len(failures),
    )
    return failures
