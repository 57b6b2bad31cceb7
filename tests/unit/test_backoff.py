"""Retries of an unreachable board back off exponentially, with jitter, up to a ceiling."""
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.backoff import retry_delay


@given(failures=st.integers(1, 200), base=st.floats(0.1, 60), cap=st.floats(60, 3600), seed=st.integers(0, 2**32))
def test_a_delay_is_half_to_all_of_the_doubled_base_and_never_above_the_cap(failures: int, base: float, cap: float, seed: int) -> None:
    ceiling = min(cap, base * 2 ** (failures - 1))
    delay = retry_delay(failures, base, cap, random.Random(seed))
    assert ceiling / 2 <= delay <= ceiling <= cap


def test_boards_that_failed_together_do_not_all_come_back_together() -> None:
    rng = random.Random(7)
    delays = {round(retry_delay(3, 2.0, 300.0, rng), 3) for _ in range(50)}
    assert len(delays) > 40


def test_no_failure_has_no_delay() -> None:
    with pytest.raises(ValueError):
        retry_delay(0, 2.0, 300.0)
