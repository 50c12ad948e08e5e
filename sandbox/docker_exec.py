"""The pipes into a container: a bash started with `docker exec`, the controller that kills
what such a shell started (timeouts, interrupts, fork bombs), and the disk guard."""

from __future__ import annotations

import select
import socket
import struct
import threading
import time

# kill_tree SHELL INCLUDE_SHELL ORPHANS: kill what SHELL started (and SHELL itself with
# INCLUDE_SHELL=1; with ORPHANS=1 also every process re-parented to init, whole trees).
# Builtins only; it repeats until nothing is left, stopping processes before killing them
# so that none can fork in between.
_KILL_TREE = r"""
kill_tree() {
  local shell=$1 include=$2 orphans=$3 round p a line rest argv0
  local -A parent
  local -a victims
  for ((round = 0; round < 50; round++)); do
    parent=()
    for d in /proc/[0-9]*; do
      read -r line < "$d/stat" 2>/dev/null || continue
      rest=${line##*) }; rest=${rest#* }; parent[${d#/proc/}]=${rest%% *}
    done
    victims=()
    for p in "${!parent[@]}"; do
      [[ $p == 1 || $p == "$BASHPID" ]] && continue
      if [[ $p == "$shell" ]]; then [[ $include == 1 ]] && victims+=("$p"); continue; fi
      if [[ ${parent[$p]} == 1 ]]; then
        [[ $orphans == 1 ]] || continue
        argv0=; read -r -d '' argv0 < "/proc/$p/cmdline" 2>/dev/null
        [[ $argv0 != sleep ]] && victims+=("$p"); continue
      fi
      a=${parent[$p]}
      while [[ -n $a && $a != 0 && $a != 1 && $a != "$shell" ]]; do a=${parent[$a]}; done
      # Below the shell, or (relieving the process limit) below an orphan: a whole fork
      # bomb tree at once, not one generation per round.
      [[ $a == "$shell" || ($a == 1 && $orphans == 1) ]] && victims+=("$p")
    done
    (( ${#victims[@]} )) || break
    kill -STOP "${victims[@]}" 2>/dev/null; kill -KILL "${victims[@]}" 2>/dev/null
  done
}
"""
# The controller: a bash started with the container that kills, on request, what a shell
# started: its descendants (on a timeout or an interrupt), and also the orphans re-parented
# to the container's init when the process limit is nearly reached (the children of a fork
# bomb), sparing init, the keeper process and the shell itself unless asked. Detached
# helpers such as the python tool's interpreter are orphans too: they survive timeouts.
# It is already running and uses only builtins, because under a fork bomb the pid limit
# leaves no room for a new process.
# It also guards the process limit: a fork bomb sent to the background would otherwise
# starve every later command. Protocol: "ID kill SHELL_PID INCLUDE_SHELL(0/1)" or
# "ID guard SHELL_PID" in; "done ID" out ("done ID killed" if the guard acted).
_CONTROLLER = (
    _KILL_TREE
    + r"""
pids_pressure() {  # true when the container is at 75% of its process limit (cgroup v1 or v2)
  local f cur= max=
  for f in /sys/fs/cgroup/pids.current /sys/fs/cgroup/pids/pids.current; do
    [[ -r $f ]] && { read -r cur < "$f"; read -r max < "${f%current}max"; break; }
  done
  [[ $cur =~ ^[0-9]+$ && $max =~ ^[0-9]+$ ]] && (( cur * 4 >= max * 3 ))
}
while read -r id request shell include; do
  case $request in
    kill) kill_tree "$shell" "$include" 0; echo "done $id" ;;
    guard)
      if pids_pressure; then kill_tree "$shell" 0 1; echo "done $id killed"
      else echo "done $id"; fi ;;
  esac
done
"""
)


# The disk guard: Docker cannot cap a volume's size, so twice a second this bash reads the
# free space where the workspace lives, and when that is below the reserve and still
# shrinking it kills what the watched shell started (descendants and orphans) and says
# "disk". A model can fill its sandbox but not the host, and deleting is never stopped.
# It is a process of its own because reading free space takes a process (stat), which
# under a fork bomb bash would retry for seconds: the controller must never wait on that.
# Arguments: WORKSPACE RESERVE_BYTES. In: the watched shell's pid, a line each time it
# changes. Out: "disk" each time it acted.
_DISK_GUARD = (
    _KILL_TREE
    + r"""
workspace=$1 reserve=$2 watched= last_free=0 partial=
while :; do
  if read -r -t 0.5 line; then
    watched=$partial$line partial=
  elif (( $? > 128 )); then  # nothing new for half a second: look at the disk
    partial+=$line
    [[ -n $watched ]] || continue
    out=$(stat -f -c '%a %S' -- "$workspace" 2>/dev/null) || continue
    free=$(( ${out% *} * ${out#* } ))
    # Said first, so that it is there by the time the host sees the command end.
    if (( free < reserve && free < last_free )); then echo disk; kill_tree "$watched" 0 1; fi
    last_free=$free
  else
    break  # the host closed the channel
  fi
done
"""
)


class ExecChannel:
    """A bash started with `docker exec`, stdin attached; stdout arrives as multiplexed frames."""

    def __init__(
        self,
        client,
        container_id: str,
        root: str,
        env: dict[str, str],
        controller: Controller | None = None,
        command: tuple[str, ...] = ("bash", "--noprofile", "--norc"),
        user: str = "",
    ):
        self.client, self.container_id = client, container_id
        self.controller = controller
        exec_id = client.api.exec_create(
            container_id,
            list(command),
            stdin=True,
            stdout=True,
            stderr=True,
            tty=False,
            workdir=root,
            environment=env or None,
            user=user,
        )["Id"]
        sock = client.api.exec_start(exec_id, socket=True)
        self.sock: socket.socket = getattr(sock, "_sock", sock)
        self.sock.setblocking(True)
        self.frames = bytearray()  # raw bytes not yet split into frames

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while True:
            payload = self._pop_frames()
            if payload:
                return payload
            ready, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            data = self.sock.recv(1 << 16)
            if not data:
                return b""
            self.frames += data

    def _pop_frames(self) -> bytes:
        out = bytearray()
        while len(self.frames) >= 8:
            (size,) = struct.unpack(">I", self.frames[4:8])
            if len(self.frames) < 8 + size:
                break
            out += self.frames[8 : 8 + size]
            del self.frames[: 8 + size]
        return bytes(out)

    def kill_tree(self, shell_pid: int, include_shell: bool = False) -> None:
        self.controller.kill_tree(shell_pid, include_shell)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Controller:
    """The container's kill helper (see _CONTROLLER), one per sandbox."""

    def __init__(self, client, container_id: str):
        self.channel = ExecChannel(
            client,
            container_id,
            "/",
            {},
            command=("bash", "--noprofile", "--norc", "-c", _CONTROLLER),
        )
        self.lock = threading.Lock()
        self.requests = 0
        self.pending = bytearray()

    def kill_tree(self, shell_pid: int, include_shell: bool) -> None:
        self._request(f"kill {shell_pid} {1 if include_shell else 0}")

    def guard(self, shell_pid: int) -> bool:
        """Kill what the shell started if the process limit is nearly reached; True if so."""
        return "killed" in self._request(f"guard {shell_pid}")

    def _request(self, line: str) -> str:
        with self.lock:
            self.requests += 1
            # Numbered, so that a late answer to a request we gave up on is not taken for
            # the answer to this one.
            try:
                self.channel.send(f"{self.requests} {line}\n".encode())
            except OSError:  # the container is gone
                return ""
            expected = f"done {self.requests}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                newline = self.pending.find(b"\n")
                if newline >= 0:
                    answer = self.pending[:newline].decode(errors="replace")
                    del self.pending[: newline + 1]
                    if answer.split()[:2] == expected.split():
                        return answer
                    continue
                chunk = self.channel.recv(max(0.0, deadline - time.monotonic()))
                if not chunk:  # timed out, or the controller is gone
                    break
                self.pending += chunk
            return ""

    def close(self) -> None:
        self.channel.close()


class DiskGuard:
    """The container's disk guard (see _DISK_GUARD), one per sandbox with a reserve."""

    def __init__(self, client, container_id: str, workspace: str, reserve: int):
        script = ("bash", "--noprofile", "--norc", "-c", _DISK_GUARD, "disk-guard")
        self.channel = ExecChannel(
            client, container_id, "/", {}, command=(*script, workspace, str(reserve))
        )
        self.reserve = reserve
        self.watched: int | None = None

    def watch(self, shell_pid: int) -> None:
        if shell_pid == self.watched:
            return
        try:
            self.channel.send(f"{shell_pid}\n".encode())
        except OSError:  # the container is gone: the command about to run will say so
            return
        self.watched = shell_pid

    def acted(self) -> bool:
        """Whether it killed anything since the last time we asked (never waits)."""
        said = b""
        try:
            while chunk := self.channel.recv(0):
                said += chunk
        except (OSError, ValueError):  # closed meanwhile (a forced stop): nothing to report
            pass
        return b"disk" in said

    def close(self) -> None:
        self.channel.close()
