"""The machine a benchmark ran on (printed with every figure) and a process's CPU and memory from /proc."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    memory_gb: float
    python: str
    system: str

    def line(self) -> str:
        return (
            f"{self.cpu_model}, {self.cores} cores, {self.memory_gb:.1f} GB RAM, "
            f"Python {self.python}, {self.system}"
        )


def machine() -> Machine:
    model = "unknown CPU"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for row in Path("/proc/meminfo").read_text().splitlines():
            if row.startswith("MemTotal:"):
                mem_kb = int(row.split()[1])
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return Machine(
        model,
        cores,
        mem_kb / 1024 / 1024,
        platform.python_version(),
        f"{platform.system()} {platform.release()}",
    )


def load_average() -> float:
    """The 1-minute load average (other processes competing for the CPU make every figure slower)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (0.0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15 of stat)


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) in MB; includes pages shared with the parent after fork."""
    return _status_kb(pid, "VmRSS:") / 1024


def pss_mb(pid: int) -> float:
    """Proportional set size in MB (shared pages divided between the processes sharing them)."""
    try:
        for row in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if row.startswith("Pss:"):
                return int(row.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return float("nan")


def _status_kb(pid: int, key: str) -> int:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith(key):
                return int(row.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct child process ids of ``pid`` (gunicorn workers of a master)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return sorted(out)


class CpuShare:
    """CPU used by a set of processes over a wall-clock window, as a share of one core and of the machine."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.cpu0 = sum(process_cpu_s(p) for p in pids)
        self.t0 = time.monotonic()

    def stop(self) -> tuple[float, float]:
        """(CPU seconds, wall seconds) since construction."""
        return sum(process_cpu_s(p) for p in self.pids) - self.cpu0, time.monotonic() - self.t0
