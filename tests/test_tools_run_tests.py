"""run_tests on both backends: summaries of failures, selections, and the ways a run goes wrong."""

from __future__ import annotations

from conftest import make_repo, require_backend
from tools_support import put, toolset_fixture, toolset_on

from patchsmith.tools.run_tests import unittest_counts

FILES = {
    "calc.py": "def add(a, b):\n    return a - b\n",
    "tests/test_calc.py": (
        "from calc import add\n\n\n"
        "def test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_zero():\n    assert add(0, 0) == 0\n\n\n"
        "class TestMore:\n    def test_skip(self):\n"
        "        import pytest\n        pytest.skip('not today')\n"
    ),
    "pytest.ini": "[pytest]\ntestpaths = tests\n",
}

tools = toolset_fixture(FILES)


def run_tests(tools, **arguments):
    return tools.call("run_tests", arguments)


def test_failing_test_is_summarised_with_its_traceback(tools):
    seen = run_tests(tools)
    assert not seen.is_error
    first = seen.text.splitlines()[0]
    assert "1 failed, 1 passed, 1 skipped" in first
    assert "(exit code 1)" in first
    assert "FAILED tests/test_calc.py::test_add - assert -1 == 5" in seen.text
    assert "E   assert -1 == 5" in seen.text
    assert "tests/test_calc.py:5: in test_add" in seen.text
    assert "test_zero" not in seen.text  # passing tests are counted, not listed
    assert seen.data["counts"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 1}
    assert seen.data["report"] is True
    assert seen.data["failures"][0]["test"] == "tests/test_calc.py::test_add"


def test_a_subset_by_node_id_and_by_k(tools):
    seen = run_tests(tools, tests=["tests/test_calc.py::test_zero"])
    assert "1 passed" in seen.text
    assert "All selected tests passed." in seen.text
    seen = run_tests(tools, k="skip")
    assert seen.data["counts"]["skipped"] == 1
    assert seen.data["counts"]["failed"] == 0


def test_raw_shows_the_log(tools):
    seen = run_tests(tools, tests=["tests/test_calc.py::test_add"], raw=True)
    assert "exit code 1" in seen.text
    assert "short test summary info" in seen.text


def test_no_tests_collected_says_so(tools):
    seen = run_tests(tools, k="no_test_has_this_name")
    assert seen.text.startswith("No tests ran")
    assert "collected nothing" in seen.text


def test_collection_error_is_reported_with_its_cause(tools):
    put(tools, "tests/test_broken.py", "import no_such_module_here\n")
    try:
        seen = run_tests(tools, tests=["tests/test_broken.py"])
    finally:
        tools.sandbox.run("rm tests/test_broken.py", cwd=tools.sandbox.root)
    assert "ERROR tests/test_broken.py (collection)" in seen.text
    assert "no_such_module_here" in seen.text


def test_unknown_test_file_shows_pytests_complaint(tools):
    seen = run_tests(tools, tests=["tests/nope.py"])
    assert "exit code 4" in seen.text
    assert "file or directory not found: tests/nope.py" in seen.text
    # pytest stopped before any test: nothing ran (what validation relies on)
    assert sum(seen.data["counts"].values()) == 0


def test_unittest_style_closing_lines_give_the_counts_of_what_ran():
    log = "....F.s\n------\nRan 7 tests in 0.2s\n\nFAILED (failures=1, errors=2, skipped=1)\n"
    assert unittest_counts(log) == {"passed": 3, "failed": 1, "error": 2, "skipped": 1}
    log = "Ran 3 tests in 0.001s\n\nOK (skipped=1, expected failures=1)\n"
    assert unittest_counts(log) == {"passed": 1, "failed": 0, "error": 0, "skipped": 2}
    assert unittest_counts("ImportError: No module named 'settings'\n") is None


def test_timeout_stops_the_run_and_says_what_to_do(tools):
    put(tools, "tests/test_slow.py", "import time\n\ndef test_slow():\n    time.sleep(60)\n")
    try:
        seen = run_tests(tools, tests=["tests/test_slow.py"], timeout=2)
    finally:
        tools.sandbox.run("rm tests/test_slow.py", cwd=tools.sandbox.root)
    assert seen.is_error
    assert "timed out after 2 s" in seen.text
    assert "Run fewer tests" in seen.text


def test_missing_pytest_is_explained(tmp_path):
    for backend in ("local", "docker"):
        require_backend(backend)
        repo = make_repo(tmp_path / backend, FILES)
        # -S hides site-packages, which is where pytest lives on both backends.
        with toolset_on(repo, backend, test_command="python3 -S -m pytest") as tools:
            seen = run_tests(tools)
            assert seen.is_error
            assert "pytest is not installed in the sandbox" in seen.text


def test_a_non_pytest_command_shows_its_last_lines(tmp_path):
    require_backend("local")
    repo = make_repo(tmp_path / "repo", FILES)
    with toolset_on(repo, "local", test_command="echo Ran 3 tests; echo FAILED; false") as tools:
        seen = run_tests(tools)
        assert seen.text.startswith("`echo Ran 3 tests; echo FAILED; false` failed (exit code 1)")
        assert "Ran 3 tests\nFAILED" in seen.text
