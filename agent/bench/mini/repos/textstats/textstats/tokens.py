"""Splitting text into words."""

import re

# A word is a run of letters, possibly joined by apostrophes ("don't", "o'clock").
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")


def words(text: str) -> list:
    """The words of `text`, in order, as written."""
    return WORD.findall(text)
