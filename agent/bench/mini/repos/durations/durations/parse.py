"""Reading durations written as "2h", "1h30m" or "90s"."""

import re

SECONDS = {"h": 3600, "m": 60, "s": 1}
PART = re.compile(r"(\d+)\s*([hms])")


def parse_duration(text: str) -> int:
    """The number of seconds in `text`: one or more <number><unit> parts, e.g. "1h 30m".

    Raises ValueError when `text` is not a duration."""
    parts = PART.findall(text.strip().lower())
    if not parts:
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(number) * SECONDS[unit] for number, unit in parts)
