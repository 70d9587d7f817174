#!/usr/bin/env bash
# Makes TorchSharp's libLibTorchSharp.so loadable on hosts whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12: GCC 12).
# Usage: scripts/torch-native-patch.sh DIR   (patches every libLibTorchSharp.so under DIR; run after build/publish)
# The library needs that version for one symbol, std::ios_base_library_init(). This script
#  1. builds once (cached in obj/torch-native/ at the repository root) a tiny libsdpm_iosinit.so defining that function,
#  2. adds it as NEEDED to libLibTorchSharp.so (found through its $ORIGIN rpath) and unversions that symbol (patchelf),
#  3. marks the GLIBCXX_3.4.32 version need weak (scripts/torch-verneed-weak.py).
# A host that provides GLIBCXX_3.4.32 needs none of it: the script then does nothing. Idempotent and quick.
set -euo pipefail
dir="${1:?usage: torch-native-patch.sh DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
symbol=_ZSt21ios_base_library_initv
version=GLIBCXX_3.4.32
shim=libsdpm_iosinit.so

mapfile -t libs < <(find "$dir" -maxdepth 5 -name libLibTorchSharp.so -type f 2>/dev/null)
[ ${#libs[@]} -gt 0 ] || exit 0

host=$( (/sbin/ldconfig -p 2>/dev/null || true) | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
[ -n "$host" ] || host=/usr/lib/x86_64-linux-gnu/libstdc++.so.6
if [ -f "$host" ] && grep -qa "$version" "$host"; then exit 0; fi

for tool in patchelf g++; do
  command -v "$tool" >/dev/null || { echo "error SDPM001: torch-native-patch: '$tool' is missing; run scripts/setup.sh (apt-get install patchelf g++)." >&2; exit 1; }
done
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3 || true)"
[ -n "$python" ] || { echo "error SDPM001: torch-native-patch: python3 is missing (apt-get install python3)." >&2; exit 1; }

cache="$here/../obj/torch-native"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -f "$cache/$shim" ]; then
  cat > "$cache/iosinit.cpp" <<'CPP'
// Stands in for GCC 13's std::ios_base_library_init(): constructing one ios_base::Init sets up the standard streams.
#include <ios>
namespace std {
__attribute__((visibility("default"))) void ios_base_library_init() { static ios_base::Init init; }
}
CPP
  g++ -shared -fPIC -O2 -o "$cache/$shim.tmp" "$cache/iosinit.cpp"
  mv "$cache/$shim.tmp" "$cache/$shim"
fi

for lib in "${libs[@]}"; do
  libdir="$(dirname "$lib")"
  cmp -s "$cache/$shim" "$libdir/$shim" || cp "$cache/$shim" "$libdir/$shim"
  if patchelf --print-needed "$lib" | grep -qx "$shim"; then continue; fi
  # Patch a copy and rename it over the original, so that a process that has the library mapped keeps its inode.
  tmp="$lib.sdpm-tmp"
  cp "$lib" "$tmp"
  patchelf --add-needed "$shim" --clear-symbol-version "$symbol" "$tmp"
  "$python" "$here/torch-verneed-weak.py" "$tmp" "$version"
  mv "$tmp" "$lib"
done
