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
