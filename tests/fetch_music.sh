#!/bin/sh
# Real music for the tests, from Debian's archive (no root needed):
#   asc-music          3 mp3 (GPL-2+)
#   singularity-music  16 ogg (CC BY-SA 3.0)
# Unpacked under $1 (default .cache/music). Without apt-get the tests that need
# real music are skipped and say so.
set -eu
dest=${1:-.cache/music}
mkdir -p "$dest/debs"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "fetch_music: apt-get not found; tests that need real music will be skipped" >&2
    exit 0
fi
cd "$dest/debs"
apt-get download asc-music singularity-music 2>/dev/null || {
    echo "fetch_music: apt-get download failed; tests that need real music will be skipped" >&2
    exit 0
}
for deb in *.deb; do dpkg -x "$deb" ..; done
cd ..
rm -rf debs
touch .done
