"""`yibao serve --workers N`: N server processes, each listening on a socket of its own.

uvicorn's own supervisor binds one socket and hands it to every worker: whichever worker
is awake when connections arrive accepts all that have queued. A counter's clients keep
their connections, so the first split lasts: 64 connections opened together were split
48/16 between two workers, and once 64/0 (bench/settle_http.py prints "settlements a
process"), and the busier worker's queue is the whole server's latency while the other
process idles. Here each worker binds the address itself with SO_REUSEPORT, and the
kernel spreads new connections over the listening sockets by a hash of their addresses:
about evenly.

The supervisor (this process) checks that nothing listens on the address before it starts
anyone (bound without SO_REUSEPORT: with it, a second server on the port, or a worker left
behind by an earlier one, would share the port and answer part of the clients),
restarts a worker that dies (not one that dies while starting: that is a configuration
error, and the server stops with it), and on SIGINT or SIGTERM passes SIGTERM on: each
worker finishes its requests and runs its lifespan's end, as under uvicorn's own.

A worker whose supervisor is gone gets SIGKILL from the kernel (Linux's
PR_SET_PDEATHSIG): `kill -9` of the server is a crash of the whole server, not of its
supervisor alone. With SIGTERM there, the workers finished their requests and their
lifespans' end after the supervisor's kill -9, so a crash test killing `yibao serve`
tested a graceful stop; and no worker of a dead server keeps the port. The supervisor
only dies that way when it is killed: it stops on SIGINT and SIGTERM by passing them on.

Without SO_REUSEPORT (YIBAO_REUSE_PORT=false, or a system without it) the supervisor
binds the address once and every worker accepts from that one socket, as under uvicorn's
own supervisor, but with the rest of this one's behaviour.

The supervisor also makes the shared block the workers count their figures in, which
/healthz sums, and the revocation epoch every worker's token cache follows (api/health.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

from yibao.entrypoints.api import health

logger = logging.getLogger("yibao.serve")
STARTING_SECONDS = 60.0  # a worker that dies sooner after its start failed to start
STOP_SECONDS = 30.0  # a worker still running this long after SIGTERM is killed


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def bound_socket(host: str, port: int, *, reuse_port: bool = True) -> socket.socket:
    """The address bound. With SO_REUSEPORT: one of several sockets the kernel spreads
    new connections over, once each listens (a worker's own). Without: bound once, for
    every worker to accept from (uvicorn's own way), where SO_REUSEPORT is missing or
    turned off (YIBAO_REUSE_PORT=false)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no one
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def address_free(host: str, port: int) -> None:
    """Raise OSError if anything listens on the address: bound without SO_REUSEPORT, the
    check fails beside any socket bound to the port, one that shares it included."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no one
        sock.bind((host, port))


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent(parent: int) -> None:
    """Linux: SIGKILL to this process when its parent (the supervisor) dies; elsewhere
    nothing (the supervisor's SIGTERM on its own graceful end still stops it). The
    supervisor's graceful end never comes here: it waits for its workers first."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request: die now
        os.kill(os.getpid(), signal.SIGKILL)


def run_worker(
    options: dict[str, Any],
    parent: int | None = None,
    figures: ctypes.Array[ctypes.c_int64] | None = None,
    slot: int = 0,
    shared: socket.socket | None = None,
    epoch: tuple[ctypes.Array[ctypes.c_int64], Any] | None = None,
) -> None:
    """One worker process: uvicorn's server on a socket of its own (or the supervisor's
    `shared` one), counting its figures in its slot of the supervisor's shared block."""
    if parent is not None:
        end_with_parent(parent)
    if figures is not None:
        health.join_server(figures, slot, epoch)  # before uvicorn makes the application
    config = uvicorn.Config(**options)
    sock = shared if shared is not None else bound_socket(config.host, config.port)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    def __init__(self, options: dict[str, Any], workers: int, *, reuse_port: bool = True) -> None:
        self.options = options
        self.workers = workers
        self.reuse_port = reuse_port
        self.shared: socket.socket | None = None  # without reuse_port: the one socket
        self.stopping = threading.Event()
        self.failed = False
        self._context = multiprocessing.get_context("spawn")  # as uvicorn's: no forked state
        self.figures = health.shared_figures(self._context, workers)
        self.epoch = health.shared_epoch(self._context)  # revocations, for every worker

    def run(self) -> bool:
        """Serve until SIGINT or SIGTERM; False if a worker failed to start."""
        if self.reuse_port:
            address_free(self.options["host"], self.options["port"])  # taken: fail now
        else:
            self.shared = bound_socket(self.options["host"], self.options["port"], reuse_port=False)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
        running = [self._start(slot) for slot in range(self.workers)]
        while not self.stopping.wait(0.5):
            running = [self._kept(slot, *worker) for slot, worker in enumerate(running)]
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

    def _start(self, slot: int) -> tuple[BaseProcess, float]:
        process = self._context.Process(
            target=run_worker,
            args=(self.options, os.getpid(), self.figures, slot, self.shared, self.epoch),
        )
        process.start()
        return process, time.monotonic()

    def _kept(self, slot: int, process: BaseProcess, started: float) -> tuple[BaseProcess, float]:
        """The worker, or one in its place if it died; a worker that died starting stops
        the server."""
        if process.is_alive():
            return process, started
        health.worker_left(self.figures, slot)
        if time.monotonic() - started < STARTING_SECONDS:
            logger.error("a worker exited while starting (code %s): stopping", process.exitcode)
            self.failed = True
            self.stopping.set()
            return process, started
        logger.warning("a worker exited (code %s): starting another", process.exitcode)
        return self._start(slot)
