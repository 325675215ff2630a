"""`yibao serve --workers N`: N server processes, each listening on a socket of its own.

uvicorn's own supervisor binds one socket and hands it to every worker: whichever worker
is awake when connections arrive accepts all that have queued. A counter's clients keep
their connections, so the first split lasts: 64 connections opened together were split
48/16 between two workers, and once 64/0 (bench/settle_http.py prints "settlements a
process"), and the busier worker's queue is the whole server's latency while the other
process idles. Here each worker binds the address itself with SO_REUSEPORT, and the
kernel spreads new connections over the listening sockets by a hash of their addresses:
about evenly.

The supervisor (this process) checks the address can be bound before it starts anyone,
restarts a worker that dies (not one that dies while starting: that is a configuration
error, and the server stops with it), and on SIGINT or SIGTERM passes SIGTERM on: each
worker finishes its requests and runs its lifespan's end, as under uvicorn's own.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

logger = logging.getLogger("yibao.serve")
STARTING_SECONDS = 60.0  # a worker that dies sooner after its start failed to start
STOP_SECONDS = 30.0  # a worker still running this long after SIGTERM is killed


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def bound_socket(host: str, port: int) -> socket.socket:
    """The address bound with SO_REUSEPORT: one of several sockets the kernel spreads
    new connections over, once each listens."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run_worker(options: dict[str, Any]) -> None:
    """One worker process: uvicorn's server on a socket of its own."""
    config = uvicorn.Config(**options)
    uvicorn.Server(config).run(sockets=[bound_socket(config.host, config.port)])


class Supervisor:
    def __init__(self, options: dict[str, Any], workers: int) -> None:
        self.options = options
        self.workers = workers
        self.stopping = threading.Event()
        self.failed = False
        self._context = multiprocessing.get_context("spawn")  # as uvicorn's: no forked state

    def run(self) -> bool:
        """Serve until SIGINT or SIGTERM; False if a worker failed to start."""
        bound_socket(self.options["host"], self.options["port"]).close()  # taken: fail now
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
        running = [self._start() for _ in range(self.workers)]
        while not self.stopping.wait(0.5):
            running = [self._kept(process, started) for process, started in running]
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + STOP_SECONDS
        for process, _ in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        return not self.failed

    def _start(self) -> tuple[BaseProcess, float]:
        process = self._context.Process(target=run_worker, args=(self.options,))
        process.start()
        return process, time.monotonic()

    def _kept(self, process: BaseProcess, started: float) -> tuple[BaseProcess, float]:
        """The worker, or one in its place if it died; a worker that died starting stops
        the server."""
        if process.is_alive():
            return process, started
        if time.monotonic() - started < STARTING_SECONDS:
            logger.error("a worker exited while starting (code %s): stopping", process.exitcode)
            self.failed = True
            self.stopping.set()
            return process, started
        logger.warning("a worker exited (code %s): starting another", process.exitcode)
        return self._start()
