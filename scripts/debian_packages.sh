#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet (as root), or
# says which command installs them. Used by `make run`, `make test` and .ci/run, so a fresh
# machine gets what the documents need: pango (WeasyPrint) and the Noto CJK fonts to render
# Chinese PDFs, and poppler-utils (pdftotext, pdffonts, pdftoppm) for the tests.
set -euo pipefail

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "not a Debian system: install the equivalents of $* yourself" >&2
    exit 0
fi
missing=()
for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
