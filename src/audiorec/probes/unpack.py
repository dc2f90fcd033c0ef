"""Archives of a probe dataset unpacked into its root, once.

``.tar.gz``/``.tgz``/``.tar`` and ``.zip`` archives, and zips published in
parts (``mp3.zip.001``, ``.002``, ...: the parts joined, then unzipped). A
marker file (``.<archive>.unpacked``) records a finished unpacking, so a
re-run does not unpack again, and an interrupted one starts over. Members are
refused when their path would leave the root.
"""

from __future__ import annotations

import logging
import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from audiorec.probes.base import ProbeDataError

log = logging.getLogger(__name__)
PART = re.compile(r"^(?P<archive>.+\.zip)\.(?P<part>\d{3})$")


def archives(names: list[str]) -> dict[str, list[str]]:
    """archive name -> its files in order (one, or the parts of a split zip)."""
    out: dict[str, list[str]] = {}
    for name in sorted(names):
        match = PART.match(name)
        out.setdefault(match["archive"] if match else name, []).append(name)
    return out


def _safe_zip(path: Path, root: Path) -> None:
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            target = (root / member).resolve()
            if not str(target).startswith(str(root.resolve())):
                raise ProbeDataError(f"{path}: member {member!r} would be written outside {root}")
        z.extractall(root)


def unpack(root: str | Path, names: list[str]) -> list[str]:
    """Unpack the archives among `names` (files in `root`); returns those unpacked now."""
    root = Path(root)
    done = []
    for archive, parts in archives(names).items():
        marker = root / f".{archive}.unpacked"
        if marker.exists():
            continue
        paths = [root / p for p in parts]
        for path in paths:
            if not path.exists():
                raise ProbeDataError(f"{path}: missing (to be unpacked)")
        log.info("unpacking %s into %s", archive, root)
        try:
            if archive.endswith(".zip"):
                if len(paths) == 1:
                    _safe_zip(paths[0], root)
                else:
                    with tempfile.NamedTemporaryFile(dir=root, suffix=".zip") as joined:
                        for path in paths:
                            with open(path, "rb") as fh:
                                shutil.copyfileobj(fh, joined)
                        joined.flush()
                        _safe_zip(Path(joined.name), root)
            elif archive.endswith((".tar.gz", ".tgz", ".tar")):
                with tarfile.open(paths[0]) as tar:
                    tar.extractall(root, filter="data")
            else:
                raise ProbeDataError(
                    f"{archive}: not an archive audiorec can unpack (.zip, .tar.gz)"
                )
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
            raise ProbeDataError(f"{paths[0]}: cannot be unpacked: {err}") from err
        marker.write_text("")
        done.append(archive)
    return done
