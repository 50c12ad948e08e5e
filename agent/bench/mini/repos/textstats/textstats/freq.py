"""Word frequencies."""

from collections import Counter

from .tokens import words


def word_counts(text: str) -> Counter:
    """How often each word occurs in `text`."""
    return Counter(words(text))


def top_words(text: str, n: int = 3) -> list:
    """The `n` most frequent words of `text` with their counts, most frequent first;
    words equally frequent are in alphabetical order."""
    counts = word_counts(text)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n]
