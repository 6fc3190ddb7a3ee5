#!/usr/bin/env python3
"""A pool of LDAP connections held open: bind on each, stay idle, then search on each.

A minimal LDAPv3 client (RFC 4511 BER, standard library only): simple bind, subtree search
counting the entries, unbind. Usage:
  pool.py HOST PORT BIND_DN PASSWORD BASE CONNECTIONS IDLE_SECONDS SEARCHES EXPECTED_ENTRIES
Prints "bound PORT..." (the local ports) once every connection is bound, then idles, then
"searched N" and exits 0; any failure exits 1 with the reason.
"""
import socket
import sys
import time


def ber_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag, content):
    return bytes([tag]) + ber_len(len(content)) + content


def ber_int(tag, n):
    return tlv(tag, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def message(msg_id, op):
    return tlv(0x30, ber_int(0x02, msg_id) + op)


def bind_request(msg_id, dn, password):
    # [APPLICATION 0] { version 3, name, simple [0] password }
    return message(msg_id, tlv(0x60, ber_int(0x02, 3) + tlv(0x04, dn.encode())
                               + tlv(0x80, password.encode())))


def search_request(msg_id, base):
    # [APPLICATION 3] { base, wholeSubtree, neverDerefAliases, no size/time limit,
    # typesOnly false, (objectClass=*) as present [7], attributes: all user attributes }
    op = (tlv(0x04, base.encode()) + ber_int(0x0A, 2) + ber_int(0x0A, 0) + ber_int(0x02, 0)
          + ber_int(0x02, 0) + tlv(0x01, b"\x00") + tlv(0x87, b"objectClass") + tlv(0x30, b""))
    return message(msg_id, tlv(0x63, op))


def unbind_request(msg_id):
    return message(msg_id, tlv(0x42, b""))


def parse_tlv(buf, pos):
    """Returns (tag, content start, content end) of the TLV at pos, or None if incomplete."""
    if pos + 2 > len(buf):
        return None
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if pos + count > len(buf):
            return None
        length = int.from_bytes(buf[pos:pos + count], "big")
        pos += count
    if pos + length > len(buf):
        return None
    return tag, pos, pos + length


class Connection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""
        self.next_id = 1

    def send(self, build, *args):
        msg_id = self.next_id
        self.next_id += 1
        self.sock.sendall(build(msg_id, *args))
        return msg_id

    def receive(self):
        """One LDAPMessage: (message id, protocolOp tag, protocolOp content)."""
        while True:
            whole = parse_tlv(self.buf, 0)
            if whole:
                break
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("connection closed by the server (or edge-connector)")
            self.buf += data
        _, start, end = whole
        msg = self.buf[start:end]
        self.buf = self.buf[end:]
        _, id_start, id_end = parse_tlv(msg, 0)
        msg_id = int.from_bytes(msg[id_start:id_end], "big")
        op_tag, op_start, op_end = parse_tlv(msg, id_end)
        return msg_id, op_tag, msg[op_start:op_end]

    @staticmethod
    def result(op):
        """resultCode and diagnosticMessage of an LDAPResult."""
        _, start, end = parse_tlv(op, 0)
        code = int.from_bytes(op[start:end], "big")
        _, dn_start, dn_end = parse_tlv(op, end)
        _, msg_start, msg_end = parse_tlv(op, dn_end)
        return code, op[msg_start:msg_end].decode(errors="replace")

    def bind(self, dn, password):
        msg_id = self.send(bind_request, dn, password)
        got_id, tag, op = self.receive()
        if got_id != msg_id or tag != 0x61:
            raise RuntimeError(f"bind: unexpected answer id {got_id} tag {tag:#x}")
        code, diag = self.result(op)
        if code != 0:
            raise RuntimeError(f"bind: result {code} {diag}")

    def search(self, base):
        """The DNs the subtree search returned."""
        msg_id = self.send(search_request, base)
        dns = []
        while True:
            got_id, tag, op = self.receive()
            if got_id != msg_id:
                raise RuntimeError(f"search: answer for message {got_id}, expected {msg_id}")
            if tag == 0x64:  # SearchResultEntry: objectName first
                _, start, end = parse_tlv(op, 0)
                dns.append(op[start:end].decode())
            elif tag == 0x65:  # SearchResultDone
                code, diag = self.result(op)
                if code != 0:
                    raise RuntimeError(f"search: result {code} {diag}")
                return dns
            elif tag != 0x73:  # a SearchResultReference is not expected either way
                raise RuntimeError(f"search: unexpected answer tag {tag:#x}")

    def close(self):
        self.send(unbind_request)
        self.sock.close()


def main():
    host, port, dn, password, base = sys.argv[1:6]
    count, idle, searches, expected = (int(a) for a in sys.argv[6:10])
    pool = [Connection(host, int(port)) for _ in range(count)]
    for conn in pool:
        conn.bind(dn, password)
    ports = [conn.sock.getsockname()[1] for conn in pool]
    print("bound", *ports, flush=True)
    # No byte on any connection while idle: they must still be there afterwards.
    time.sleep(idle)
    started = time.monotonic()
    for _ in range(searches):
        for conn in pool:
            dns = conn.search(base)
            if len(dns) != expected or base not in dns:
                raise RuntimeError(f"search returned {len(dns)} entries, expected {expected}: "
                                   f"{dns}")
    # The same sockets throughout: a reconnect would have shown a new local port.
    if [conn.sock.getsockname()[1] for conn in pool] != ports:
        raise RuntimeError("a connection changed its local port")
    print(f"searched {searches * count} in {time.monotonic() - started:.2f} s", flush=True)
    for conn in pool:
        conn.close()


if __name__ == "__main__":
    try:
        main()
    except (OSError, RuntimeError) as err:
        print(f"pool.py: {err}", file=sys.stderr)
        sys.exit(1)
