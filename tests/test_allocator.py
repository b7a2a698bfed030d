"""The server's glibc malloc settings: arenas capped (the user's setting wins), free pages given back."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.tools.allocator import limit_malloc_arenas

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's"
)

# Six threads allocate at once, then glibc's own report (malloc_info) says how many arenas exist.
COUNT_ARENAS = """
import ctypes, sys, tempfile, threading
if sys.argv[1] != "none":
    from assistant.tools.allocator import limit_malloc_arenas
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


def output_of(script: str, argument: str, env: dict[str, str] | None = None) -> str:
    """What ``script`` prints, run in a fresh Python (glibc's arenas and heap are per process)."""
    done = subprocess.run(
        [sys.executable, "-c", script, argument],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def arenas_after_six_threads(cap: str, **environment: str) -> dict[str, int]:
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"} | environment
    printed = output_of(COUNT_ARENAS, cap, env)
    return {key: int(value) for key, value in (line.split() for line in printed.splitlines())}


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
    from assistant.tools import allocator
    from ui import cli

    calls: list[str] = []
    monkeypatch.setattr(allocator, "limit_malloc_arenas", lambda: calls.append("cap"))
    monkeypatch.setattr(allocator, "trim_free_memory_every", lambda seconds: calls.append(f"trim every {seconds:g} s"))
    monkeypatch.setattr(ui.app, "serve", lambda settings, host, port, **options: calls.append(f"serve {host}:{port}"))
    monkeypatch.delenv("ASSISTANT_MALLOC_TRIM_SECONDS", raising=False)
    assert cli.main(["serve", "--port", "7999"]) == 0
    assert calls == ["cap", "trim every 60 s", "serve 127.0.0.1:7999"]


# Many 1,000-byte blocks, then all but every 64th freed: the heap cannot shrink from its top, so
# the freed pages stay resident until malloc_trim hands them back.
FRAGMENT_THEN_WAIT = """
import sys, time
from assistant.tools.allocator import trim_free_memory_every
def rss_mb():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS")) >> 10
blocks = [bytes(1000) for _ in range(200_000)]
kept = blocks[::64]
del blocks
before = rss_mb()
period = float(sys.argv[1])
thread = trim_free_memory_every(period)
# With a trim running, wait (up to 30 s) until the pages are back; without one there is nothing
# to wait for, so a few periods of a running trim (1 s) show that nothing happens.
deadline = time.monotonic() + (30.0 if period > 0 else 1.0)
while time.monotonic() < deadline and before - rss_mb() <= 100:
    time.sleep(0.05)
print(before, rss_mb(), thread is not None)
"""


def resident_mb_before_and_after_the_trim(seconds: str) -> tuple[int, int, bool]:
    before, after, started = output_of(FRAGMENT_THEN_WAIT, seconds).split()
    return int(before), int(after), started == "True"


def test_the_server_hands_free_heap_pages_back_to_the_system():
    before, after, started = resident_mb_before_and_after_the_trim("0.2")
    assert started and before - after > 100, f"resident {before} MB -> {after} MB: the ~190 MB freed were kept"


def test_zero_seconds_turns_the_trim_off():
    before, after, started = resident_mb_before_and_after_the_trim("0")
    assert not started and after >= before - 10, f"resident {before} MB -> {after} MB without a trim"


@pytest.mark.parametrize(("value", "seconds"), [(None, 60.0), ("0", 0.0), (" 5.5 ", 5.5)])
def test_the_trim_interval_comes_from_the_environment(value, seconds):
    environ = {} if value is None else {"ASSISTANT_MALLOC_TRIM_SECONDS": value}
    assert Settings.from_env(environ).malloc_trim_seconds == seconds


@pytest.mark.parametrize("value", ["often", "-1", "nan", "inf"])
def test_a_bad_trim_interval_is_refused_with_its_name(value):
    with pytest.raises(
        AssistantError, match="(?i)malloc_trim_seconds.*(not a valid value|number of seconds, 0 or more)"
    ):
        Settings.from_env({"ASSISTANT_MALLOC_TRIM_SECONDS": value})


def test_assistant_serve_with_a_bad_trim_interval_says_so_and_does_not_start(monkeypatch, capsys):
    import ui.app
    from ui import cli

    monkeypatch.setattr(ui.app, "serve", lambda settings, host, port, **options: pytest.fail("the server started"))
    monkeypatch.setenv("ASSISTANT_MALLOC_TRIM_SECONDS", "soon")
    assert cli.main(["serve", "--port", "7999"]) == 1
    assert "ASSISTANT_MALLOC_TRIM_SECONDS='soon' is not a valid value" in capsys.readouterr().err
