"""Parse and format durations such as "1h30m"."""

from .fmt import format_duration
from .parse import parse_duration

__all__ = ["format_duration", "parse_duration"]
