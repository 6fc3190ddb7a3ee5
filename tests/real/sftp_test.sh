#!/usr/bin/env bash
# OpenSSH's sftp through edge-connector: 256 MiB up and 256 MiB down in one session, both
# hash-checked, and the access log's close line accounting for every byte each way.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=sshd.sh
. "$here/sshd.sh"

size=$((256 * 1024 * 1024))
t0=$SECONDS

step "sshd behind SRV _ssh._tcp.real.test, edge-connector from the old container's variables"
ssh_behind_edge

step "256 MiB of random data each way"
head -c "$size" /dev/urandom >"$real_dir/up.bin"
head -c "$size" /dev/urandom >"$real_dir/served.bin"
# The server is on this machine: remote paths are local paths in the scratch directory.
cat >"$real_dir/batch" <<EOF
put $real_dir/up.bin $real_dir/uploaded.bin
get $real_dir/served.bin $real_dir/down.bin
EOF

step "sftp put and get through 127.0.0.1:$EDGE_PORT"
t=$SECONDS
timeout 150 sftp "${ssh_opts[@]}" -b "$real_dir/batch" 127.0.0.1 >"$real_dir/sftp.log" 2>&1 ||
  fail "sftp failed"
step "sftp done in $((SECONDS - t)) s"

hash() { sha256sum "$1" | cut -d' ' -f1; }
[ "$(hash "$real_dir/up.bin")" = "$(hash "$real_dir/uploaded.bin")" ] ||
  fail "the uploaded file differs from the original"
[ "$(hash "$real_dir/served.bin")" = "$(hash "$real_dir/down.bin")" ] ||
  fail "the downloaded file differs from the served one"
step "sha256 matches both ways"

# The sftp session is one connection that ended cleanly and carried at least the files' bytes
# each way (the SSH framing adds more). Access-log lines come in batches: wait a little.
check_close() {
  access_log | python3 -c '
import json, sys
size = int(sys.argv[1])
for line in sys.stdin:
    e = json.loads(line)
    if e["bytes_to_target"] >= size and e["bytes_to_client"] >= size:
        ok = e["close"] in ("client_closed", "target_closed") and "error" not in e
        print(line.strip())
        sys.exit(0 if ok else 2)
sys.exit(1)' "$size"
}
deadline=$((SECONDS + 5))
until line=$(check_close); do
  rc=$?
  [ "$rc" -eq 1 ] || fail "the sftp connection did not close normally: $line"
  [ "$SECONDS" -lt "$deadline" ] || fail "no access-log close line with 256 MiB each way"
  sleep 0.2
done
step "access log: $line"
step "total $((SECONDS - t0)) s"
