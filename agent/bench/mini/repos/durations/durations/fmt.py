"""Writing a number of seconds as a duration such as "1h30m"."""

UNITS = (("h", 3600), ("m", 60), ("s", 1))


def format_duration(seconds: int) -> str:
    """`seconds` as the shortest string parse_duration reads back: 5400 -> "1h30m"."""
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
