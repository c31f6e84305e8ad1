"""Test code: lose the provider's connection at a chosen moment.

A TCP proxy between the provider and PostgreSQL that reads the wire protocol's message frames.
It counts the client's requests (a simple Query, or an extended-protocol batch up to its Sync)
and, at request `at`, kills the connection the way a network or a server failure would:

- "before": the server never sees the request (it is terminated first);
- "during": the request is sent, and the backend is terminated at once (pg_terminate_backend
  from another session) while it works on it;
- "after": the server runs the request to the end (a COMMIT commits) and the backend is
  terminated before the client hears back.

Either way the client sees a broken connection, as after a lost network at COMMIT.
"""

import socket
import struct
import threading

import psycopg

# A request is a simple Query, or an extended-protocol batch (Parse, Bind, Describe, Execute,
# Close, Flush ... up to Sync). Authentication messages are not requests.
REQUEST_STARTS = {b"Q", b"P", b"B", b"D", b"E", b"C", b"H"}


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    head = _read_exact(sock, 5)
    length = struct.unpack("!I", head[1:])[0]
    return head[:1], head + _read_exact(sock, length - 4)


def _hang_up(*socks: socket.socket) -> None:
    """Close both ends so the peers see it at once (shutdown also wakes a thread blocked in recv)."""
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


class FaultProxy:
    def __init__(self, server: dict):
        """`server`: conninfo of the real PostgreSQL (also used to terminate backends)."""
        self.server = server
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.at: int | None = None
        self.mode = "after"
        self.requests = 0
        self.fired = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, at: int | None, mode: str = "after") -> None:
        """Fault at request number `at` (1-based, counted from now); None: never."""
        with self._lock:
            self.at, self.mode, self.requests = at, mode, 0
            self.fired.clear()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _terminate(self, pid: int) -> None:
        with psycopg.connect(**self.server, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection((self.server["host"], self.server["port"]))
        for sock in (client, upstream):  # messages are forwarded one by one: no Nagle delays
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state = {"pid": None, "swallow": False}
        in_batch = False  # inside an extended-protocol request (Parse ... Sync)
        try:
            self._startup(client, upstream)
            threading.Thread(target=self._downstream, args=(upstream, client, state), daemon=True).start()
            while True:
                kind, message = _read_message(client)
                fault = None
                if kind in REQUEST_STARTS and not in_batch:  # a new request begins
                    in_batch = kind != b"Q"
                    with self._lock:
                        self.requests += 1
                        fault = self.mode if self.requests == self.at else None
                elif kind == b"S":
                    in_batch = False
                if fault == "before":
                    self.fired.set()
                    self._terminate(state["pid"])
                    return
                if fault == "after":  # the answer is swallowed and the backend killed (_downstream)
                    state["swallow"] = True
                upstream.sendall(message)
                if fault == "during":
                    self.fired.set()
                    self._terminate(state["pid"])
                    return
                if kind == b"X":
                    return
        except (ConnectionError, OSError):
            pass
        finally:
            _hang_up(client, upstream)

    def _startup(self, client: socket.socket, upstream: socket.socket) -> None:
        while True:
            length = struct.unpack("!I", _read_exact(client, 4))[0]
            body = _read_exact(client, length - 4)
            upstream.sendall(struct.pack("!I", length) + body)
            code = struct.unpack("!I", body[:4])[0]
            if code in (80877103, 80877104):  # SSLRequest / GSSENCRequest: one-byte answer
                client.sendall(_read_exact(upstream, 1))
                continue
            return

    def _downstream(self, upstream: socket.socket, client: socket.socket, state: dict) -> None:
        try:
            while True:
                kind, message = _read_message(upstream)
                if kind == b"K":  # BackendKeyData: the backend's pid
                    state["pid"] = struct.unpack("!I", message[5:9])[0]
                if state["swallow"]:
                    if kind == b"Z":  # the request is done (a COMMIT committed): now lose it all
                        self.fired.set()
                        self._terminate(state["pid"])
                        _hang_up(client, upstream)
                        return
                    continue
                client.sendall(message)
        except (ConnectionError, OSError):
            _hang_up(client, upstream)
