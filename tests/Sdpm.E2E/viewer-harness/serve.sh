#!/usr/bin/env bash
# Assembles the harness site in a temp folder and serves it on 127.0.0.1 (loopback only).
#   tests/Sdpm.E2E/viewer-harness/serve.sh [PORT]   (default 8765; Ctrl+C to stop)
# The site: /js and /css from the repo's wwwroot (symlinks, so edits show on reload),
# /index.html from this folder, /data from make_fixture.py (generated, never committed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
port="${1:-8765}"
site="${VIEWER_SITE:-$(mktemp -d /tmp/viewer-site.XXXXXX)}"
mkdir -p "$site"
ln -sfn "$repo/wwwroot/js" "$site/js"
ln -sfn "$repo/wwwroot/css" "$site/css"
ln -sfn "$here/index.html" "$site/index.html"
py=python3
python3 -c 'import numpy' 2>/dev/null || py=/usr/bin/python3   # a pyenv python may lack numpy
[ -f "$site/data/case1/fixture.json" ] || "$py" "$here/make_fixture.py" --out "$site/data"
echo "serving $site on http://127.0.0.1:$port/"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site"
