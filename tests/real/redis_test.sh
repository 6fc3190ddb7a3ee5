#!/usr/bin/env bash
# redis-cli through edge-connector to a redis-server found by an A record (--type a
# --target-port): SET/GET, a 1 MiB value both ways, PING, a pipeline of 10,000 commands, and the
# server's view of its clients (the address it sees belongs to edge-connector).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

t0=$SECONDS
step "redis-server on loopback, behind A redis.real.test"
REDIS_PORT=$(free_port)
# No persistence: nothing is written but the log, and only in the scratch directory.
start_bg redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --dir "$real_dir"
deadline=$((SECONDS + 10))
until [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING 2>/dev/null)" = PONG ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "redis-server did not answer on port $REDIS_PORT"
  sleep 0.1
done
start_dns --host-record=redis.real.test,127.0.0.1
start_edge --target redis.real.test --type a --target-port "$REDIS_PORT"

# Every command below goes through edge-connector.
rc() { timeout 20 redis-cli -h 127.0.0.1 -p "$EDGE_PORT" "$@"; }
expect() {
  local want=$1 got
  shift
  got=$(rc "$@") || fail "redis-cli $* failed"
  [ "$got" = "$want" ] || fail "redis-cli $*: expected '$want', got '$got'"
}

step "PING, SET, GET through 127.0.0.1:$EDGE_PORT"
expect PONG PING
expect OK SET real:greeting "hello through edge-connector"
expect "hello through edge-connector" GET real:greeting

step "1 MiB value round trip"
head -c $((1024 * 1024)) /dev/urandom >"$real_dir/big.bin"
rc -x SET real:big <"$real_dir/big.bin" >"$real_dir/set.out" || fail "SET of 1 MiB failed"
[ "$(cat "$real_dir/set.out")" = OK ] || fail "SET of 1 MiB: $(cat "$real_dir/set.out")"
expect $((1024 * 1024)) STRLEN real:big
# --raw prints the value's bytes, then a newline.
rc --raw GET real:big >"$real_dir/big.out" || fail "GET of 1 MiB failed"
[ "$(stat -c %s "$real_dir/big.out")" -eq $((1024 * 1024 + 1)) ] ||
  fail "GET of 1 MiB returned $(stat -c %s "$real_dir/big.out") bytes"
head -c $((1024 * 1024)) "$real_dir/big.out" | cmp -s - "$real_dir/big.bin" ||
  fail "the 1 MiB value came back different"

step "pipeline of 10,000 SETs (redis-cli --pipe)"
# The raw protocol, as redis-cli --pipe wants it ($ is RESP's, not the shell's).
# shellcheck disable=SC2016
python3 -c '
import sys
out = sys.stdout.buffer
for i in range(10000):
    k, v = b"real:key:%d" % i, b"value:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
' >"$real_dir/pipe.resp"
t=$SECONDS
rc --pipe <"$real_dir/pipe.resp" >"$real_dir/pipe.out" 2>&1 || fail "redis-cli --pipe failed"
grep -q "errors: 0, replies: 10000" "$real_dir/pipe.out" ||
  fail "pipeline: $(tail -n 1 "$real_dir/pipe.out")"
step "pipeline done in $((SECONDS - t)) s: $(tail -n 1 "$real_dir/pipe.out")"
expect 10002 DBSIZE
expect value:9999 GET real:key:9999

step "INFO clients with a second client held open"
# A client blocked in BLPOP keeps its connection through edge-connector open.
start_bg redis-holder timeout 40 redis-cli -h 127.0.0.1 -p "$EDGE_PORT" BLPOP real:wake 30
holder=${real_pids[-1]}
deadline=$((SECONDS + 10))
until rc INFO clients | grep -q '^blocked_clients:1'; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the BLPOP client never blocked"
  sleep 0.1
done
info=$(rc INFO clients | tr -d '\r')
echo "$info" | grep -qx 'connected_clients:2' || fail "INFO clients: $info"
step "INFO clients: $(echo "$info" | grep -E '^(connected|blocked)_clients' | paste -sd' ')"
# The address redis-server sees for the blocked client is edge-connector's socket.
addr=$(rc CLIENT LIST | grep 'cmd=blpop' | grep -o ' addr=[^ ]*' | cut -d= -f2)
[ -n "$addr" ] || fail "CLIENT LIST shows no blocked client"
owner=$(ss -Htnp state established "( sport = :${addr##*:} )")
echo "$owner" | grep -q '"edge-connector"' ||
  fail "redis-server's client $addr is not edge-connector's: $owner"
step "redis-server's client $addr is edge-connector's socket"
expect 1 LPUSH real:wake now
wait "$holder" || fail "the BLPOP client failed"
grep -q now "$real_dir/redis-holder.log" || fail "BLPOP returned: $(cat "$real_dir/redis-holder.log")"

# Every connection through edge-connector ended with the client closing it, no error (but
# wait_port's probe, which sent nothing and may have reset). Log lines come in batches.
sleep 0.5
bad=$(access_log | grep -v '"close":"client_closed"' | grep -v '"bytes_to_target":0,' || true)
[ -z "$bad" ] || fail "connections that did not close normally: $bad"
step "access log: $(access_log | wc -l) connections, all client_closed"
step "total $((SECONDS - t0)) s"
