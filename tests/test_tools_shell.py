"""bash, python and submit on both backends."""

from __future__ import annotations

import pytest
from conftest import BACKENDS, make_repo, require_backend
from tools_support import toolset_on


@pytest.fixture(params=BACKENDS)
def tools(request, tmp_path):
    require_backend(request.param)
    repo = make_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a - b\n"})
    with toolset_on(repo, request.param) as toolset:
        yield toolset


def test_bash_shell_state_persists_and_failures_show_the_exit_code(tools):
    tools.call("bash", {"command": "mkdir -p sub && cd sub && export GREETING=hello"})
    seen = tools.call("bash", {"command": "pwd; echo $GREETING; ls /nonexistent"})
    lines = seen.text.splitlines()
    assert lines[0].endswith("/sub")
    assert lines[1] == "hello"
    assert lines[-1] == "[exit code 2]"
    assert not tools.call("bash", {"command": "true"}).text.endswith("]")


def test_bash_timeout_stops_the_command_and_keeps_the_shell(tools):
    tools.call("bash", {"command": "cd /tmp"})
    seen = tools.call("bash", {"command": "echo started; sleep 30", "timeout": 1})
    assert seen.is_error
    assert "started" in seen.text
    assert "timed out after 1 s" in seen.text
    assert tools.call("bash", {"command": "pwd"}).text == "/tmp"


def test_bash_long_output_is_cut_with_a_note(tools):
    seen = tools.call("bash", {"command": "seq 1 200000"})
    assert len(seen.text) < 20_000
    assert "omitted" in seen.text or "left out" in seen.text
    assert seen.text.rstrip().endswith("200000")


def test_python_variables_persist_between_calls(tools):
    tools.call("python", {"code": "import calc\ntotal = calc.add(5, 2)"})
    seen = tools.call("python", {"code": "print('total is', total)\ntotal * 10"})
    assert seen.text == "total is 3\n30"


def test_python_errors_show_the_traceback_of_the_code_only(tools):
    seen = tools.call("python", {"code": "def f():\n    return 1 / 0\nf()"})
    assert "ZeroDivisionError: division by zero" in seen.text
    assert 'File "<python-1>", line 2, in f' in seen.text
    assert "python_server" not in seen.text
    assert tools.call("python", {"code": "f"}).text.startswith("<function f")


def test_python_timeout_interrupts_but_keeps_the_state(tools):
    tools.call("python", {"code": "kept = 'still here'"})
    seen = tools.call(
        "python", {"code": "import time\nwhile True:\n    time.sleep(0.05)", "timeout": 1}
    )
    assert "KeyboardInterrupt" in seen.text
    assert "variables defined so far are kept" in seen.text
    assert tools.call("python", {"code": "kept"}).text == "'still here'"


def test_python_after_a_bash_timeout_keeps_its_state_or_says_it_restarted(tools):
    tools.call("python", {"code": "counter = 1"})
    tools.call("bash", {"command": "sleep 30", "timeout": 1})
    seen = tools.call("python", {"code": "import os\nos.system('echo from a child')\ncounter"})
    if tools.sandbox.isolated:
        # The Docker backend kills every orphan process after a timeout, the detached
        # interpreter included; the model must then be told its variables are gone.
        restarted = "[the Python interpreter had stopped; a new one was started"
        assert seen.text == "from a child\n1" or seen.text.startswith(restarted)
    else:
        assert seen.text == "from a child\n1"


def test_python_captures_output_of_subprocesses(tools):
    seen = tools.call("python", {"code": "import subprocess\nsubprocess.run(['echo', 'child'])"})
    assert seen.text.startswith("child\nCompletedProcess(")


def test_python_reset_starts_afresh(tools):
    tools.call("python", {"code": "gone = 1"})
    seen = tools.call("python", {"code": "'gone' in dir()", "reset": True})
    assert seen.text == "[a fresh interpreter was started]\nFalse"


def test_python_interpreter_lost_is_reported_and_replaced(tools):
    tools.call("python", {"code": "lost = 1"})
    seen = tools.call("python", {"code": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"})
    assert seen.is_error
    assert "interpreter was lost" in seen.text
    seen = tools.call("python", {"code": "'lost' in dir()"})
    assert seen.text == "False"


def test_submit_with_no_changes_warns_once_then_finishes(tools):
    first = tools.call("submit", {})
    assert not first.finished
    assert "Nothing has changed" in first.text
    second = tools.call("submit", {})
    assert second.finished
    assert second.data["diff"] == ""


def test_submit_ends_the_run_with_the_diff_and_a_diffstat(tools):
    tools.call(
        "edit",
        {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"},
    )
    tools.call("bash", {"command": "printf 'x = 1\\n' > new.py"})
    seen = tools.call("submit", {"summary": "fix add"})
    assert seen.finished
    assert seen.text.splitlines() == [
        "Submitted 2 changed files:",
        "  calc.py  +1 -1",
        "  new.py   +1 -0",
    ]
    assert "+    return a + b" in seen.data["diff"]
