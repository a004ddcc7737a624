"""Progress logging for pipeline jobs: to the job's log file and to the terminal."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path


def job_logger(name: str, log_path: str | None = None) -> logging.Logger:
    logger = logging.getLogger(f"cpdeval.{name}")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter(f"[%(asctime)s] {name}: %(message)s", datefmt="%H:%M:%S")
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_path, mode="w", encoding="utf-8")
        fh.setFormatter(fmt)
        logger.addHandler(fh)
    return logger


@contextmanager
def step(logger: logging.Logger, what: str):
    """Log the start and the elapsed time of one step of a job."""
    t0 = time.perf_counter()
    logger.info("%s ...", what)
    yield
    logger.info("%s done in %.1f s", what, time.perf_counter() - t0)


def process_usage() -> dict:
    """What this process has used so far, by the operating system's own accounting: wall seconds since the
    process started (its interpreter start-up and imports included), CPU seconds (user + system, its waited-for
    children too) and peak resident memory in MiB."""
    import os
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    try:   # /proc/self/stat field 22: start time in clock ticks after boot
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        wall = float(Path("/proc/uptime").read_text().split()[0]) - start
    except (OSError, ValueError, IndexError):
        wall = time.perf_counter() - _IMPORTED
    return {"wall_s": round(wall, 2), "cpu_s": round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, 2),
            "peak_rss_mib": round(max(own.ru_maxrss, kids.ru_maxrss) / 1024, 1)}


_IMPORTED = time.perf_counter()
