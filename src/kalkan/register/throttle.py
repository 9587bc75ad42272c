"""Failed sign-ins counted per client address and per user, with exponential back-off.

After :data:`FREE_FAILURES` failures a key (an address, or a user whose revoked or expired token was
tried) is refused for 2, 4, 8 ... seconds, at most :data:`MAX_LOCK_SECONDS`, whatever it sends: a
locked address learns nothing from its guesses, valid or not. A success clears the count. The counts
live in each server process (``serve --workers N`` multiplies the allowance by N); a 256-bit token
cannot be guessed at any of these rates, so the limit is against noise and probing, and every
failure is logged and written into the audit chain until the key is locked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kalkan.errors import TooManyAttempts

__all__ = ["FREE_FAILURES", "MAX_LOCK_SECONDS", "Throttle"]

FREE_FAILURES = 5
MAX_LOCK_SECONDS = 15 * 60
FORGET_SECONDS = 3600.0


@dataclass
class _Count:
    failures: int = 0
    until: float = 0.0
    last: float = 0.0


class Throttle:
    """Failure counts and locks by key (``"address:1.2.3.4"``, ``"user:7"``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, _Count] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        """The throttle's clock (monotonic seconds; a test may pass its own)."""
        return float(self._clock())

    def check(self, *keys: str) -> None:
        """Raise :class:`TooManyAttempts` when any of ``keys`` is locked."""
        now = self.now()
        with self._lock:
            for key in keys:
                count = self._counts.get(key)
                if count is not None and count.until > now:
                    wait = max(1, int(count.until - now + 0.999))
                    raise TooManyAttempts(
                        f"Too many failed sign-ins from here: wait {wait} s, then check the token.", wait
                    )

    def fail(self, key: str) -> bool:
        """Count one failure of ``key``; returns True when this failure locks it."""
        now = self.now()
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: c for k, c in self._counts.items() if now - c.last < FORGET_SECONDS}
            count = self._counts.setdefault(key, _Count())
            if now - count.last > FORGET_SECONDS:
                count.failures = 0
            count.failures += 1
            count.last = now
            if count.failures > FREE_FAILURES:
                count.until = now + min(MAX_LOCK_SECONDS, 2 ** (count.failures - FREE_FAILURES))
                return True
            return False

    def succeed(self, key: str) -> None:
        """Forget the failures of ``key`` (a correct sign-in)."""
        with self._lock:
            self._counts.pop(key, None)
