"""A spending budget shared by concurrent runs (benchmark workers), so a total cap holds."""

from __future__ import annotations

import threading


class Budget:
    """Runs reserve what their next model call may cost before making it, and settle the
    real cost afterwards; a reservation that would pass the total is refused, so the total
    is never passed by more than calls whose cost nothing could predict (the very first)."""

    def __init__(self, total: float):
        self.total = total
        self.spent = 0.0
        self.reserved = 0.0
        self.dearest_call = 0.0  # the priciest call so far, in any run: the next estimate
        self._lock = threading.Lock()

    def reserve(self, estimate: float) -> float | None:
        """Reserve for one call; returns the amount reserved, or None when it would not fit."""
        with self._lock:
            amount = max(estimate, self.dearest_call)
            if self.spent + self.reserved + amount > self.total or self.spent >= self.total:
                return None
            self.reserved += amount
            return amount

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            self.reserved -= reserved
            self.spent += actual
            self.dearest_call = max(self.dearest_call, actual)
