#!/usr/bin/env bash
# OpenLDAP behind edge-connector: slapd on loopback found through an _ldap._tcp SRV record;
# ldapsearch through it, then a pool of 5 LDAP connections bound, idle 30 s, then 100 searches
# each, on the same 5 TCP connections throughout. LDAP_IDLE_SECONDS=N shortens the idle by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/real/lib.sh
source "$here/lib.sh"

base=dc=real,dc=test
root_dn=cn=admin,$base
root_pw=real-secret
entries=5  # tests/real/ldap/data.ldif
idle=${LDAP_IDLE_SECONDS:-30}

step "slapd: own configuration and mdb database in $real_dir"
mkdir "$real_dir/ldap-db"
cat >"$real_dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $real_dir/slapd.pid
database mdb
maxsize 10485760
suffix "$base"
rootdn "$root_dn"
rootpw $root_pw
directory $real_dir/ldap-db
CONF
slapadd -f "$real_dir/slapd.conf" -l "$here/ldap/data.ldif" >"$real_dir/slapadd.log" 2>&1 ||
  fail "slapadd could not load the entries"
ldap_port=$(free_port)
# -d keeps slapd in the foreground (so start_bg's kill ends it); stats logs each connection.
start_bg slapd slapd -d stats -f "$real_dir/slapd.conf" -h "ldap://127.0.0.1:$ldap_port/"
wait_port 127.0.0.1 "$ldap_port" 20

step "dnsmasq: _ldap._tcp.real.test -> ldap.real.test:$ldap_port; edge-connector"
start_dns "--srv-host=_ldap._tcp.real.test,ldap.real.test,$ldap_port" \
  --host-record=ldap.real.test,127.0.0.1
start_edge --target _ldap._tcp.real.test

step "ldapsearch through edge-connector (127.0.0.1:$EDGE_PORT)"
timeout 20 ldapsearch -x -LLL -o nettimeout=10 -H "ldap://127.0.0.1:$EDGE_PORT" \
  -D "$root_dn" -w "$root_pw" -b "$base" dn \
  >"$real_dir/ldapsearch.out" 2>"$real_dir/ldapsearch.log" ||
  fail "ldapsearch through edge-connector failed"
found=$(grep -c '^dn: ' "$real_dir/ldapsearch.out" || true)
[ "$found" -eq "$entries" ] || fail "ldapsearch returned $found entries, expected $entries"
grep -qx "dn: uid=carol,ou=people,$base" "$real_dir/ldapsearch.out" ||
  fail "ldapsearch did not return uid=carol"
echo "ldapsearch: $found entries"

# The connections so far (ldapsearch's, wait_port's probes) must be over and logged before the
# pool starts, so the pool's are exactly the ones that come after.
opens() { grep -cE '"event": ?"open"' "$real_dir/edge.log" || true; }
deadline=$((SECONDS + 5))
until [ "$(opens)" -eq "$(access_log | wc -l)" ] && [ "$(opens)" -gt 0 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "connections before the pool did not close"
  sleep 0.1
done
sleep 0.3  # one more batch of log lines, in case
closes_before=$(access_log | wc -l)
slapd_accepts() { grep -c ' ACCEPT from ' "$real_dir/slapd.log" || true; }
accepts_before=$(slapd_accepts)

step "pool: 5 connections bound, idle ${idle} s, then 100 searches on each"
touch "$real_dir/pool.out"
python3 "$here/ldap/pool.py" 127.0.0.1 "$EDGE_PORT" "$root_dn" "$root_pw" "$base" 5 "$idle" 100 \
  "$entries" >"$real_dir/pool.out" 2>"$real_dir/pool.log" &
pool_pid=$!
real_pids+=("$pool_pid")
deadline=$((SECONDS + 20))
until grep -q '^bound ' "$real_dir/pool.out"; do
  kill -0 "$pool_pid" 2>/dev/null || fail "the pool client ended before binding"
  [ "$SECONDS" -lt "$deadline" ] || fail "the pool client did not bind within 20 s"
  sleep 0.1
done
read -r -a pool_ports <<<"$(sed -n 's/^bound //p' "$real_dir/pool.out")"
echo "pool bound, local ports ${pool_ports[*]}"

# Late in the idle, edge-connector holds exactly the pool's 5 connections (ldapsearch's is
# gone), and none of them has moved a byte since the binds.
look=$((idle > 4 ? idle - 3 : 1))
sleep "$look"
curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/connections" >"$real_dir/connections.json" ||
  fail "admin /connections did not answer"
# idle_s is kept with about a second of granularity: allow 2 s.
python3 - "$real_dir/connections.json" "$((look > 2 ? look - 2 : 0))" "${pool_ports[@]}" <<'PY' ||
import json, sys
path, quiet, ports = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
conns = json.load(open(path))["connections"]
got = sorted(c["client"].rsplit(":", 1)[1] for c in conns)
assert got == sorted(ports), f"/connections shows client ports {got}, the pool's are {ports}"
for c in conns:
    assert c["idle_s"] >= quiet, f"a pool connection was not idle for {quiet} s: {c}"
least = min(c["idle_s"] for c in conns)
print(f"idle: /connections shows the pool's 5 connections, each idle for {least} s or more")
PY
  fail "/connections during the idle: $(cat "$real_dir/connections.json")"

# Bounded: the idle, then 500 searches (well under a second on loopback), with margin.
deadline=$((SECONDS + idle + 30))
while kill -0 "$pool_pid" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the pool client did not finish in time"
  sleep 0.2
done
wait "$pool_pid" || fail "the pool client failed: $(cat "$real_dir/pool.log")"
cat "$real_dir/pool.out"

step "access log: the pool was 5 connections from start to end, each closed normally"
# Close lines are written in batches (~100 ms); allow a few seconds for them to appear.
deadline=$((SECONDS + 5))
until [ "$(access_log | wc -l)" -ge $((closes_before + 5)) ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "expected 5 more close events, got $(access_log | wc -l)"
  sleep 0.1
done
sleep 0.3  # a further line (an unexpected reconnect) would show up in the same batch
access_log | tail -n +$((closes_before + 1)) >"$real_dir/closes.json"
python3 - "$real_dir/closes.json" "$idle" "${pool_ports[@]}" <<'PY' || fail "access log check"
import json, sys
path, idle, ports = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pool = [json.loads(line) for line in open(path)]
assert len(pool) == 5, f"{len(pool)} connections since the pool started, expected 5: {pool}"
got = sorted(c["client"].rsplit(":", 1)[1] for c in pool)
assert got == sorted(ports), f"closed connections from ports {got}, the pool's are {ports}"
for c in pool:
    # After the unbind the client closes and so does slapd: either FIN may come first.
    assert c["close"] in ("client_closed", "target_closed"), f"closed with {c['close']}: {c}"
    assert c["attempts"] == 1 and c["target_name"].rstrip(".") == "ldap.real.test", c
    assert c["duration_ms"] >= idle * 1000, f"pool connection shorter than the idle: {c}"
print("pool connections:", ", ".join(
    f"{c['client']} {c['duration_ms']} ms {c['bytes_to_target']}/{c['bytes_to_client']} B"
    for c in pool))
PY
# slapd's view agrees: the pool cost it exactly 5 connections.
accepted=$(($(slapd_accepts) - accepts_before))
[ "$accepted" -eq 5 ] || fail "slapd accepted $accepted connections for the pool, expected 5"
step "ok"
