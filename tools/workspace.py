"""Confining paths to the workspace (symlinks included) and reading text that round-trips.

Every path a model gives goes through `locate`, which resolves symlinks inside the sandbox
and refuses anything that ends up outside the workspace root, so a tool can never read or
write through a link to /etc or the host. Text is decoded with `surrogateescape`, so a file
in any 8-bit encoding is written back byte for byte except where it was edited.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

from ..sandbox import Sandbox
from .base import ToolError

# One round trip answers: where does the path really lead, what is there, how big is it.
_LOCATE = (
    'p={path}; r=$(realpath -m -- "$p" 2>/dev/null || readlink -f -- "$p"); s=; '
    'if [ -d "$r" ]; then k=dir; elif [ -f "$r" ]; then k=file; '
    's=$(stat -c %s -- "$r" 2>/dev/null || wc -c < "$r"); '
    'elif [ -e "$r" ]; then k=other; else k=missing; fi; '
    'printf \'%s\\n%s\\n%s\' "$k" "$s" "$r"'
)


@dataclass(frozen=True)
class Location:
    """A workspace path checked by `locate`."""

    shown: str  # the path as the model should see it (relative to the root, or ".")
    path: str  # relative path of the real file (symlinks resolved): what to read and write
    kind: str  # "file", "dir", "missing" or "other"
    size: int | None


def normalize(sandbox: Sandbox, path: str) -> str:
    """`path` relative to the workspace root, lexically; refuses escapes and outside paths."""
    given = path.strip()
    if not given:
        raise ToolError("the path is empty; give a path relative to the workspace root")
    root = sandbox.root.rstrip("/") or "/"
    joined = posixpath.normpath(posixpath.join(root, given))
    if joined != root and not joined.startswith(root.rstrip("/") + "/"):
        if posixpath.isabs(given):
            raise ToolError(
                f"{given} is outside the workspace ({root}); paths are relative to the "
                "workspace root, or absolute paths inside it"
            )
        raise ToolError(f"{given} leaves the workspace ({root}) through '..'")
    return posixpath.relpath(joined, root)


def locate(sandbox: Sandbox, path: str, real_root: str, write: bool = False) -> Location:
    """Check `path` in the sandbox, following symlinks, and describe what is there."""
    shown = normalize(sandbox, path)
    absolute = posixpath.join(sandbox.root, shown) if shown != "." else sandbox.root
    result = sandbox.run(_LOCATE.format(path=shlex.quote(absolute)), cwd=sandbox.root, timeout=30)
    kind, size, real = (result.output.split("\n", 2) + ["", ""])[:3]
    if result.exit_code != 0 or kind not in ("file", "dir", "missing", "other") or not real:
        raise ToolError(f"could not look up {shown}: {result.output.strip()[-300:]}")
    if real != real_root and not real.startswith(real_root.rstrip("/") + "/"):
        raise ToolError(
            f"{shown} is a symlink (or goes through one) that points outside the workspace, "
            f"to {real}; only files inside the workspace can be used"
        )
    relative = posixpath.relpath(real, real_root)
    if write and (relative == ".git" or relative.startswith(".git/")):
        raise ToolError(f"{shown} is inside .git; edit the repository's files, not git's own")
    return Location(shown, relative, kind, int(size) if size.strip().isdigit() else None)


def real_root(sandbox: Sandbox) -> str:
    """The workspace root with symlinks resolved (on the host /tmp may be a link)."""
    quoted = shlex.quote(sandbox.root)
    result = sandbox.run(
        f"realpath -m -- {quoted} 2>/dev/null || readlink -f -- {quoted}",
        cwd=sandbox.root,
        timeout=30,
    )
    real = result.output.strip()
    return real if result.exit_code == 0 and real.startswith("/") else sandbox.root


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:8192]


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


@dataclass
class TextFile:
    """A file's text with newlines normalised to \\n, and how to write it back the same way."""

    text: str
    crlf: bool

    @classmethod
    def from_bytes(cls, data: bytes) -> TextFile:
        text = decode(data)
        newlines = text.count("\n")
        # Only a file that is consistently CRLF is normalised; mixed files are left alone
        # so that lines the edit does not touch keep their exact endings.
        crlf = newlines > 0 and text.count("\r\n") == newlines
        return cls(text.replace("\r\n", "\n") if crlf else text, crlf)

    def to_bytes(self, text: str | None = None) -> bytes:
        text = self.text if text is None else text
        return encode(text.replace("\n", "\r\n") if self.crlf else text)


def readable_size(size: int | None) -> str:
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"
    return f"{size} B"
