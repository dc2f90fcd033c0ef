"""Logging and thread settings shared by the job entry points."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


def setup_job(
    log_path: str | Path | None = None, threads: int | None = None, append: bool = False
) -> logging.Logger:
    """Send the package's log to the job's log file (and stderr); cap CPU threads.

    `append` keeps what the log holds (a job re-run in a backbone's own environment).
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="a" if append else "w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logger = logging.getLogger("audiorec")

    def log_uncaught(kind, value, tb):  # a job's traceback belongs in its log file too
        logger.critical("job failed", exc_info=(kind, value, tb))

    sys.excepthook = log_uncaught
    if threads:
        # read by torch and the BLAS libraries when they load; a job that never
        # needs torch (MFCC, the data stages) never imports it
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
    return logger
