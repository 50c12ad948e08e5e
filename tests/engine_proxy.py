"""A stand-in for the Docker engine's socket that forwards to the real one and can be cut.

Cutting it is what a client sees when the daemon goes away mid-run (its API socket and every
attached stream close), without stopping the engine other tests share.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading


class EngineProxy:
    def __init__(self, path: str, upstream: str = "/var/run/docker.sock"):
        self.path, self.upstream = path, upstream
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> EngineProxy:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(self.path)
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """The engine goes away: no new connections, and every open one drops."""
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        with self.lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self.connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            engine = socket.socket(socket.AF_UNIX)
            engine.connect(self.upstream)
            with self.lock:
                self.connections += [client, engine]
            threading.Thread(target=self._pump, args=(client, engine), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select(list(peers), [], [])
                for sock in ready:
                    data = sock.recv(1 << 16)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # cut: the sockets were closed under us
            return
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()
