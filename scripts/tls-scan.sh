#!/usr/bin/env bash
# Scans a Portico TLS listener with testssl.sh (Debian package testssl.sh) and fails on any HIGH or CRITICAL
# finding. Usage: scripts/tls-scan.sh host:port [json-output-file]
set -euo pipefail
target=${1:?usage: scripts/tls-scan.sh host:port [json-output-file]}
out=${2:-$(mktemp --suffix=.json)}
command -v testssl >/dev/null || { echo "testssl.sh is not installed: apt-get install -y testssl.sh" >&2; exit 2; }
rm -f "$out"
testssl --quiet --color 0 --warnings off --sneaky --fast --severity LOW --jsonfile "$out" "$target" >/dev/null || true
[ -s "$out" ] || { echo "testssl.sh produced no results for $target" >&2; exit 2; }
bad=$(/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
for r in rows:
    if r.get("severity") in ("HIGH", "CRITICAL"):
        print(f'{r["severity"]} {r["id"]}: {r["finding"]}')
PY
)
if [ -n "$bad" ]; then
  echo "$bad"
  exit 1
fi
echo "testssl.sh: no HIGH or CRITICAL findings for $target ($out)"
