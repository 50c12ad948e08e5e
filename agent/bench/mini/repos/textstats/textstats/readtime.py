"""How long a text takes to read."""

import math

WORDS_PER_MINUTE = 200


def reading_time(text: str, wpm: int = WORDS_PER_MINUTE) -> int:
    """Minutes needed to read `text` at `wpm` words per minute, rounded up (0 for no words)."""
    if wpm <= 0:
        raise ValueError("wpm must be positive")
    count = len(text.split())
    return math.ceil(count / wpm)
