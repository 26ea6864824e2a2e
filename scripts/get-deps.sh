#!/usr/bin/env bash
# scripts/get-deps.sh [DIR]: unpack the headers and static libraries strap builds against
# (zstd, jansson, PCRE2, utf8proc) from Debian packages into DIR (default deps/, ignored by
# git), so that `make DEPS=deps BLAS=0 MPI=0` builds on a machine with only a compiler and the
# CUDA toolkit, such as a bare GPU machine: carry deps/ along with the working tree.
# Needs apt-get (it downloads .deb files; it installs nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-deps}
PKGS=(libzstd-dev libjansson-dev libpcre2-dev libutf8proc-dev)
mkdir -p "$DIR/debs"
(cd "$DIR/debs" && apt-get download "${PKGS[@]}" >/dev/null 2>&1) || {
    apt-get update -qq
    (cd "$DIR/debs" && apt-get download "${PKGS[@]}")
}
for deb in "$DIR"/debs/*.deb; do dpkg -x "$deb" "$DIR"; done
rm -rf "$DIR/debs"
LIB="$DIR/usr/lib/x86_64-linux-gnu"
for lib in libzstd.a libjansson.a libpcre2-8.a libutf8proc.a; do
    [ -f "$LIB/$lib" ] || { echo "get-deps: $LIB/$lib is missing after unpacking" >&2; exit 1; }
done
echo "deps ready in $DIR ($(du -sh "$DIR" | cut -f1)); build with: make DEPS=$DIR BLAS=0 MPI=0"
