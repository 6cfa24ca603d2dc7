"""Start, watch and stop the local components (broker, worker) as child processes.

Each process logs to ``<data dir>/logs/<name>.log``; ``stop`` escalates SIGTERM -> SIGKILL."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def running(pid: int, command: str) -> bool:
    """Whether ``pid`` is a live process whose command line holds ``command``. A PID file outlives
    a process killed with SIGKILL: its PID may then belong to a zombie not reaped yet (an init that
    reaps slowly) or, later, to an unrelated process; ``os.kill(pid, 0)`` says yes to both. Where
    there is no /proc, that is all we can ask."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:             # alive, another user's: not ours
        return False
    proc = Path("/proc") / str(pid)
    if not proc.is_dir():
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):       # gone between the two looks
        return False
    return state not in ("Z", "X") and command in cmdline


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal the process group, wait, then SIGKILL what is left."""
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(timeout=0.1, sig=signal.SIGKILL)


def start(name: str, argv: list[str], logs_dir: Path, env: dict | None = None, cwd: Path | None = None) -> Child:
    logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = logs_dir / f"{name}.log"
    log = open(log_path, "ab", buffering=0)
    log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(argv)}\n".encode())
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=env, cwd=cwd, start_new_session=True,
    )
    log.close()
    return Child(name, proc, log_path)


def wait_listening(child: Child, port: int, what: str, timeout: float = 20.0) -> None:
    """Wait until ``child`` listens on 127.0.0.1:``port``; stop it and raise CommandError if it
    exits or takes longer than ``timeout`` s."""
    from tsur.errors import CommandError

    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        if not child.alive() or time.monotonic() > deadline:
            child.stop()
            raise CommandError(f"{what} did not start; see {child.log_path}:\n{child.tail(5)}")
        time.sleep(0.1)


def worker_argv(extra: list[str] | None = None) -> list[str]:
    """How the Faust worker is started (`tsur worker`, `tsur demo`, the supervisor)."""
    return [sys.executable, "-m", "streams.app", "worker", "-l", "info", *(extra or [])]
