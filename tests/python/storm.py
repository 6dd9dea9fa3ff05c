"""Helpers for refresh storms: start many processes at the same instant, count the calls they
cause at `awsid serve`, and see who waits on which lock — all by readiness, never by sleeping.

* `Gate` holds an exclusive `flock` on a file; every command started through it runs
  `flock -s <gate> <command>`, so it blocks until the gate opens. `Gate.open()` waits until the
  kernel lists all of them as blocked on the gate (`/proc/locks`), then releases them at once.
* `calls(served)` reads `GET /metrics` of the server: {(service, action): count}.
* `lock_waiters(path)` counts processes blocked on the lock of `path` (`/proc/locks`).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

# A guard against hangs (a regression), never a timing assertion: passing tests wait on
# readiness and finish far sooner.
HANG_SECONDS = 300


def _until(condition, what: str) -> None:
    """Waits until `condition()` holds, yielding the CPU between checks; fails after the guard."""
    deadline = time.monotonic() + HANG_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}", pytrace=False)
        time.sleep(0.005)


def lock_waiters(path: Path) -> int:
    """Processes blocked on a `flock`/`fcntl` lock of the file at `path` (0 if it is absent)."""
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        return 0
    count = 0
    with open("/proc/locks") as f:
        for line in f:
            if "->" not in line:
                continue
            for field in line.split():
                if field.count(":") == 2 and field.rsplit(":", 1)[1] == str(inode):
                    count += 1
                    break
    return count


def wait_for_lock_waiters(path: Path, n: int) -> None:
    """Waits until `n` processes are blocked on the lock of `path`."""
    _until(lambda: lock_waiters(path) >= n, f"{n} processes blocked on {path}")


@dataclass
class Gate:
    """A start line: commands wait behind it and all start when it opens."""

    path: Path

    def __post_init__(self) -> None:
        self.path.touch()
        self._fd = os.open(self.path, os.O_RDONLY)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._started = 0

    def start(self, argv: list[str], env: dict[str, str], **popen) -> subprocess.Popen:
        """Starts `argv` behind the gate (it runs once the gate opens)."""
        self._started += 1
        return subprocess.Popen(
            ["flock", "-s", str(self.path), *argv],
            env=env,
            stdout=popen.pop("stdout", subprocess.PIPE),
            stderr=popen.pop("stderr", subprocess.PIPE),
            text=True,
            **popen,
        )

    def open(self) -> None:
        """Waits until every started command is blocked on the gate, then opens it."""
        wait_for_lock_waiters(self.path, self._started)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def run_storm(gate_dir: Path, argv: list[str], env: dict[str, str], n: int) -> list[subprocess.CompletedProcess]:
    """Runs `n` copies of `argv` started at the same instant; returns their results in order."""
    gate = Gate(gate_dir / f"gate-{time.monotonic_ns()}")
    procs = [gate.start(argv, env) for _ in range(n)]
    gate.open()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=HANG_SECONDS)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


def calls(api: str) -> dict[tuple[str, str], int]:
    """Calls counted by the `awsid serve` whose API listener is `api`, summed over statuses."""
    with urllib.request.urlopen(f"http://{api}/metrics", timeout=30) as r:
        text = r.read().decode()
    counts: dict[tuple[str, str], int] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        labels, value = line.rsplit(" ", 1)
        fields = dict(
            kv.split("=", 1) for kv in labels[labels.index("{") + 1 : labels.rindex("}")].split(",")
        )
        key = (fields["service"].strip('"'), fields["action"].strip('"'))
        counts[key] = counts.get(key, 0) + int(value)
    return counts


def delta(before: dict, after: dict) -> dict[tuple[str, str], int]:
    """Calls made between two `calls()` snapshots (only the ones that changed)."""
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
