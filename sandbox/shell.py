"""One long-lived bash, driven over a byte channel, with an end-of-command sentinel.

Both backends talk to their shell through this module; they differ only in the channel
(a docker exec socket or a subprocess's pipes). Each command is sent base64-encoded and
`eval`ed, so that a syntax error cannot swallow the sentinel, and with stdin from
/dev/null, so that a command waiting for input ends at once instead of hanging.
"""

from __future__ import annotations

import base64
import posixpath
import re
import secrets
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

RESTART_NOTE = (
    "[the shell had to be restarted: the working directory is back at the workspace root "
    "and variables exported earlier are gone]"
)
KILL_GRACE_SECONDS = 3.0


class Channel(Protocol):
    """The pipes of one running bash."""

    def send(self, data: bytes) -> None: ...

    def recv(self, timeout: float) -> bytes | None:
        """Output bytes; None when nothing came within `timeout`; b"" when the shell is gone."""

    def kill_tree(self, shell_pid: int, include_shell: bool = False) -> None:
        """Kill every process below the shell, and the shell itself if asked."""

    def close(self) -> None: ...


@dataclass
class CommandResult:
    output: str
    exit_code: int | None  # None when the shell died or was restarted before reporting one
    timed_out: bool = False
    interrupted: bool = False
    omitted_bytes: int = 0  # bytes elided from the middle of the output
    duration: float = 0.0
    note: str = ""  # what the sandbox itself wants the reader to know (restarts, ...)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class _CappedBuffer:
    """Keeps the head and tail of a stream within `limit` bytes, counting what it drops."""

    def __init__(self, limit: int):
        self.head_limit = max(limit // 2, 1)
        self.tail_limit = max(limit - self.head_limit, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.dropped_lines = 0

    def add(self, data: bytes) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        excess = len(self.tail) - self.tail_limit
        if excess > 0:
            self.dropped += excess
            self.dropped_lines += self.tail.count(b"\n", 0, excess)
            del self.tail[:excess]

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if not self.dropped:
            return head + tail
        return (
            f"{head}\n[... {self.dropped:,} bytes ({self.dropped_lines:,} lines) of output "
            "omitted here; redirect the output to a file and look at parts of it "
            "(head, tail, grep) to see more ...]\n" + tail
        )


# A write that cannot leave `root`: from inside the real directory (cd -P, then checked
# with pwd -P), into a new file that is renamed over the old one, so that a link swapped in
# at the last moment is replaced, never followed. The mode of the file it replaces is kept.
_CONFINED_WRITE = (
    '( skip() {{ head -c {size} >/dev/null; [ -z "$1" ] || echo "$1"; exit $2; }}; '
    "r=$(cd -P -- {root} && pwd -P) && mkdir -p -- {dir} && cd -P -- {dir} || skip '' 26; "
    'case "$(pwd -P)/" in "$r"/*) ;; *) skip "the directory leads outside $r, to $(pwd -P)" 24 ;; '
    "esac; [ -L {name} ] && skip 'it is a symbolic link' 25; "
    "t=$(mktemp .patchsmith-write-XXXXXX) || skip '' 26; "
    'head -c {size} | base64 -d > "$t" && '
    "{{ m=$(stat -c %a -- {name} 2>/dev/null) || m=$(printf %o $(( 0666 & ~$(umask) ))); }} && "
    'chmod "$m" "$t" && mv -fT -- "$t" {name} || {{ rm -f -- "$t"; exit 27; }} )'
)


class ShellSession:
    def __init__(self, spawn: Callable[[], Channel], root: str, start_timeout: float = 60.0):
        self._spawn = spawn
        self.root = root
        self.start_timeout = start_timeout
        nonce = secrets.token_hex(8)
        # Printed as two separate arguments so that `set -x` tracing the printf never
        # shows the joined marker.
        self._mark_a, self._mark_b = f"__ps_{nonce[:8]}", f"{nonce[8:]}_end__"
        self._sentinel = re.compile(
            re.escape((self._mark_a + self._mark_b).encode()) + rb":(-?\d+):\n"
        )
        self._interrupt = threading.Event()
        self._channel: Channel = spawn()
        self.pid = self._init_shell()

    # -- public --------------------------------------------------------------------
    def run(
        self,
        command: str,
        timeout: float,
        output_limit: int,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        encoded = base64.b64encode(command.encode()).decode()
        action = f'eval "$(printf %s {encoded} | base64 -d)" < /dev/null'
        if cwd is not None or env:
            exports = "".join(f"export {k}={shlex.quote(v)}; " for k, v in (env or {}).items())
            cd = f"cd {shlex.quote(cwd)} && " if cwd else ""
            action = f"( {exports}{cd}{action} )"
        return self._send(f"{action}\n".encode(), timeout, output_limit)

    def write_file(self, path: str, data: bytes, timeout: float, inside: str) -> CommandResult:
        """Write `data` to `path` (absolute), which must end up in the directory tree `inside`,
        through the shell's own input: no extra process to start, no archive to build. The
        check and the write are one step in the shell (so nothing can swap a directory for a
        link in between): exit code 24 if the directory leads elsewhere, 25 if the file is a
        symlink. The bytes go base64-encoded to a `head -c` that reads exactly that many
        (also when the write is refused), so that even if it fails half-way what is left over
        is one harmless word for the shell, never a command."""
        payload = base64.b64encode(data)
        command = _CONFINED_WRITE.format(
            root=shlex.quote(inside),
            dir=shlex.quote(posixpath.dirname(path)),
            name=shlex.quote(posixpath.basename(path)),
            size=len(payload),
        )
        return self._send(f"{command}\n".encode() + payload + b"\n", timeout, 4096)

    def _send(self, script: bytes, timeout: float, output_limit: int) -> CommandResult:
        self._interrupt.clear()
        started = time.monotonic()
        self._channel.send(script + f"{self._sentinel_command()}\n".encode())
        try:
            return self._collect(started, timeout, output_limit)
        except KeyboardInterrupt:
            # Stop the command too, and wait for its sentinel, so that the shell is in step
            # for whatever runs next (e.g. recording the diff of an interrupted run).
            self.interrupt()
            self._collect(time.monotonic(), KILL_GRACE_SECONDS, output_limit)
            raise

    def interrupt(self) -> None:
        self._interrupt.set()
        try:
            self._channel.kill_tree(self.pid)
        except Exception:  # the command may have ended on its own meanwhile
            pass

    def close(self) -> None:
        self._channel.close()

    # -- internals -----------------------------------------------------------------
    def _sentinel_command(self) -> str:
        return f"printf '%s%s:%d:\\n' {self._mark_a} {self._mark_b} $?"

    def _init_shell(self) -> int:
        self._channel.send(
            f"exec 2>&1; cd {shlex.quote(self.root)}; "
            "export PAGER=cat GIT_PAGER=cat TERM=dumb PYTHONDONTWRITEBYTECODE=1; "
            f"printf 'pid=%s;' $$\n{self._sentinel_command()}\n".encode()
        )
        result = self._collect(
            time.monotonic(), timeout=self.start_timeout, output_limit=4096, restart=False
        )
        match = re.search(r"pid=(\d+);", result.output)
        if result.exit_code is None or not match:
            raise RuntimeError(f"the sandbox shell did not start: {result.output[-300:]!r}")
        return int(match.group(1))

    def _restart(self) -> None:
        try:
            self._channel.kill_tree(self.pid, include_shell=True)
            self._channel.close()
        except Exception:
            pass
        self._channel = self._spawn()
        self.pid = self._init_shell()

    def _collect(
        self, started: float, timeout: float, output_limit: int, restart: bool = True
    ) -> CommandResult:
        buffer = _CappedBuffer(output_limit)
        keep = len(self._mark_a) + len(self._mark_b) + 16  # longest possible partial sentinel
        pending = b""
        deadline = started + timeout
        timed_out = interrupted = False
        kill_deadline: float | None = None
        while True:
            now = time.monotonic()
            if kill_deadline is None:
                if self._interrupt.is_set():
                    interrupted = True
                    kill_deadline = now + KILL_GRACE_SECONDS
                elif now >= deadline:
                    timed_out = True
                    self._channel.kill_tree(self.pid)
                    kill_deadline = now + KILL_GRACE_SECONDS
            elif now >= kill_deadline:
                # Killing the children was not enough (e.g. a loop in the shell itself).
                buffer.add(pending)
                return self._give_up(buffer, started, timed_out, interrupted, restart)
            wait = min(0.5, max(0.0, (kill_deadline or deadline) - now))
            chunk = self._channel.recv(wait)
            if chunk is None:
                continue
            if chunk == b"":  # the shell exited (`exit`, `set -e`, killed by the OOM killer)
                buffer.add(pending)
                return self._give_up(buffer, started, timed_out, interrupted, restart)
            data = pending + chunk
            match = self._sentinel.search(data)
            if match:
                buffer.add(data[: match.start()])
                return CommandResult(
                    output=buffer.text(),
                    exit_code=int(match.group(1)),
                    timed_out=timed_out,
                    # The interrupt may land between two checks of the loop.
                    interrupted=interrupted or self._interrupt.is_set(),
                    omitted_bytes=buffer.dropped,
                    duration=time.monotonic() - started,
                )
            buffer.add(data[:-keep])
            pending = data[-keep:]

    def _give_up(self, buffer, started, timed_out, interrupted, restart) -> CommandResult:
        if not restart:
            raise RuntimeError(f"the sandbox shell stopped answering: {buffer.text()[-300:]!r}")
        self._restart()
        return CommandResult(
            output=buffer.text(),
            exit_code=None,
            timed_out=timed_out,
            interrupted=interrupted,
            omitted_bytes=buffer.dropped,
            duration=time.monotonic() - started,
            note=RESTART_NOTE,
        )
