"""One redis client connection held open for the whole life of the container.

It connects over TCP to 127.0.0.1:REDIS_PORT, or over the unix socket REDIS_SOCKET when set.

Every PERIOD_MS it sends PING on that connection and prints `tick <ms> <n>`; the test reads the
largest gap between ticks as the downtime the client saw. On SIGUSR1 it asks, on the same
connection: CLIENT ID, PING, DBSIZE and a few values, and prints one `check` line with its own
local port (the same TCP connection keeps the same port; every connection keeps its server-side
client id).
"""

import os
import signal
import socket
import sys
import time

PORT = int(os.environ.get("REDIS_PORT", "6379"))
SOCKET = os.environ.get("REDIS_SOCKET", "")
PERIOD_MS = int(os.environ.get("PERIOD_MS", "20"))
SAMPLE_KEYS = ["key:0", "key:4242", "key:%d" % (int(os.environ.get("KEYS", "100000")) - 1)]

wanted = False


def on_usr1(_signum, _frame):
    global wanted
    wanted = True


def command(conn, reader, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    conn.sendall(out)
    return reply(reader)


def reply(reader):
    line = reader.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)
        return data[:-2].decode()
    raise ValueError("unexpected reply %r" % line)


def local_port(conn):
    """The connection's own TCP port (0 on a unix socket)."""
    return 0 if conn.family == socket.AF_UNIX else conn.getsockname()[1]


def main():
    signal.signal(signal.SIGUSR1, on_usr1)
    if SOCKET:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(SOCKET)
    else:
        conn = socket.create_connection(("127.0.0.1", PORT))
    reader = conn.makefile("rb")
    client_id = command(conn, reader, "CLIENT", "ID")
    print("connected id=%s port=%d" % (client_id, local_port(conn)), flush=True)
    global wanted
    n = 0
    while True:
        if wanted:
            wanted = False
            values = ",".join("%s=%s" % (k, command(conn, reader, "GET", k)) for k in SAMPLE_KEYS)
            print(
                "check id=%s port=%d ping=%s dbsize=%s %s"
                % (
                    command(conn, reader, "CLIENT", "ID"),
                    local_port(conn),
                    command(conn, reader, "PING"),
                    command(conn, reader, "DBSIZE"),
                    values,
                ),
                flush=True,
            )
        n += 1
        pong = command(conn, reader, "PING")
        if pong != "PONG":
            print("bad reply %r" % pong, flush=True)
            sys.exit(1)
        print("tick %d %d" % (time.time() * 1000, n), flush=True)
        time.sleep(PERIOD_MS / 1000)


main()
