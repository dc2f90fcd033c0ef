"""Fill a dataset manifest's sizes and MD5s from the record's API answer.

    python -m audiorec.download_manifest https://zenodo.org/api/records/6609677 [manifest]

Run on a machine with network; rewrites the manifest (default:
manifests/music4all-onion.tsv) with the values the record publishes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from audiorec.download import fetch, published_checksums

DEFAULT = Path(__file__).resolve().parents[2] / "manifests" / "music4all-onion.tsv"


def main(argv: list[str]) -> None:
    url, manifest = argv[0], Path(argv[1]) if len(argv) > 1 else DEFAULT
    header = [line for line in manifest.read_text().splitlines() if line.startswith("#")]
    frame = pd.read_csv(manifest, sep="\t", dtype=str, keep_default_na=False, comment="#")
    with tempfile.TemporaryDirectory() as tmp:
        published = published_checksums(fetch(url, Path(tmp) / "record.json"))
    for i, name in enumerate(frame["name"]):
        if name in published:
            frame.loc[i, "size"] = str(published[name].size or "")
            frame.loc[i, "md5"] = published[name].md5 or ""
        else:
            print(f"{name}: not in the record", file=sys.stderr)
    manifest.write_text("\n".join(header) + "\n" + frame.to_csv(sep="\t", index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
