"""Login rate limiting: at most N failed sign-ins per user and address per window."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from shipyard.errors import TooManyRequests

MAX_FAILURES = 5
WINDOW_S = 60.0


class LoginLimiter:
    """Counts failed logins per ``(user, address)``; :meth:`check` raises ``TooManyRequests``.

    In memory, per server process (a restart forgets the counts).
    """

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, user: str, address: str) -> None:
        """Raise ``TooManyRequests`` (with ``retry_after``) while the pair is locked out."""
        now = time.monotonic()
        with self._lock:
            recent = self._recent((user, address), now)
            if len(recent) < self.max_failures:
                return
            wait = max(1, math.ceil(recent[0] + self.window_s - now))
        raise TooManyRequests(
            f"too many failed sign-ins for {user!r} from this address",
            hint=f"wait {wait} seconds and try again",
            retry_after=wait,
        )

    def failed(self, user: str, address: str) -> None:
        """Count one failed login."""
        now = time.monotonic()
        with self._lock:
            self._recent((user, address), now).append(now)
            if len(self._failures) > 100_000:  # forget the oldest pairs rather than grow forever
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, user: str, address: str) -> None:
        """Forget the failures of a pair after a successful login."""
        with self._lock:
            self._failures.pop((user, address), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times
