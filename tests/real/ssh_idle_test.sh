#!/usr/bin/env bash
# An ssh session through edge-connector left idle 30 s (no byte either way: no keepalives on
# either side), then used: the command runs over the same TCP connection, which edge-connector
# kept open the whole time.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=sshd.sh
. "$here/sshd.sh"

idle=30
t0=$SECONDS

step "sshd behind SRV _ssh._tcp.real.test, edge-connector from the old container's variables"
ssh_behind_edge
# ssh's ControlMaster keeps one connection that later commands use (ControlMaster=no: they never
# become masters themselves; if the socket were gone they would open a new connection, which
# the connection count below catches). No keepalives from the client either.
mux=(-o ControlPath="$real_dir/mux" -o ControlPersist=no -o ServerAliveInterval=0
  -o TCPKeepAlive=no)

# Fields of the open connections, one line each: id bytes_to_target bytes_to_client idle_s
# (seconds, with a fraction).
open_connections() {
  admin_get /connections | python3 -c '
import json, sys
for c in json.load(sys.stdin)["connections"]:
    print(c["id"], c["bytes_to_target"], c["bytes_to_client"], c["idle_s"])'
}
# Access-log events of one kind so far.
count_events() { grep -cE "\"event\": ?\"$1\"" "$real_dir/edge.log" || true; }

# Start from no open connection (wait_port's probe has gone) and its lines written, so every
# later open event is ours.
deadline=$((SECONDS + 10))
until [ -z "$(open_connections)" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "connections still open before the test"
  sleep 0.2
done
sleep 0.5
opens_before=$(count_events open)

step "ssh master connection through 127.0.0.1:$EDGE_PORT"
start_bg ssh-master ssh "${ssh_opts[@]}" "${mux[@]}" -o ControlMaster=yes -N 127.0.0.1
deadline=$((SECONDS + 15))
until ssh "${ssh_opts[@]}" "${mux[@]}" -O check 127.0.0.1 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the ssh master did not come up"
  sleep 0.2
done
[ "$(ssh "${ssh_opts[@]}" "${mux[@]}" -o ControlMaster=no 127.0.0.1 echo before)" = before ] ||
  fail "the first command over the master connection failed"
read -r id to_target to_client _ <<<"$(open_connections)"
[ "$(open_connections | wc -l)" -eq 1 ] || fail "expected one open connection: $(open_connections)"
step "connection $id open ($to_target bytes to sshd, $to_client to the client)"

step "idle $idle s"
sleep "$idle"
read -r id2 to_target2 to_client2 idle_s <<<"$(open_connections)"
[ "$id2" = "$id" ] || fail "connection $id is gone after the idle time (now: ${id2:-none})"
[ "$to_target2/$to_client2" = "$to_target/$to_client" ] ||
  fail "bytes moved while idle: $to_target/$to_client -> $to_target2/$to_client2"
[ "${idle_s%.*}" -ge $((idle - 2)) ] || fail "edge-connector saw the connection idle only $idle_s s"
step "still open, no byte moved, idle_s=$idle_s"

out=$(timeout 20 ssh "${ssh_opts[@]}" "${mux[@]}" -o ControlMaster=no 127.0.0.1 echo ok) ||
  fail "the command after the idle time failed"
[ "$out" = ok ] || fail "the command after the idle time printed '$out'"
read -r id3 to_target3 _ <<<"$(open_connections)"
if [ "$id3" != "$id" ] || [ "$to_target3" -le "$to_target" ]; then
  fail "the command did not go over connection $id ($(open_connections))"
fi
step "command over the same connection: $out"

# After the client's disconnect message either side may close first: both are a normal end.
ssh "${ssh_opts[@]}" "${mux[@]}" -O exit 127.0.0.1 2>/dev/null || fail "ssh -O exit failed"
deadline=$((SECONDS + 10))
until line=$(access_log | grep -F "\"id\":\"$id\""); do
  [ "$SECONDS" -lt "$deadline" ] || fail "no access-log close line for connection $id"
  sleep 0.2
done
opens=$(($(count_events open) - opens_before))
[ "$opens" -eq 1 ] || fail "edge-connector saw $opens connections for one ssh session"
step "access log: $line"
echo "$line" | python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
normal = e["close"] in ("client_closed", "target_closed") and "error" not in e
sys.exit(0 if normal and e["duration_ms"] >= int(sys.argv[1]) * 1000 else 1)
' "$idle" || fail "connection $id did not end normally after $idle s"
step "total $((SECONDS - t0)) s"
