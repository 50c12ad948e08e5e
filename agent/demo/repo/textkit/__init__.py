"""textkit: small text helpers (the repository of patchsmith's offline demo)."""

from .slug import slugify

__all__ = ["slugify"]
