"""Real processes released at one moment: how the start-up races of several servers are tested.

``race(target, calls)`` forks one process per call (the parent's imports come along, so a trial costs
milliseconds), holds them all at a barrier, then lets ``target(*args)`` run in each at once. It returns
each process's outcome in call order: ``"ok <result>"`` or ``"error <ExceptionType>: <message>"``. A
process that does not finish within ``timeout_s`` is killed and fails the test.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

_FORK = multiprocessing.get_context("fork")


def _run(
    target: Callable[..., object],
    args: tuple[object, ...],
    index: int,
    barrier: Barrier,
    results: Queue[tuple[int, str]],
) -> None:
    try:
        barrier.wait(30)
        outcome = f"ok {target(*args)}"
    except Exception as err:  # noqa: BLE001 - the outcome is the test's to judge, whatever it is
        outcome = f"error {type(err).__name__}: {err}"
    results.put((index, outcome))
    results.close()
    results.join_thread()
    os._exit(0)  # no atexit handlers: the parent's engines and files are the parent's


def race(target: Callable[..., object], calls: Sequence[tuple[object, ...]], timeout_s: float = 60.0) -> list[str]:
    """``target(*args)`` for every ``args`` of ``calls``, each in its own process, all started together."""
    barrier = _FORK.Barrier(len(calls))
    results: Queue[tuple[int, str]] = _FORK.Queue()
    processes = [_FORK.Process(target=_run, args=(target, args, i, barrier, results)) for i, args in enumerate(calls)]
    for process in processes:
        process.start()
    deadline = time.monotonic() + timeout_s
    outcomes: dict[int, str] = {}
    try:
        while len(outcomes) < len(calls):
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"{len(calls) - len(outcomes)} of {len(calls)} processes did not finish in {timeout_s} s")
            try:
                index, outcome = results.get(timeout=left)
            except queue.Empty:
                continue
            outcomes[index] = outcome
    finally:
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
    return [outcomes[i] for i in range(len(calls))]
