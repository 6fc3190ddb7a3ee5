#!/usr/bin/env bash
# Postfix behind edge-connector with the PROXY protocol: a private Postfix instance (its own
# configuration, queue and mailboxes in the scratch directory; /etc/postfix is only read) whose
# postscreen expects a PROXY header (postscreen_upstream_proxy_protocol = haproxy), found
# through an _smtp._tcp SRV record; edge-connector --send-proxy v2 in front. A client on
# 127.0.0.5 sends a mail: the delivered mail's Received: header must name 127.0.0.5, the
# address only the PROXY header carried (edge-connector itself connects from 127.0.0.1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/real/lib.sh
source "$here/lib.sh"

client_ip=127.0.0.5
pf_conf=$real_dir/postfix
pf_pid_file=$real_dir/spool/pid/master.pid

# Postfix's master daemonizes, so lib.sh's cleanup cannot reach it: stop it first (postfix
# stop waits up to 5 s and then kills the instance's process group), then make sure.
postfix_stop() {
  [ -s "$pf_pid_file" ] || return 0
  local pid state
  pid=$(awk '{ print $1; exit }' "$pf_pid_file")
  timeout 15 postfix -c "$pf_conf" stop >/dev/null 2>&1 || true
  for _ in $(seq 50); do
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)
    [ -n "$state" ] && [ "$state" != Z ] || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}
trap 'postfix_stop; real_cleanup' EXIT

# The postfix command reports its errors on syslog, and on stderr only when it is a terminal:
# run it again under script(1) to show why it failed.
postfix_why() { script -qec "postfix -c $pf_conf $1" /dev/null 2>&1 | tr -d '\r' || true; }

step "postfix: private instance in $real_dir (config, queue, data, mailboxes, log)"
smtp_port=$(free_port)
mkdir "$pf_conf" "$real_dir/spool" "$real_dir/data" "$real_dir/vmail"
chown postfix:postfix "$real_dir/data"
chown 65534:65534 "$real_dir/vmail"  # virtual(8) delivers as nobody (virtual_uid_maps)
cat >"$pf_conf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $real_dir/spool
data_directory = $real_dir/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $real_dir
maillog_file = $real_dir/postfix.log
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = smtp.real.test
mydomain = real.test
myorigin = real.test
mynetworks = 127.0.0.1/32
mydestination =
relayhost =
alias_maps =
alias_database =
# no reverse DNS for the client: the test host may have no resolver
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
virtual_mailbox_domains = real.test
virtual_mailbox_base = $real_dir/vmail
virtual_mailbox_maps = inline:{ {user@real.test=user/} }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
# postscreen reads the client's address from a PROXY header (v1 or v2) before anything else
postscreen_upstream_proxy_protocol = haproxy
postscreen_upstream_proxy_timeout = 2s
postscreen_greet_wait = 1s
CONF
# No chroot (Debian's master.cf chroots most services, which needs copies of /etc files).
cat >"$pf_conf/master.cf" <<CONF
$smtp_port inet n - n - 1 postscreen
smtpd      pass  - - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n - 0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n - - trivial-rewrite
bounce     unix  - - n - 0 bounce
defer      unix  - - n - 0 bounce
trace      unix  - - n - 0 bounce
verify     unix  - - n - 1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n - - proxymap
proxywrite unix  - - n - 1 proxymap
smtp       unix  - - n - - smtp
relay      unix  - - n - - smtp
showq      unix  n - n - - showq
error      unix  - - n - - error
retry      unix  - - n - - error
discard    unix  - - n - - discard
virtual    unix  - n n - - virtual
anvil      unix  - - n - 1 anvil
scache     unix  - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
CONF
timeout 20 postfix -c "$pf_conf" check || fail "postfix check: $(postfix_why check)"
# start returns once the master has bound its listeners (master -w)
timeout 20 postfix -c "$pf_conf" start >"$real_dir/postfix-start.out" 2>&1 ||
  fail "postfix start: $(postfix_why start)"

step "without a PROXY header postscreen refuses the client (direct, port $smtp_port)"
swaks_common=(--from sender@example.org --to user@real.test --local-interface "$client_ip"
  --timeout 15 --silent 1)
if timeout 30 swaks --server "127.0.0.1:$smtp_port" "${swaks_common[@]}" \
  >"$real_dir/swaks-direct.out" 2>&1; then
  fail "postscreen accepted mail without a PROXY header"
fi
grep -q '421' "$real_dir/swaks-direct.out" ||
  fail "no 421 without the PROXY header: $(cat "$real_dir/swaks-direct.out")"
grep -q 'postscreen.*warning: haproxy read' "$real_dir/postfix.log" ||
  fail "postscreen did not log the missing PROXY header"

step "dnsmasq: _smtp._tcp.real.test -> smtp.real.test:$smtp_port; edge-connector --send-proxy v2"
start_dns "--srv-host=_smtp._tcp.real.test,smtp.real.test,$smtp_port" \
  --host-record=smtp.real.test,127.0.0.1
start_edge --target _smtp._tcp.real.test --send-proxy v2

step "swaks from $client_ip through edge-connector (127.0.0.1:$EDGE_PORT)"
token=edge-real-$RANDOM$RANDOM
timeout 30 swaks --server "127.0.0.1:$EDGE_PORT" "${swaks_common[@]}" \
  --header "Subject: $token" --body "sent through edge-connector ($token)" \
  >"$real_dir/swaks.out" 2>&1 || fail "swaks through edge-connector: $(cat "$real_dir/swaks.out")"

step "delivery: the mailbox, its Received: header, postscreen's and edge-connector's logs"
deadline=$((SECONDS + 20))
mailbox=$real_dir/vmail/user/new  # user/ in virtual_mailbox_maps: a Maildir
until mail=$(grep -l "$token" "$mailbox"/* 2>/dev/null | head -n 1) && [ -n "$mail" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the mail was not delivered within 20 s"
  sleep 0.2
done
python3 - "$mail" "$client_ip" <<'PY' || fail "Received: header check"
import email, sys
path, client = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    msg = email.message_from_binary_file(f)
received = " ".join(msg.get_all("Received", [])[0].split())  # the topmost: Postfix's smtpd
print("Received:", received)
assert f"[{client}]" in received, f"the Received: header does not name {client}"
assert "by smtp.real.test (Postfix)" in received, "not received by the test's Postfix"
PY
# postscreen saw the client's address from the header, and let it through to smtpd.
grep -q "postscreen.*CONNECT from \[$client_ip\]" "$real_dir/postfix.log" ||
  fail "postscreen did not see $client_ip"
grep -q "postscreen.*PASS NEW \[$client_ip\]" "$real_dir/postfix.log" ||
  fail "postscreen did not pass $client_ip"
deadline=$((SECONDS + 5))
until access_log | grep -q "\"client\": \?\"$client_ip:"; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no access-log close event for $client_ip"
  sleep 0.1
done
access_log | grep "\"client\": \?\"$client_ip:"
step "ok"
