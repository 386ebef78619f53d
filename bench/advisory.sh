#!/usr/bin/env bash
# Serves one published advisory page from `cnadesk serve` (release build,
# SQLite) and the same HTML bytes from nginx as a static file, and loads both
# with wrk on loopback in the same run: requests per second and p99 latency.
# Target: cnadesk at least 50 % of nginx's requests per second, p99 below
# 20 ms at 64 connections. Needs wrk and nginx (Debian: wrk, nginx-light).
#
#   bash bench/advisory.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-64}
for cmd in wrk nginx python3; do
  command -v "$cmd" >/dev/null || { echo "bench: $cmd is missing (apt-get install wrk nginx-light)" >&2; exit 2; }
done

cargo build --release -j 2 -p cnadesk >/dev/null
bin=target/release/cnadesk
work=$(mktemp -d /tmp/cnadesk-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  [ -n "${desk:-}" ] && kill "$desk" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

CNADESK_LOG__LEVEL=warn "$bin" serve --demo --bind "127.0.0.1:$port" --data-dir "$work/data" >"$work/desk.log" 2>&1 &
desk=$!
for _ in $(seq 100); do grep -q "first run:" "$work/desk.log" && break; sleep 0.1; done
setup=$(grep -o 'http://[^ ]*/setup/[^ ]*' "$work/desk.log" | head -n1)
[ -n "$setup" ] || { cat "$work/desk.log" >&2; exit 1; }
page=$(python3 bench/seed_advisory.py "http://127.0.0.1:$port" "$setup" "$bin" "$work/data/demo")
echo "bench: advisory $page on cnadesk at 127.0.0.1:$port"

# The same bytes for nginx.
mkdir -p "$work/www"
chmod 755 "$work" "$work/www"  # nginx workers run unprivileged
curl -sf "http://127.0.0.1:$port$page" -o "$work/www/advisory.html"
cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon on;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  default_type text/html;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  server { listen 127.0.0.1:$nport; root $work/www; }
}
CONF
mkdir -p "$work/tmp"
nginx -c "$work/nginx.conf" -p "$work"
sleep 0.3
cmp <(curl -sf "http://127.0.0.1:$nport/advisory.html") "$work/www/advisory.html"

load() {  # URL -> "rps p99_ms"
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$1" >"$work/wrk.out"
  local rps p99
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$work/wrk.out")
  if grep -q "Non-2xx" "$work/wrk.out"; then echo "bench: non-2xx answers from $1" >&2; cat "$work/wrk.out" >&2; exit 1; fi
  echo "$rps $p99"
}
# Warm both, then measure.
wrk -t2 -c"$conns" -d2s "http://127.0.0.1:$port$page" >/dev/null
wrk -t2 -c"$conns" -d2s "http://127.0.0.1:$nport/advisory.html" >/dev/null
read -r n_rps n_p99 < <(load "http://127.0.0.1:$nport/advisory.html")
read -r c_rps c_p99 < <(load "http://127.0.0.1:$port$page")
bytes=$(wc -c <"$work/www/advisory.html")
python3 - "$n_rps" "$n_p99" "$c_rps" "$c_p99" "$bytes" "$conns" "$secs" <<'PY'
import sys
n_rps, n_p99, c_rps, c_p99 = map(float, sys.argv[1:5])
size, conns, secs = sys.argv[5:8]
ratio = c_rps / n_rps
print(f"advisory page, {size} bytes, {conns} connections, {secs} s each, wrk -t2 on loopback")
print(f"  {'server':<10} {'requests/s':>12} {'p99 ms':>8}")
print(f"  {'nginx':<10} {n_rps:>12,.0f} {n_p99:>8.2f}")
print(f"  {'cnadesk':<10} {c_rps:>12,.0f} {c_p99:>8.2f}")
ok = ratio >= 0.5 and c_p99 < 20
print(f"cnadesk/nginx = {ratio:.0%} (target >= 50 %), p99 {c_p99:.2f} ms (target < 20 ms): {'MET' if ok else 'NOT MET'}")
sys.exit(0 if ok else 1)
PY
