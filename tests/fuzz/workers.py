"""Worker processes that run fuzz cases with a per-case timeout.

Each worker imports the compiler and torch once and compiles an example to warm every
cache (lark tables, sympy, torch), then answers requests one at a time. A worker that does
not answer within the timeout is killed and the case classed ``hang``; one that dies
(a C stack overflow, the memory limit) classes its case ``crash``. Either way a fresh
worker takes its place. Workers are started with ``spawn`` so none inherits torch's
threads through ``fork``.
"""
from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import wait

MEMORY_LIMIT_BYTES = 6 * 2**30
STARTUP_TIMEOUT_S = 300.0


def _handle(kind: str, payload):
    if kind == "mutate":
        from .pipeline import run_mutated

        return run_mutated(payload)
    if kind == "program":
        from .inputs import run_program

        return run_program(*payload)
    if kind == "generate_and_run":
        from .inputs import run_generated

        return run_generated(*payload)
    if kind == "differential":
        from .differential import run_differential

        return run_differential(*payload)
    raise ValueError(f"unknown request kind {kind!r}")


def _worker_main(conn, memory_limit: int | None) -> None:
    import resource

    import torch

    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    torch.set_num_threads(1)
    from .pipeline import compile_case
    from .mutate import ROOT

    compile_case((ROOT / "examples" / "vae.gm").read_text())
    conn.send("ready")
    while True:
        request = conn.recv()
        if request is None:
            return
        started = time.perf_counter()
        result = _handle(*request)
        result["seconds"] = round(time.perf_counter() - started, 3)
        conn.send(result)


class _Worker:
    def __init__(self, context, memory_limit):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, memory_limit), daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(STARTUP_TIMEOUT_S) or self.conn.recv() != "ready":
            raise RuntimeError("a fuzz worker did not start")
        self.key = None
        self.started = 0.0

    def send(self, key, request):
        self.key, self.started = key, time.monotonic()
        self.conn.send(request)

    def stop(self, kill: bool = False):
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class Pool:
    """``jobs`` workers; :meth:`run` yields (key, result, seconds) as cases finish.

    ``timeout``: seconds a case may take before it is classed ``hang``."""

    def __init__(self, jobs: int = 1, timeout: float = 2.0, memory_limit: int | None = MEMORY_LIMIT_BYTES):
        self.context = multiprocessing.get_context("spawn")
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.workers = [_Worker(self.context, memory_limit) for _ in range(max(1, jobs))]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def run(self, requests):
        """``requests``: iterable of (key, kind, payload); yields (key, result dict, seconds),
        the seconds measured by the worker (by this process for a hang or crash)."""
        pending = iter(requests)
        busy: list[_Worker] = []
        idle = list(self.workers)
        exhausted = False
        while True:
            while idle and not exhausted:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                    break
                key, kind, payload = item
                worker = idle.pop()
                worker.send(key, (kind, payload))
                busy.append(worker)
            if not busy:
                return
            now = time.monotonic()
            soonest = min(w.started + self.timeout for w in busy)
            ready = wait([w.conn for w in busy], timeout=max(0.0, soonest - now))
            now = time.monotonic()
            for worker in list(busy):
                key, seconds = worker.key, now - worker.started
                if worker.conn in ready:
                    try:
                        result = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join(5)
                        result = {"class": "crash", "exitcode": worker.process.exitcode}
                        worker = self._replace(busy, worker)
                elif seconds >= self.timeout:
                    result = {"class": "hang", "seconds": round(seconds, 2)}
                    worker = self._replace(busy, worker)
                else:
                    continue
                busy = [w for w in busy if w is not worker]
                idle.append(worker)
                yield key, result, result.get("seconds", seconds)

    def _replace(self, busy: list, worker: _Worker) -> _Worker:
        """A fresh worker in place of ``worker`` (killed), which leaves ``busy`` in place."""
        worker.stop(kill=True)
        busy.remove(worker)
        fresh = _Worker(self.context, self.memory_limit)
        self.workers = [fresh if w is worker else w for w in self.workers]
        return fresh
