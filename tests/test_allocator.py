"""The server's cap on glibc malloc arenas: in force where glibc is, the user's setting wins."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.allocator import limit_malloc_arenas

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's"
)

# Six threads allocate at once, then glibc's own report (malloc_info) says how many arenas exist.
COUNT_ARENAS = """
import ctypes, sys, tempfile, threading
if sys.argv[1] != "none":
    from assistant.allocator import limit_malloc_arenas
    print("cap", limit_malloc_arenas(int(sys.argv[1])))
gate, kept = threading.Barrier(6), []
def allocate():
    gate.wait()
    kept.append(bytearray(200_000))
threads = [threading.Thread(target=allocate) for _ in range(6)]
for thread in threads: thread.start()
for thread in threads: thread.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype, libc.fopen.argtypes = ctypes.c_void_p, (ctypes.c_char_p, ctypes.c_char_p)
libc.malloc_info.argtypes, libc.fclose.argtypes = (ctypes.c_int, ctypes.c_void_p), (ctypes.c_void_p,)
with tempfile.NamedTemporaryFile(suffix=".xml") as report:
    stream = libc.fopen(report.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print("arenas", open(report.name).read().count("<heap nr="))
"""


def arenas_after_six_threads(cap: str, **environment: str) -> dict[str, int]:
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"} | environment
    done = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, cap],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return {key: int(value) for key, value in (line.split() for line in done.stdout.splitlines())}


def test_without_a_cap_each_thread_gets_an_arena_of_its_own():
    # The control: on this machine glibc allows 8 per core, so the six threads each get one.
    assert arenas_after_six_threads("none")["arenas"] > 2


def test_the_cap_holds_threads_to_two_arenas():
    assert arenas_after_six_threads("2") == {"cap": 2, "arenas": 2}


def test_a_malloc_arena_max_the_user_set_wins():
    assert arenas_after_six_threads("2", MALLOC_ARENA_MAX="3") == {"cap": 3, "arenas": 3}


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        limit_malloc_arenas(0)


def test_assistant_serve_caps_arenas_before_it_loads_the_app(monkeypatch):
    import ui.app
    from assistant import allocator, cli

    calls: list[str] = []
    monkeypatch.setattr(allocator, "limit_malloc_arenas", lambda: calls.append("cap"))
    monkeypatch.setattr(ui.app, "serve", lambda settings, host, port: calls.append(f"serve {host}:{port}"))
    assert cli.main(["serve", "--port", "7999"]) == 0
    assert calls == ["cap", "serve 127.0.0.1:7999"]
