"""Extraction's watchdog: parse a batch on a thread pool while the calling thread watches each
file's time (steps/extract.py says why a parse cannot be killed, only left behind)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class Keyed(Protocol):
    @property
    def key(self) -> tuple[str, str]:
        """(relative_path, etag): the file version."""
        ...


FileT = TypeVar("FileT", bound=Keyed)
OutcomeT = TypeVar("OutcomeT")


@dataclass
class Parsed(Generic[FileT, OutcomeT]):
    """What the pool made of a batch: outcomes of the files that finished, the files it never
    started (the watchdog stopped it first) and the files still parsing past the limit."""

    outcomes: dict[tuple[str, str], OutcomeT] = field(default_factory=dict)
    unstarted: list[FileT] = field(default_factory=list)
    hung: list[FileT] = field(default_factory=list)


def parse_watched(
    pool: ThreadPoolExecutor,
    parse_one: Callable[[FileT], OutcomeT],
    files: Sequence[FileT],
    limit_s: float,
) -> Parsed[FileT, OutcomeT]:
    """Parse `files` (parse_one each) on the pool while the calling thread watches each file's
    time.

    A file still parsing `limit_s` after a worker started it is overdue: no further file of the
    batch is started (the ones not started are cancelled), the others already running get their
    own `limit_s`, and then this returns with the overdue files in `hung`. Their threads cannot
    be killed (Python has no way to stop a thread, and a procedure cannot use a child process):
    they keep running, their results are dropped. An exception a parse raises (a step failure,
    or a BaseException standing for the process dying) propagates after the batch's other files
    are cancelled; nothing is recorded here, so the charge made before parsing stays.
    """
    started: dict[int, float] = {}

    def parse(index: int, file: FileT) -> OutcomeT:
        started[index] = time.monotonic()
        return parse_one(file)

    futures = {pool.submit(parse, i, file): i for i, file in enumerate(files)}
    parsed: Parsed[FileT, OutcomeT] = Parsed()
    not_done = set(futures)
    stopping = False
    try:
        while not_done:
            now = time.monotonic()
            overdue = {
                f
                for f in not_done
                if futures[f] in started and now - started[futures[f]] >= limit_s
            }
            if overdue and not stopping:
                stopping = True
                for future in not_done - overdue:
                    future.cancel()  # only the ones no worker has started
                cancelled = {f for f in not_done if f.cancelled()}
                parsed.unstarted.extend(files[futures[f]] for f in cancelled)
                not_done -= cancelled
            watched = not_done - overdue
            if not watched:
                break
            deadlines = [started[futures[f]] + limit_s for f in watched if futures[f] in started]
            timeout = max(min(deadlines) - now, 0.0) if deadlines else limit_s
            done, _ = wait(watched, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                parsed.outcomes[files[futures[future]].key] = future.result()
                not_done.discard(future)
    except BaseException:
        for future in not_done:
            future.cancel()
        raise
    for future in not_done:  # overdue; one may have finished meanwhile
        if future.done():
            parsed.outcomes[files[futures[future]].key] = future.result()
        else:
            parsed.hung.append(files[futures[future]])
    return parsed
