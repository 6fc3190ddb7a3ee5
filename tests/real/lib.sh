# shellcheck shell=bash
# Shared by the real-client tests (sourced): a scratch directory, free loopback ports, dnsmasq
# serving the test's records, edge-connector, bounded waits, and cleanup of everything started.
# EDGE_CONNECTOR_BIN names the daemon (CTest sets it); KEEP=1 keeps the scratch directory.
set -euo pipefail

EDGE_BIN=${EDGE_CONNECTOR_BIN:?EDGE_CONNECTOR_BIN must name the edge-connector binary}
real_dir=$(mktemp -d /tmp/edge-real.XXXXXX)
chmod 755 "$real_dir"  # servers that drop to their own user still read their files here
real_pids=()

real_cleanup() {
  local pid
  for pid in "${real_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${real_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$real_dir"
}
trap real_cleanup EXIT

# Prints the message and the tail of every log the test wrote, then fails the test.
fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$real_dir"/*.log; do
    [ -e "$f" ] || continue
    echo "--- $f" >&2
    tail -n 40 "$f" >&2
  done
  exit 1
}

step() { echo "[$(date +%T)] $*"; }

# A TCP port free on loopback right now (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port HOST PORT [SECONDS]: until something accepts there.
wait_port() {
  local deadline=$((SECONDS + ${3:-10}))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "nothing listens on $1:$2 after ${3:-10} s"
    sleep 0.1
  done
}

# start_bg NAME COMMAND...: runs COMMAND in the background, output in $real_dir/NAME.log; the
# process is killed at exit.
start_bg() {
  local name=$1
  shift
  "$@" >"$real_dir/$name.log" 2>&1 &
  real_pids+=($!)
}

# start_dns RECORD...: dnsmasq on 127.0.0.1:$DNS_PORT answering for *.test only, with records as
# dnsmasq options, e.g. --srv-host=_ssh._tcp.real.test,sshd.real.test,2222
#                       --host-record=sshd.real.test,127.0.0.1
# DNS_PORT is a free port unless the caller sets it (`DNS_PORT=53 start_dns ...` in a network
# namespace of its own). Log: $real_dir/dnsmasq-PORT.log.
start_dns() {
  DNS_PORT=${DNS_PORT:-$(free_port)}
  start_bg "dnsmasq-$DNS_PORT" dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
    --pid-file --bind-interfaces --listen-address=127.0.0.1 --port="$DNS_PORT" --local-ttl=1 \
    --local=/test/ --log-facility=- --log-queries "$@"
  local deadline=$((SECONDS + 10))
  until dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 version.bind chaos txt \
    >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "dnsmasq did not answer on port $DNS_PORT"
    sleep 0.1
  done
}

# start_edge ARG...: edge-connector on 127.0.0.1:$EDGE_PORT asking the test's dnsmasq, admin
# endpoint on 127.0.0.1:$ADMIN_PORT, JSON access log in $real_dir/edge.log. Extra arguments
# (--target, --type, ...) follow; environment variables pass through (the old container's
# LISTENER_PORT etc. work: with LISTENER_PORT exported no --listen is given and EDGE_PORT is
# its port).
start_edge() {
  local listen=()
  if [ -n "${LISTENER_PORT:-}" ]; then
    EDGE_PORT=${LISTENER_PORT##*:}
  else
    EDGE_PORT=${EDGE_PORT:-$(free_port)}
    listen=(--listen "127.0.0.1:$EDGE_PORT")
  fi
  ADMIN_PORT=$(free_port)
  start_bg edge "$EDGE_BIN" "${listen[@]}" --dns-server "127.0.0.1:$DNS_PORT" \
    --admin "127.0.0.1:$ADMIN_PORT" --log-format json "$@"
  wait_port 127.0.0.1 "$EDGE_PORT"
}

# access_log: the access-log close lines edge-connector wrote so far (JSON, one per connection).
access_log() { grep -E '"event": ?"close"' "$real_dir/edge.log" || true; }
