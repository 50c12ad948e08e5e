"""Token counting: the one tokenizer all prompt accounting in patchsmith uses.

`count_tokens` uses tiktoken's cl100k_base encoding, read from the copy that litellm ships
inside its package, so it never touches the network. When that copy or tiktoken is
unavailable it falls back to an estimate of one token per four characters (rounded up),
which `tokenizer_name()` reports as "estimate" so callers can tell which one is in use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import threading
from pathlib import Path

# tiktoken looks for cl100k_base under this file name (the sha1 of its download URL) in
# TIKTOKEN_CACHE_DIR, and checks the content against this sha256. We check both ourselves
# first: on a missing or corrupt file tiktoken would try to download, which must never happen.
_CL100K_CACHE_KEY = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

_lock = threading.Lock()
_loaded = False
_encoding = None  # a tiktoken.Encoding once loaded, None when falling back to the estimate


def count_tokens(text: str) -> int:
    """How many tokens `text` costs in a prompt (cl100k_base, or the estimate as fallback)."""
    if not text:
        return 0
    encoding = _get_encoding()
    if encoding is None:
        return math.ceil(len(text) / 4)
    # encode_ordinary: text that happens to contain "<|endoftext|>" is counted, not refused.
    return len(encoding.encode_ordinary(text))


def tokenizer_name() -> str:
    """ "cl100k_base" when the exact tokenizer is in use, "estimate" for the fallback."""
    return "cl100k_base" if _get_encoding() is not None else "estimate"


def _bundled_tokenizer_dir() -> Path | None:
    # find_spec locates litellm without importing it (its import takes seconds).
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "litellm_core_utils" / "tokenizers"
        if (candidate / _CL100K_CACHE_KEY).is_file():
            return candidate
    return None


def _load_encoding():
    directory = _bundled_tokenizer_dir()
    if directory is None:
        return None
    data = (directory / _CL100K_CACHE_KEY).read_bytes()
    if hashlib.sha256(data).hexdigest() != _CL100K_SHA256:
        return None
    import tiktoken

    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
    try:
        return tiktoken.get_encoding("cl100k_base")
    finally:
        # Leave the environment as we found it; the encoding is loaded for good.
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


def _get_encoding():
    global _loaded, _encoding
    if _loaded:
        return _encoding
    with _lock:
        if not _loaded:
            try:
                _encoding = _load_encoding()
            except Exception:  # any failure means "use the estimate"
                _encoding = None
            _loaded = True
    return _encoding
