"""Fewer glibc malloc arenas, and free heap pages given back, for the long-running server's memory.

glibc gives each new thread that allocates an arena of its own, up to 8 per core. The web server
answers on a pool of worker threads, and each arena keeps the memory freed into it
(tokenizer and model buffers of every size) as its own fragmented free space, so the resident
size grows in steps for tens of thousands of requests while the memory actually in use stays
flat. Two arenas keep that free space bounded; ``docs/performance.md`` ("Load") has the
measurements.

glibc reads ``MALLOC_ARENA_MAX`` from the environment when a process starts; this module sets the
same limit from inside the process (``mallopt``), for ``assistant serve``. A ``MALLOC_ARENA_MAX``
the user set wins.

Even with two arenas, free space accumulates inside them: freed blocks of every size are scattered
between live ones, so the heap cannot shrink from its top. ``malloc_trim(0)`` hands the whole free
pages inside the heap back to the system; the server calls it once a minute
(``ASSISTANT_MALLOC_TRIM_SECONDS``; 0 turns it off). Side by side it kept the server 8-10 MB
smaller at the same throughput, but did not stop the slow creep (``docs/performance.md``, "Load").

Elsewhere than glibc (musl, macOS) this module does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

SERVER_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(count: int = SERVER_ARENAS) -> int | None:
    """Cap glibc's malloc arenas at ``count`` for this process; returns the cap now in force.

    Call it early, before worker threads start allocating: arenas already created stay.

    Returns:
        ``count``; the user's own ``MALLOC_ARENA_MAX`` if set (glibc applied it at start-up);
        None where the C library is not glibc, so nothing was changed.

    Raises:
        ValueError: ``count`` below 1.
    """
    if count < 1:
        raise ValueError(f"a malloc arena cap must be at least 1, not {count}")
    own = os.environ.get("MALLOC_ARENA_MAX", "").strip()
    if own.isdigit() and int(own) > 0:
        return int(own)
    libc = _glibc()
    if libc is None:
        return None
    if libc.mallopt(_M_ARENA_MAX, count) != 1:
        logger.warning("glibc refused to cap malloc arenas at %d; memory may creep under load", count)
        return None
    return count


def trim_free_memory_every(seconds: float) -> threading.Thread | None:
    """Hand glibc's free heap pages back to the system every ``seconds``, from a daemon thread.

    Returns:
        The running thread; None when ``seconds`` is 0 or the C library is not glibc.
    """
    if seconds < 0:
        raise ValueError(f"seconds between trims must be 0 or more, not {seconds}")
    libc = _glibc()
    if seconds == 0 or libc is None:
        return None

    def trim_forever() -> None:
        while True:
            time.sleep(seconds)
            started = time.perf_counter()
            libc.malloc_trim(0)
            logger.debug("malloc_trim took %.1f ms", 1000 * (time.perf_counter() - started))

    thread = threading.Thread(target=trim_forever, name="malloc-trim", daemon=True)
    thread.start()
    return thread


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    # gnu_get_libc_version exists only in glibc; mallopt's option numbers are glibc's.
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt.restype = ctypes.c_int
    libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    libc.malloc_trim.restype = ctypes.c_int
    return libc
