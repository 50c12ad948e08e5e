"""Driving the persistent Python interpreter in the sandbox (see python_server.py)."""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from ..sandbox import Sandbox
from .base import ToolError

SERVER_SOURCE = Path(__file__).with_name("python_server.py")
START_TIMEOUT = 30.0
REPLY_MARK = "__patchsmith_python_reply__"  # printed by python_server.py before its JSON


@dataclass
class PythonResult:
    output: str
    status: str  # "ok", "error", "interrupted", or "lost" (the interpreter died)
    timed_out: bool = False
    omitted: int = 0
    note: str = ""  # what happened to the interpreter itself (started, restarted)


class PythonSession:
    """One interpreter process per toolset, started on first use, outside the workspace."""

    def __init__(self, sandbox: Sandbox, private_dir: str):
        self.sandbox = sandbox
        self.dir = f"{private_dir}/python"
        self.started = False

    def execute(self, code: str, timeout: float, limit: int) -> PythonResult:
        note = ""
        if not self.started:
            self.start()
        reply = self._call(code, timeout, limit)
        if reply.get("status") == "dead" and not reply.get("timed_out"):
            # It died between calls (killed by a command, out of memory): start afresh, once.
            self.start()
            note = "[the Python interpreter had stopped; a new one was started, so earlier "
            note += "variables are gone]"
            reply = self._call(code, timeout, limit)
        if reply.get("status") == "dead":
            self.started = False
            why = "it did not stop when interrupted" if reply.get("timed_out") else "it died"
            return PythonResult(
                output=reply.get("output", ""),
                status="lost",
                timed_out=bool(reply.get("timed_out")),
                note=f"[the Python interpreter was lost ({why}); the next call starts a new one, "
                "without the variables defined so far]",
            )
        return PythonResult(
            output=reply.get("output", ""),
            status=reply.get("status", "error"),
            timed_out=bool(reply.get("timed_out")),
            omitted=int(reply.get("omitted", 0)),
            note=note,
        )

    def start(self) -> None:
        self.stop()
        source = base64.b64encode(SERVER_SOURCE.read_bytes()).decode()
        d = shlex.quote(self.dir)
        root = shlex.quote(self.sandbox.root)
        # `( ... & )` detaches the server from the shell, so that killing what a timed-out
        # command left below the shell does not take it along (a backend that also kills
        # orphans will still end it; the next call then says the state was lost).
        script = (
            f"mkdir -p {d} && printf %s {source} | base64 -d > {d}/server.py && "
            "PY=$(command -v python3 || command -v python) && "
            f'printf %s "$PY" > {d}/python && '
            "S=$(command -v setsid || true) && "
            f'( cd {root} && exec $S "$PY" {d}/server.py serve {d} {root} & ) '
            f"</dev/null >{d}/server.log 2>&1 && "
            f"for i in $(seq 1 600); do [ -f {d}/ready ] && break; sleep 0.05; done; "
            f"[ -f {d}/ready ] || {{ cat {d}/server.log; exit 1; }}"
        )
        result = self.sandbox.run(script, timeout=START_TIMEOUT)
        if result.exit_code != 0:
            raise ToolError(
                f"the Python interpreter did not start in the sandbox: {result.output[-500:]}"
            )
        self.started = True

    def stop(self) -> None:
        d = shlex.quote(self.dir)
        self.sandbox.run(
            f"[ -f {d}/ready ] && kill -9 $(cat {d}/ready) 2>/dev/null; rm -f {d}/ready {d}/sock",
            timeout=30,
        )
        self.started = False

    def close(self) -> None:
        if self.started:
            self.stop()

    def _call(self, code: str, timeout: float, limit: int) -> dict:
        d = shlex.quote(self.dir)
        payload = base64.b64encode(code.encode("utf-8", "surrogateescape")).decode()
        script = (
            f'"$(cat {d}/python)" {d}/server.py call {d} {timeout} {limit} '
            f"<<'__PATCHSMITH_CODE__'\n{payload}\n__PATCHSMITH_CODE__"
        )
        result = self.sandbox.run(script, timeout=timeout + 30, output_limit=4 * limit + 65536)
        at = result.output.rfind(REPLY_MARK)
        if at == -1:
            return {"status": "dead", "output": result.output, "timed_out": result.timed_out}
        # raw_decode: anything the shell printed after the reply (job notices) is ignored.
        reply, _ = json.JSONDecoder().raw_decode(result.output, at + len(REPLY_MARK))
        return reply
