# shellcheck shell=bash
# Shared by the OpenSSH tests (sourced after lib.sh): an sshd of our own on a free loopback port,
# found through an SRV record, behind an edge-connector configured only by the old container's
# environment variables; ssh_opts holds the client options that reach it through edge-connector.

# shellcheck disable=SC2154  # real_dir comes from lib.sh
# ssh_behind_edge: sets SSHD_PORT, EDGE_PORT, ADMIN_PORT and ssh_opts.
ssh_behind_edge() {
  local user
  user=$(id -un)
  # sshd run as root checks its privilege separation directory (Debian keeps it in /run).
  if [ "$(id -u)" -eq 0 ]; then mkdir -p /run/sshd; fi
  ssh-keygen -q -t ed25519 -N '' -C real-test-host -f "$real_dir/host_key"
  ssh-keygen -q -t ed25519 -N '' -C real-test-client -f "$real_dir/client_key"
  cp "$real_dir/client_key.pub" "$real_dir/authorized_keys"

  SSHD_PORT=$(free_port)
  # Key-only login for the user running the test (root in CI). The scratch directory sits in
  # world-writable /tmp, which StrictModes would refuse for the authorized keys file.
  {
    echo "ListenAddress 127.0.0.1:$SSHD_PORT"
    echo "HostKey $real_dir/host_key"
    echo "PidFile none"
    echo "UsePAM no"
    echo "StrictModes no"
    echo "PermitRootLogin prohibit-password"
    echo "AllowUsers $user"
    echo "AuthorizedKeysFile $real_dir/authorized_keys"
    echo "PubkeyAuthentication yes"
    echo "PasswordAuthentication no"
    echo "KbdInteractiveAuthentication no"
    echo "Subsystem sftp internal-sftp"
    # No keepalive of any kind from the server: an idle session must move no byte.
    echo "ClientAliveInterval 0"
    echo "TCPKeepAlive no"
    echo "LogLevel VERBOSE"
  } >"$real_dir/sshd_config"
  /usr/sbin/sshd -t -f "$real_dir/sshd_config" || fail "sshd rejects its configuration"
  start_bg sshd /usr/sbin/sshd -D -e -f "$real_dir/sshd_config"
  wait_port 127.0.0.1 "$SSHD_PORT"

  start_dns "--srv-host=_ssh._tcp.real.test,sshd.real.test,$SSHD_PORT" \
    --host-record=sshd.real.test,127.0.0.1
  # The old container's variables, unchanged (SRV is the default type): a drop-in replacement.
  # LISTENER_PORT takes an address too, which keeps the test on loopback.
  LISTENER_PORT="127.0.0.1:$(free_port)"
  ECS_SERVICE_DISCOVERY_TARGET=_ssh._tcp.real.test
  export LISTENER_PORT ECS_SERVICE_DISCOVERY_TARGET
  start_edge

  # shellcheck disable=SC2034  # used by the tests that source this file
  ssh_opts=(-F /dev/null -o Port="$EDGE_PORT" -o User="$user" -i "$real_dir/client_key"
    -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10)
}

# admin_get PATH: the admin endpoint's answer.
admin_get() { curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN_PORT$1"; }
