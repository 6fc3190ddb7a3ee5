# edge-connector on every Nomad client of the edge node class, as the old container ran on every
# edge host: a system job (one allocation per eligible node), host networking, targets from
# Consul DNS. Not validated here (no nomad in Debian 12); `nomad job validate` checks it.
#
#   nomad job run deploy/nomad/edge-connector.nomad.hcl
#
# Scale out by adding clients with node_class = "edge": the system scheduler places one
# allocation on each. The target is a Consul service's SRV record, _NAME._tcp.service.consul,
# asked of the local Consul agent's DNS interface (127.0.0.1:8600 by default).
job "edge-connector-sftp" {
  type = "system"

  constraint {
    attribute = "${node.class}"
    value     = "edge"
  }

  update {
    max_parallel = 1  # one edge node at a time
    stagger      = "30s"
  }

  group "edge" {
    network {
      mode = "host"
      port "sftp" {
        static = 2222  # LISTENER_PORT; below 1024 needs CAP_NET_BIND_SERVICE (see README)
      }
    }

    # Registered in Consul so edge nodes can be found by DNS too (_edge-connector-sftp._tcp).
    service {
      name     = "edge-connector-sftp"
      port     = "sftp"
      provider = "consul"

      # Readiness from the admin endpoint, run inside the task: no curl needed.
      check {
        name     = "ready"
        type     = "script"
        task     = "edge-connector"
        command  = "/usr/local/bin/edge-connector"
        args     = ["healthcheck", "--ready"]
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "edge-connector" {
      driver = "docker"

      config {
        image           = "localhost/edge-connector:VERSION"
        network_mode    = "host"
        readonly_rootfs = true
        cap_drop        = ["all"]
        ulimit {
          nofile = "1048576:1048576"
        }
      }

      env {
        LISTENER_PORT                = "${NOMAD_PORT_sftp}"
        ECS_SERVICE_DISCOVERY_TARGET = "_sftp._tcp.service.consul"
        ECS_SERVICE_DISCOVERY_TYPE   = "SRV"
        # Consul's DNS interface on this client; host networking, so loopback is the agent's.
        DNS_SERVERS                  = "127.0.0.1:8600"
        EDGE_DRAIN_DELAY             = "5s"
        EDGE_DRAIN_TIMEOUT           = "20s"
        # The admin endpoint is on the host's loopback: pick a port free on every edge node.
        EDGE_ADMIN = "127.0.0.1:9901"
      }

      # Deregister from Consul first, then SIGTERM: drain delay + timeout (25 s) fit in 30 s.
      shutdown_delay = "5s"
      kill_signal    = "SIGTERM"
      kill_timeout   = "30s"

      resources {
        cpu    = 200  # MHz
        memory = 256  # MiB; socket buffers and splice pipes count: size it for the load
      }

      logs {
        max_files     = 5
        max_file_size = 50
      }
    }
  }
}
