"""The persistent Python interpreter that runs inside the sandbox (copied there, not imported).

`python3 python_server.py serve DIR ROOT` listens on the Unix socket DIR/sock and runs each
snippet it receives in one globals dict, so variables, imports and functions survive from
one call to the next. `python3 python_server.py call DIR TIMEOUT LIMIT` (the code arriving
base64-encoded on stdin) sends one snippet and prints the JSON answer; on a timeout it
interrupts the snippet with SIGINT, which keeps the interpreter and its state alive, and
only kills the server when that does not help.

This file runs under whatever Python the sandbox has (3.6 or later), so it sticks to the
standard library and to what 3.6 offers.
"""

# socket.timeout only became an alias of TimeoutError in 3.10: keep the old name.
# ruff: noqa: UP041

import ast
import base64
import builtins
import json
import linecache
import os
import signal
import socket
import sys
import threading
import time
import traceback

ACCEPT_POLL = 2.0  # how often an idle server checks that its workspace still exists
IDLE_LIMIT = 6 * 3600.0  # an interpreter nobody used for this long stops by itself
INTERRUPT_GRACE = 5.0
REPLY_MARK = "__patchsmith_python_reply__"  # python_session.py looks for it


class Capture:
    """Everything written to fds 1 and 2 (also by subprocesses), head and tail kept."""

    def __init__(self, limit):
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, data):
        room = self.limit // 2 - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        excess = len(self.tail) - (self.limit - self.limit // 2)
        if excess > 0:
            self.dropped += excess
            del self.tail[:excess]

    def text(self):
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if not self.dropped:
            return head + tail
        note = f"\n[... {self.dropped:,} bytes of output left out here ...]\n"
        return head + note + tail


def serve(directory, root):
    sock_path = os.path.join(directory, "sock")
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(4)
    server.settimeout(ACCEPT_POLL)
    if root not in sys.path:
        sys.path.insert(0, root)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    with open(os.path.join(directory, "pid"), "w") as out:
        out.write(str(os.getpid()))
    os.rename(os.path.join(directory, "pid"), os.path.join(directory, "ready"))
    last_used = time.time()
    counter = 0
    while True:
        try:
            try:
                conn, _ = server.accept()
            except socket.timeout:
                if not os.path.isdir(root) or time.time() - last_used > IDLE_LIMIT:
                    return
                continue
            conn.settimeout(None)
            request = json.loads(_read_line(conn).decode("utf-8"))
            counter += 1
            answer = execute(namespace, request["code"], request["limit"], counter)
            conn.sendall((json.dumps(answer) + "\n").encode("utf-8"))
            conn.close()
            last_used = time.time()
        except KeyboardInterrupt:
            continue  # an interrupt that arrived just after a snippet ended
        except (OSError, ValueError):
            continue  # a client that went away


def _read_line(conn):
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def execute(namespace, code, limit, counter):
    filename = f"<python-{counter}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    capture = Capture(limit)
    read_end, write_end = os.pipe()
    reader = threading.Thread(target=_drain, args=(read_end, capture))
    reader.daemon = True
    reader.start()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    status = "ok"
    started = time.time()
    try:
        try:
            run_snippet(namespace, code, filename)
        except KeyboardInterrupt:
            status = "interrupted"
            _print_error()
        except SystemExit as exc:
            print(f"SystemExit: {exc.code!r} (the interpreter keeps running)")
        except BaseException:  # any error of the model's code is its output
            status = "error"
            _print_error()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (saved[0], saved[1], write_end):
            os.close(fd)
        # A background process the snippet started may hold the pipe open: do not wait long.
        reader.join(1.0)
    return {
        "status": status,
        "output": capture.text(),
        "omitted": capture.dropped,
        "duration": time.time() - started,
    }


def run_snippet(namespace, code, filename):
    """Run `code` like a notebook cell: statements, then the value of a final expression."""
    tree = ast.parse(code, filename, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), namespace)
    if last is not None:
        value = eval(compile(last, filename, "eval"), namespace)
        if value is not None:
            namespace["_"] = value
            print(repr(value))


def _print_error():
    kind, value, tb = sys.exc_info()
    # Drop this file's own frames: the model should see only its code's.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))


def _drain(fd, capture):
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        capture.add(data)
    os.close(fd)


def call(directory, timeout, limit):
    code = base64.b64decode(sys.stdin.read().strip()).decode("utf-8", "surrogateescape")
    request = json.dumps({"code": code, "limit": limit}) + "\n"
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(os.path.join(directory, "sock"))
        client.sendall(request.encode("utf-8", "surrogateescape"))
    except OSError as exc:
        print(REPLY_MARK + json.dumps({"status": "dead", "output": str(exc)}))
        return
    client.settimeout(timeout)
    try:
        answer = _read_line(client)
        timed_out = False
    except socket.timeout:
        timed_out = True
        answer = _interrupt(directory, client)
    if not answer:
        print(REPLY_MARK + json.dumps({"status": "dead", "output": "", "timed_out": timed_out}))
        return
    reply = json.loads(answer.decode("utf-8"))
    reply["timed_out"] = timed_out
    print(REPLY_MARK + json.dumps(reply))


def _interrupt(directory, client):
    with open(os.path.join(directory, "ready")) as marker:
        pid = int(marker.read())
    try:
        os.kill(pid, signal.SIGINT)
        client.settimeout(INTERRUPT_GRACE)
        return _read_line(client)
    except (OSError, socket.timeout):
        # The snippet ignores SIGINT (e.g. stuck in C code): only killing it helps.
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        return b""


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        call(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
