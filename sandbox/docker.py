"""The Docker backend: one container per sandbox, one long-lived bash inside it.

The repository copy is streamed into the container (no bind mount), so nothing of the host
is visible inside it: no Docker socket, no host path. Containers carry labels so that
`agent sandbox ls/prune` can find the ones a killed process left behind.
"""

from __future__ import annotations

import base64
import io
import os
import posixpath
import shlex
import socket
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from .base import Sandbox, SandboxConfig, SandboxError
from .docker_exec import Controller, DiskGuard, ExecChannel
from .shell import CommandResult, ShellSession

LABEL = "patchsmith.sandbox"
OWNER_LABEL = "patchsmith.owner-pid"
HOST_LABEL = "patchsmith.owner-host"
WORKSPACE = "/workspace"
USER_LABEL = "org.patchsmith.user"
# When commands run as root (images without an unprivileged user), drop what no build or
# test needs; hardened sandboxes drop everything but what the root-run controller needs.
ROOT_DROPPED_CAPABILITIES = ["NET_RAW", "MKNOD", "SYS_CHROOT", "SETFCAP", "AUDIT_WRITE"]
PROCESS_LIMIT_NOTE = (
    "[the sandbox reached its process limit (a fork bomb?): every process started from the "
    "shell was killed]"
)
DISK_NOTE = (
    "[the disk that holds the sandbox has less than {reserve} free and the command kept "
    "writing, so what the shell started was killed: delete what is not needed (large build "
    "or test outputs) before going on]"
)


def _hardening(user: str, memory: str) -> dict:
    """Container options for a sandbox whose commands run as an unprivileged user: a
    read-only root filesystem (only the workspace, temporary directories and home are
    writable) and no capabilities beyond what the root-run kill controller needs."""
    from docker.utils import parse_bytes

    # Sized within the memory limit: what is written there is memory, and a full /tmp must
    # fail a write, not bring the OOM killer. (The home's owner is set once it is mounted.)
    writable = "rw,exec,nosuid,nodev,mode=1777,size={}"
    eighth = parse_bytes(memory) // 8
    sizes = {"/tmp": 2 * eighth, "/var/tmp": eighth, "/run": eighth // 4, f"/home/{user}": eighth}
    return {
        "read_only": True,
        "tmpfs": {path: writable.format(size) for path, size in sizes.items()},
        "cap_drop": ["ALL"],
        "cap_add": ["KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER"],
    }


def docker_client(timeout: float = 120):
    """A client for the local engine, or a SandboxError that says what to do. `timeout`
    bounds each request (also the first ping: a hung engine counts as unreachable)."""
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:
        raise SandboxError(
            f"cannot reach the Docker engine ({exc.__class__.__name__}: {exc}). Start Docker, "
            "or use `--sandbox local` (which does not isolate)."
        ) from None
    return client


def missing_image_message(image: str) -> str:
    return (
        f"the sandbox image {image!r} is not present. Build it with `agent sandbox build` "
        "(or `agent sandbox build --offline` on a machine with no registry), or name another "
        "image with --image."
    )


class DockerSandbox(Sandbox):
    isolated = True

    def __init__(self, config: SandboxConfig):
        super().__init__(config)
        self.client = docker_client()
        self.root = posixpath.normpath(config.workspace)
        self.container = None
        self.controller: Controller | None = None
        self.disk_guard: DiskGuard | None = None

    def _start(self, tar_bytes: bytes | None) -> Callable[[], ShellSession]:
        import docker.errors
        import docker.types

        cfg = self.config
        try:
            labels = self.client.images.get(cfg.image).labels or {}
        except docker.errors.ImageNotFound:
            raise SandboxError(missing_image_message(cfg.image)) from None
        image = cfg.image
        user = self._unprivileged_user(cfg, labels)
        if tar_bytes is not None and (cfg.setup is None or cfg.setup):
            # environment.py builds on this module, hence the import here.
            from .environment import prepare_environment

            self.environment = prepare_environment(
                self.client,
                cfg.image,
                tar_bytes,
                cfg.setup,
                self._progress,
                timeout=cfg.setup_timeout,
                env=cfg.env,
            )
            image = self.environment.image
        self.container = self.client.containers.create(
            image,
            command=["sleep", "infinity"],
            name=f"patchsmith-{uuid.uuid4().hex[:12]}",
            labels=owner_labels(),
            working_dir=self.root,
            # The workspace is an anonymous volume, not the image's layered filesystem:
            # searching and git are several times faster there, and it goes with the container.
            # (Docker fills a new volume with what the image has at that path.)
            mounts=[docker.types.Mount(target=self.root, source=None, type="volume")],
            environment=cfg.env,
            network_mode="bridge" if cfg.network else "none",
            mem_limit=cfg.memory,
            memswap_limit=cfg.memory,  # no swap: a memory hog is killed, not slowed down
            nano_cpus=int(cfg.cpus * 1e9),
            pids_limit=cfg.pids,
            init=True,  # reaps the zombies of killed commands
            security_opt=["no-new-privileges"],
            **(_hardening(user, cfg.memory) if user else {"cap_drop": ROOT_DROPPED_CAPABILITIES}),
        )
        self.container.start()
        if image != cfg.image:
            from .environment import remove_setup_tree

            remove_setup_tree(self.client, self.container.id)
        if tar_bytes is not None and not self.container.put_archive(self.root, tar_bytes):
            raise SandboxError("could not copy the repository into the container")
        if user:  # the copy and the fresh home are root's until handed over
            self._as_root(f"chown -R {user}: {shlex.quote(self.root)} /home/{user}")
        from docker.utils import parse_bytes

        self.controller = Controller(self.client, self.container.id)
        reserve = parse_bytes(cfg.disk_reserve) if cfg.disk_reserve else 0
        if reserve:
            self.disk_guard = DiskGuard(self.client, self.container.id, self.root, reserve)
        return lambda: ShellSession(
            lambda: ExecChannel(
                self.client,
                self.container.id,
                self.root,
                cfg.env,
                controller=self.controller,
                user=user or "",
            ),
            self.root,
            cfg.start_timeout,
        )

    def _unprivileged_user(self, cfg: SandboxConfig, labels: dict[str, str]) -> str | None:
        """The image's own unprivileged user (a label of patchsmith's images), unless the
        configuration says not to harden; other images run as they are, usually as root."""
        if cfg.hardened is False:
            return None
        user = labels.get(USER_LABEL)
        if cfg.hardened and not user:
            raise SandboxError(f"{cfg.image} names no unprivileged user (label {USER_LABEL})")
        return user

    def _as_root(self, script: str) -> None:
        exit_code, output = self.container.exec_run(["bash", "-c", script], user="root")
        if exit_code != 0:
            raise SandboxError(f"preparing the sandbox failed: {output.decode(errors='replace')}")

    def run(self, command: str, **options) -> CommandResult:
        # A fork bomb left in the background would starve this command: clear it first.
        ready = self.controller is not None and self._shell is not None and not self._closed
        relieved = ready and self.controller.guard(self._shell.pid)
        if ready and self.disk_guard is not None:
            self.disk_guard.watch(self._shell.pid)
        result = super().run(command, **options)
        notes = [PROCESS_LIMIT_NOTE if relieved else "", result.note]
        if self.disk_guard is not None and self.disk_guard.acted():
            notes.insert(0, DISK_NOTE.format(reserve=f"{self.disk_guard.reserve / 2**30:.1f} GB"))
        result.note = " ".join(filter(None, notes))
        return result

    def _why_broken(self, exc: Exception) -> str:
        try:
            docker_client(timeout=10)
        except SandboxError:
            # Nothing can remove the container now; the labels let prune find it later.
            name = self.container.name if self.container is not None else "the container"
            return (
                f"lost the Docker engine mid-run. {name} is left behind: once the engine is "
                "back, `agent sandbox prune` removes it"
            )
        return super()._why_broken(exc)

    def _destroy(self) -> None:
        for helper in (self.controller, self.disk_guard):
            if helper is not None:
                helper.close()
        if self.container is not None:
            try:
                remove_sandbox(self.client, self.container.id)
            except Exception:
                pass  # already gone; `agent sandbox prune` catches anything else

    def read_file(self, path: str) -> bytes:
        # Through the shell: a round trip of milliseconds, where the engine's archive API
        # takes tens of them.
        target = shlex.quote(self.resolve(path))
        result = self._book(
            f"if [ -d {target} ]; then exit 21; elif [ ! -f {target} ]; then exit 22; "
            f"elif [ ! -r {target} ]; then exit 23; fi; base64 -w0 -- {target}"
        )
        if result.exit_code == 21:
            raise IsADirectoryError(path)
        if result.exit_code == 22:
            raise FileNotFoundError(path)
        if result.exit_code == 23:
            raise PermissionError(f"{path} cannot be read")
        if result.exit_code != 0:
            raise SandboxError(f"could not read {path}: {result.output.strip()[-300:]}")
        return base64.b64decode(result.output)

    def read_files(self, paths: list[str]) -> dict[str, bytes]:
        # One tar made in the container and one transfer, instead of a round trip per file.
        if len(paths) < 4:
            return super().read_files(paths)
        # The list travels in the script (printf is a builtin: no argument-length limit).
        listing = base64.b64encode("\0".join(self.resolve(p) for p in paths).encode()).decode()
        result = self._book(
            f"printf %s {listing} | base64 -d | "
            "tar --null -cf - --ignore-failed-read -T - 2>/dev/null | base64 -w0"
        )
        prefix = self.root.lstrip("/") + "/"
        found = {}
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(result.output))) as bundle:
            for member in bundle:
                if member.isfile() and member.name.startswith(prefix):
                    found[member.name[len(prefix) :]] = bundle.extractfile(member).read()
        return {p: found[p] for p in paths if p in found}


@dataclass
class Leftover:
    """A patchsmith container found on the engine."""

    id: str
    name: str
    status: str
    created: str
    owner_pid: int
    owner_alive: bool  # False when the process that opened it is gone from this host

    @property
    def orphaned(self) -> bool:
        return not self.owner_alive


def owner_labels() -> dict[str, str]:
    """What marks a container as patchsmith's, and whose: `find_sandboxes` reads it."""
    return {LABEL: "1", OWNER_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()}


def find_sandboxes(client) -> list[Leftover]:
    found = []
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        labels = container.labels
        pid = int(labels.get(OWNER_LABEL, "0") or 0)
        here = labels.get(HOST_LABEL) == socket.gethostname()
        found.append(
            Leftover(
                id=container.short_id,
                name=container.name,
                status=container.status,
                created=container.attrs.get("Created", "")[:19].replace("T", " "),
                owner_pid=pid,
                # A container from another host is never called orphaned: we cannot tell.
                owner_alive=not here or _pid_alive(pid),
            )
        )
    return found


def remove_sandbox(client, container_id: str) -> None:
    """Remove the container and its workspace volume."""
    client.containers.get(container_id).remove(force=True, v=True)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
