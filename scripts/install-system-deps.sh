#!/usr/bin/env bash
# Installs the Debian packages Loa Xã needs, only those that are missing.
# Usage: install-system-deps.sh [--test]
set -euo pipefail
pkgs=(mosquitto mosquitto-clients ffmpeg espeak-ng)
# Live audio: the controller runs Icecast2 from its own generated configuration.
pkgs+=(icecast2)
# Document intake: PDF text and page images (poppler-utils), OCR with the Vietnamese model.
pkgs+=(poppler-utils tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd)
# The browser tests need Chromium and a font with every Vietnamese diacritic (DejaVu has them all).
[[ "${1:-}" == "--test" ]] && pkgs+=(chromium fonts-dejavu-core)
# The intake tests draw official documents in DejaVu Serif, which fonts-dejavu-core ships.
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "Installing: ${missing[*]}"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packaged broker would hold port 1883; Loa Xã starts its own broker for the demo and tests.
if [[ " ${missing[*]} " == *" mosquitto "* ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
# Likewise the packaged Icecast: the controller starts icecast2 from its own files, on its own port.
if [[ " ${missing[*]} " == *" icecast2 "* ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    $sudo systemctl disable --now icecast2 >/dev/null 2>&1 || true
fi
