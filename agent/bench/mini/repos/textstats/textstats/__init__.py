"""Small text statistics: words, frequencies and reading time."""

from .freq import top_words, word_counts
from .readtime import reading_time
from .tokens import words

__all__ = ["reading_time", "top_words", "word_counts", "words"]
