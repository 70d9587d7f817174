#!/usr/bin/env bash
# Installs what the portal and its tests need on a fresh Debian 12 machine; a no-op when all is there.
# Usage: scripts/setup.sh [run|test|bench]   (run: what the portal needs; test: that plus the test tools;
# bench: that of run plus Debian's python3-torch for scripts/bench-pytorch.sh)
set -euo pipefail
mode="${1:-test}"

# The engine's TorchSharp native library is patched at build time (patchelf, g++, python3); tcmalloc speeds libtorch up.
packages=(patchelf g++ python3 libtcmalloc-minimal4)
if [ "$mode" = "bench" ]; then
  packages+=(python3-torch)
fi
if [ "$mode" = "test" ]; then
  # Browser tests drive Debian's chromium; imaging tests cross-check files with nibabel, pydicom, Pillow, dcm2niix and ITK;
  # the data, jobs and portal tests run a second time on a throw-away PostgreSQL server (initdb, pg_ctl).
  packages+=(chromium python3-nibabel python3-pydicom python3-pil dcm2niix libinsighttoolkit5-dev postgresql)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (dotnet on PATH)" >&2; exit 1; }
