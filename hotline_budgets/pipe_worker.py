"""A worker process of ours talking over two pipes: ``python -m MODULE RFD WFD ARGS…``.

The extraction workers (flows/isolation.py) and the validation process (load/validator.py) are
started this way: no fork of a process that runs Prefect's threads, no re-import of the caller's
main module, and the worker's imports are its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from multiprocessing.connection import Connection


class Duplex:
    """A reading and a writing Connection used as one (send, recv, poll, close)."""

    def __init__(self, reader: Connection, writer: Connection) -> None:
        self.reader, self.writer = reader, writer

    def send(self, obj) -> None:
        self.writer.send(obj)

    def recv(self):
        return self.reader.recv()

    def poll(self, timeout: float) -> bool:
        return self.reader.poll(timeout)

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


def spawn_worker(module: str, *args: str) -> tuple[subprocess.Popen, Duplex]:
    """Start ``python -m module`` with a pipe each way; the parent's end of both."""
    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", module, str(to_child_r), str(to_parent_w), *args],
                            pass_fds=(to_child_r, to_parent_w), stdin=subprocess.DEVNULL)
    os.close(to_child_r)
    os.close(to_parent_w)
    return proc, Duplex(Connection(to_parent_r, writable=False), Connection(to_child_w, readable=False))


def parent_connection(argv: list[str]) -> Duplex:
    """In the worker: its end of both pipes, from its command line (``argv[1:3]``)."""
    return Duplex(Connection(int(argv[1]), writable=False), Connection(int(argv[2]), readable=False))
