#!/usr/bin/env bash
# System packages the portal needs besides Python ones (Debian/Ubuntu):
#   fonts-noto-cjk       Chinese glyphs for the WeasyPrint PDFs
#   libharfbuzz-subset0  fast font subsetting; without it each CJK page takes ~25 s, not ~0.5 s
#   gettext              msgfmt, to compile the translation catalogues
#   chromium             the browser of the Playwright tests (tests/browser; no browser download)
# Pango (WeasyPrint's text layout) is assumed present. Installs only what is missing.
set -euo pipefail
packages=(fonts-noto-cjk libharfbuzz-subset0 gettext chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install: ${missing[*]} (no apt-get on this machine)" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
