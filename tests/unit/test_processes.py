"""Whether a PID from a PID file is still the process we started (tsur/processes.py ``running``):
a supervisor killed with SIGKILL leaves its PID file behind, and `tsur up` must not take a zombie
or an unrelated process for a running stack."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsur import processes, supervisor


def _zombie() -> subprocess.Popen:
    """A child that has exited and is not reaped yet."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{proc.pid}/stat")
    deadline = time.monotonic() + 10
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.02)
    return proc


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_zombie_is_not_running():
    proc = _zombie()
    try:
        assert not processes.running(proc.pid, "")
    finally:
        proc.wait()
    assert not processes.running(proc.pid, "")          # reaped: gone


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_live_process_counts_only_with_its_own_command():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "marker-7f3a"])
    try:
        assert processes.running(proc.pid, "marker-7f3a")
        assert not processes.running(proc.pid, supervisor.SUPERVISOR_MODULE)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_pid_file_left_by_a_killed_supervisor_is_not_a_running_stack(settings):
    supervisor.run_dir(settings).mkdir(parents=True, exist_ok=True)
    proc = _zombie()
    try:
        supervisor.pid_path(settings).write_text(str(proc.pid))
        assert supervisor.supervisor_pid(settings) is None
    finally:
        proc.wait()
    supervisor.pid_path(settings).write_text("not a pid")
    assert supervisor.supervisor_pid(settings) is None
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", supervisor.SUPERVISOR_MODULE])
    try:                    # a live process with the supervisor's command line is taken as the supervisor
        supervisor.pid_path(settings).write_text(str(stand_in.pid))
        assert supervisor.supervisor_pid(settings) == stand_in.pid
    finally:
        stand_in.kill()
        stand_in.wait()
