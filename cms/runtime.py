"""Tuning for the long-running server processes: gunicorn's workers (deploy/gunicorn.conf.py)
and `panoled scheduler run`."""
from __future__ import annotations

import gc


def settle() -> None:
    """Call once the app is loaded.

    What exists by then (modules, the app, its templates and the ORM's mappings: some two
    hundred thousand objects) lives as long as the process. Frozen, it is no longer walked
    by every full collection, which otherwise takes a fifth of the time of a page such as
    a board's week calendar. Collections keep CPython's thresholds, so memory stays as flat."""
    gc.collect()
    gc.freeze()
