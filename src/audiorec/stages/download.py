"""Jobs: a dataset's files from its published record, and audio clips from a manifest.

Both run on the host Snakemake runs on (local rules: it has network where
compute nodes may not). A dataset file is checked against the size and MD5
that the repository's manifest and the record's own API publish; audio clips
against the manifest's optional checksums, with bounded parallelism and a
rate limit, and a failures table like every other stage's.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from audiorec import failures
from audiorec.download import (
    Expected,
    expected_for,
    fetch,
    fetch_many,
    published_checksums,
    read_manifest,
)

log = logging.getLogger(__name__)


def record(url: str, output: str) -> None:
    """The record's API answer (file names, sizes, MD5s), fetched once."""
    fetch(url, output, retries=5)


def dataset_file(
    name: str, settings: dict, output: str, record_json: str | None, manifest: str | None
) -> None:
    listed = read_manifest(manifest) if manifest else {}
    published = published_checksums(record_json) if record_json else {}
    expected = expected_for(name, listed, published)
    if expected.checks() is None:
        log.warning("%s: neither the manifest nor the record gives a size or checksum", name)
    fetch(
        settings["url"].format(name=name),
        output,
        expected,
        retries=settings["retries"],
        progress_every=30,
    )


def audio(
    manifest: str, audio_root: str, ext: str, settings: dict, report: str, failures_path: str
) -> None:
    """Every clip of a manifest (``track_id``, ``url``, optional ``md5``) into ``audio_root``."""
    table = pd.read_csv(
        manifest, sep="\t" if manifest.endswith(".tsv") else ",", dtype=str, keep_default_na=False
    )
    missing = {"track_id", "url"} - set(table.columns)
    if missing:
        raise ValueError(f"{manifest}: missing column {', '.join(sorted(missing))}")
    dup = table.track_id[table.track_id.duplicated()]
    if len(dup):
        raise ValueError(f"{manifest}: track ids listed twice: {', '.join(dup[:5])}")
    md5 = table["md5"] if "md5" in table else pd.Series([""] * len(table))
    items = [
        (t, u, Path(audio_root) / f"{t}.{ext}", Expected(md5=m or None))
        for t, u, m in zip(table.track_id, table.url, md5, strict=True)
    ]
    lost = fetch_many(
        items,
        workers=settings["workers"],
        per_second=settings["per_second"],
        retries=settings["retries"],
        backoff=settings["backoff"],
    )
    failures.write(failures_path, lost)
    failed = {f["track_id"] for f in lost}
    pd.DataFrame(
        {"track_id": table.track_id, "downloaded": [t not in failed for t in table.track_id]}
    ).to_csv(report, sep="\t", index=False)


def probe_file(spec: dict, name: str, output: str, retries: int) -> None:
    """One file a probe task fetches (``ProbeTask.REMOTES``), checked against the size and
    MD5 the task records for it, or those of the copy the task entry's ``remotes`` names."""
    from audiorec import probes

    remote = probes.get(spec["type"]).REMOTES[name]
    url, md5, size = remote.url, remote.md5, remote.size
    copy = spec.get("remotes", {}).get(name)
    if copy:
        url, md5, size = copy["url"], copy["md5"] or md5, copy["size"] or size
        log.info("%s: from %s (the task entry's remotes)", name, url)
    expected = Expected(size=size, md5=md5)
    if expected.checks() is None:
        log.warning("%s: its host publishes no size or checksum", name)
    fetch(url, output, expected, retries=retries, progress_every=30)
