"""Turning titles into URL slugs."""

import re


def slugify(text: str, separator: str = "-") -> str:
    """Lower-case `text` and join its words with `separator`."""
    words = re.split(r"\W", text.lower())
    return separator.join(word for word in words if word is not None)
