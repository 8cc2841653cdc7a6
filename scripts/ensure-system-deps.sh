#!/usr/bin/env bash
# Installs the Debian packages the test suite (and, with --bench, the benchmark) runs against.
# Root: apt-get installs what is missing. Not root: names the missing packages and fails.
set -euo pipefail
need=(
  "php-fpm8.2:php-fpm"
  "uwsgi:uwsgi"
  "/usr/lib/uwsgi/plugins/python3_plugin.so:uwsgi-plugin-python3"
  "/usr/bin/python3 -c 'import flask':python3-flask"
  "pebble:pebble"
  "pebble-challtestsrv:pebble"
  "curl:curl"
  "openssl:openssl"
  "nginx:nginx"
  "/usr/share/nginx/modules/ngx_http_cache_purge_module.so:libnginx-mod-http-cache-purge"
  "testssl:testssl.sh"
)
if [ "${1:-}" = "--bench" ]; then
  need+=("wrk:wrk" "h2load:nghttp2-client")
fi
missing=()
for entry in "${need[@]}"; do
  probe=${entry%:*}; pkg=${entry##*:}
  case "$probe" in
    *" "*) sh -c "$probe" >/dev/null 2>&1 && continue ;;
    /*) [ -e "$probe" ] && continue ;;
    *) command -v "$probe" >/dev/null 2>&1 && continue ;;
  esac
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "portico tests need these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts packaged daemons on install; the tests run their own instances.
for svc in nginx php8.2-fpm uwsgi; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  if [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done
