"""A UDP server on loopback for the DNS probe's tests: each datagram it gets is answered by what ``answer``
returns for it (none, one, or several datagrams, in order), from a thread of its own."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def udp_responder(answer: Callable[[bytes], list[bytes]]) -> Iterator[int]:
    """Serve while the block runs; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)  # how soon the thread sees ``stop``
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            for reply in answer(data):
                sock.sendto(reply, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()
