#!/usr/bin/env bash
# Scans a Portico TLS listener with testssl.sh (Debian package testssl.sh) and fails on any HIGH or CRITICAL
# finding. Usage: scripts/tls-scan.sh host:port [--add-ca ca.pem] [--json out.json]
# With --add-ca (a private test CA) the certificate's chain is judged against that CA; `cert_revocation` is then
# reported but not counted, since test certificates carry no OCSP or CRL address (a public CA's do).
set -euo pipefail
target=${1:?usage: scripts/tls-scan.sh host:port [--add-ca ca.pem] [--json out.json]}
shift
ca=''
out=''
while [ $# -gt 0 ]; do
  case "$1" in
    --add-ca) ca=$2; shift 2 ;;
    --json) out=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out=$(mktemp --suffix=.json)
command -v testssl >/dev/null || { echo "testssl.sh is not installed: apt-get install -y testssl.sh" >&2; exit 2; }
rm -f "$out"
args=(--quiet --color 0 --warnings off --sneaky --fast --severity LOW --jsonfile "$out")
[ -n "$ca" ] && args+=(--add-ca "$ca")
testssl "${args[@]}" "$target" >/dev/null || true
[ -s "$out" ] || { echo "testssl.sh produced no results for $target" >&2; exit 2; }
bad=$(/usr/bin/python3 - "$out" "${ca:+private-ca}" <<'PY'
import json, sys
private_ca = len(sys.argv) > 2 and sys.argv[2] == "private-ca"
for r in json.load(open(sys.argv[1])):
    if r.get("severity") not in ("HIGH", "CRITICAL"):
        continue
    if private_ca and r["id"] == "cert_revocation":
        continue
    print(f'{r["severity"]} {r["id"]}: {r["finding"]}')
PY
)
if [ -n "$bad" ]; then
  echo "$bad"
  exit 1
fi
echo "testssl.sh: no HIGH or CRITICAL findings for $target ($out)"
