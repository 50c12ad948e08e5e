"""The local backend: a temporary copy of the repository and a bash subprocess on the host.

It offers the same interface as the Docker backend but NO isolation: commands run with the
user's own rights on the host. It exists for machines without Docker and is opt-in.
"""

from __future__ import annotations

import io
import os
import select
import shutil
import signal
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from .base import Sandbox, SandboxConfig
from .shell import ShellSession

NOT_ISOLATED_WARNING = (
    "The local sandbox does not isolate: commands the model writes run on this machine with "
    "your rights (only the repository is a temporary copy)."
)


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            found.extend(_descendants(child))
    return found


# What the shell inherits from the host: enough to find programs and speak the locale, and
# nothing else (API keys and tokens in the environment stay out of reach of model code).
PASSED_VARIABLES = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "TMPDIR",
    "TZ",
)


def host_environment() -> dict[str, str]:
    return {k: os.environ[k] for k in PASSED_VARIABLES if k in os.environ}


class _PipeChannel:
    def __init__(self, root: str, env: dict[str, str]):
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=root,
            env={**host_environment(), **env},
            start_new_session=True,  # Ctrl-C in the terminal must not reach the sandbox shell
        )

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def recv(self, timeout: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        return os.read(fd, 1 << 16)

    def kill_tree(self, shell_pid: int, include_shell: bool = False) -> None:
        # Stop first so a fork bomb cannot outrun the kill, then kill.
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in _descendants(shell_pid) + ([shell_pid] if include_shell else []):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.kill_tree(self.proc.pid)
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


class LocalSandbox(Sandbox):
    isolated = False

    def __init__(self, config: SandboxConfig):
        super().__init__(config)
        self._tmp = tempfile.mkdtemp(prefix="patchsmith-")
        self.root = os.path.join(self._tmp, "workspace")

    def _start(self, tar_bytes: bytes) -> Callable[[], ShellSession]:
        os.makedirs(self.root)
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
            _extract(archive, self.root)
        return lambda: ShellSession(
            lambda: _PipeChannel(self.root, self.config.env), self.root, self.config.start_timeout
        )

    def _destroy(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def read_file(self, path: str) -> bytes:
        return Path(self.resolve(path)).read_bytes()


def _extract(archive: tarfile.TarFile, dest: str) -> None:
    if hasattr(tarfile, "tar_filter"):  # Python >= 3.10.12 / 3.11.4
        archive.extractall(dest, filter="tar")
    else:
        archive.extractall(dest)
