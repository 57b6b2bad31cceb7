"""How long to wait before trying an unreachable board again."""
from __future__ import annotations

import random


def retry_delay(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: after the n-th failure in a row, a random
    wait between half and all of min(cap, base * 2**(n-1)) seconds, so boards that
    failed together do not all come back at the same moment."""
    if failures < 1:
        raise ValueError(f"failures must be at least 1, got {failures}")
    ceiling = min(cap, base * 2 ** min(failures - 1, 62))
    return ceiling * (0.5 + 0.5 * (rng or random).random())
