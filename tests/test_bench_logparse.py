"""The log parsers on real logs of pytest (5, 6, 7, 9), Django's runner (3.2 and 4.2, before
and after Python 3.11), SymPy's runner, and generic/TAP output (tests/data/logs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchsmith.agent.bench.logparse import between_markers, canonical_name, parse_log

LOGS = Path(__file__).parent / "data" / "logs"
MIXED = "tests/test_mixed.py::"
# What tests/test_mixed.py really did, in every pytest version.
PYTEST_MIXED = {
    "test_passes": "PASSED",
    "test_fails": "FAILED",
    "test_setup_error": "ERROR",
    "test_xfails": "XFAIL",
    "test_xpasses": "XPASS",
    "test_param[a b]": "PASSED",
    "test_param[x - y]": "FAILED",
    "test_param[[nested]]": "PASSED",
    "test_param[plain]": "PASSED",
    "TestGroup::test_method": "PASSED",
    "TestGroup::test_numbers[1]": "PASSED",
    "TestGroup::test_numbers[2]": "FAILED",
}


def parsed(name: str, log_format: str) -> dict[str, str]:
    return parse_log((LOGS / name).read_text(), log_format)


@pytest.mark.parametrize(
    "name", ["pytest-5-rA.log", "pytest-6-rA.log", "pytest-7-rA.log", "pytest-9-rA.log"]
)
def test_pytest_short_summaries_of_every_version_give_each_test_its_status(name):
    expected = {MIXED + test: status for test, status in PYTEST_MIXED.items()}
    # -rA names no skipped test: its line is "SKIPPED [1] path:line: reason".
    assert parsed(name, "pytest") == expected


@pytest.mark.parametrize("name", ["pytest-5-verbose.log", "pytest-9-verbose-rA.log"])
def test_pytest_verbose_lines_give_skipped_tests_too(name):
    expected = {MIXED + test: status for test, status in PYTEST_MIXED.items()}
    expected[MIXED + "test_skipped"] = "SKIPPED"
    assert parsed(name, "pytest") == expected


def test_pytest_parametrized_ids_keep_spaces_brackets_and_dashes():
    statuses = parsed("pytest-7-rA.log", "pytest")
    assert statuses[MIXED + "test_param[x - y]"] == "FAILED"
    assert statuses[MIXED + "test_param[[nested]]"] == "PASSED"
    assert not any("AssertionError" in name or "known bug" in name for name in statuses)


def test_pytest_xpass_reason_after_a_space_is_not_part_of_the_id():
    # pytest 6 and 7 write "XPASS id reason"; pytest 8+ "XPASS id - reason".
    for name in ("pytest-6-rA.log", "pytest-9-rA.log"):
        assert parsed(name, "pytest")[MIXED + "test_xpasses"] == "XPASS"


def test_pytest_collection_error_names_the_module():
    assert parsed("pytest-9-collection-error.log", "pytest") == {
        "tests/test_broken_import.py": "ERROR"
    }


def test_pytest_error_in_teardown_wins_over_the_pass_before_it():
    assert parsed("pytest-9-teardown-error.log", "pytest") == {
        "tests/test_output.py::test_prints_misleading_line": "PASSED",
        "tests/test_output.py::test_with_bad_teardown": "ERROR",
    }


def test_pytest_status_words_outside_the_summary_are_not_results():
    log = (
        "tests/x.py .                                                [100%]\n"
        "FAILED tests/x.py::test_a - printed by the test itself\n"
        "=========================== short test summary info ============================\n"
        "PASSED tests/x.py::test_a\n"
        "============================== 1 passed in 0.01s ===============================\n"
        "FAILED tests/x.py::test_a - printed after the run\n"
    )
    assert parse_log(log, "pytest") == {"tests/x.py::test_a": "PASSED"}


def test_colour_codes_are_ignored():
    log = (
        "\x1b[1m=========== short test summary info ============\x1b[0m\n"
        "\x1b[32mPASSED\x1b[0m tests/x.py::\x1b[1mtest_a\x1b[0m\n"
        "\x1b[31mFAILED\x1b[0m tests/x.py::\x1b[1mtest_b\x1b[0m - assert 0\n"
    )
    assert parse_log(log, "pytest") == {
        "tests/x.py::test_a": "PASSED",
        "tests/x.py::test_b": "FAILED",
    }


def test_pytest_xdist_lines_count_anywhere():
    log = "[gw0] [ 50%] PASSED tests/x.py::test_a \n[gw1] [100%] FAILED tests/x.py::test_b \n"
    assert parse_log(log, "pytest") == {
        "tests/x.py::test_a": "PASSED",
        "tests/x.py::test_b": "FAILED",
    }


DJANGO_FIXTURE = {
    "test_errors (fixture_app.tests.ArithmeticTests)": "ERROR",
    "test_expected_failure (fixture_app.tests.ArithmeticTests)": "XFAIL",
    "test_fails (fixture_app.tests.ArithmeticTests)": "FAILED",
    "test_one_line_docstring (fixture_app.tests.ArithmeticTests)": "FAILED",
    "A failing test with a one-line docstring.": "FAILED",
    "test_passes (fixture_app.tests.ArithmeticTests)": "PASSED",
    "test_skipped (fixture_app.tests.ArithmeticTests)": "SKIPPED",
    "test_subtests (fixture_app.tests.ArithmeticTests)": "FAILED",
    "test_unexpected_success (fixture_app.tests.ArithmeticTests)": "XPASS",
    "test_with_docstring (fixture_app.tests.ArithmeticTests)": "PASSED",
    "Regression test for #12345: the admin shows the right count.": "PASSED",
    "test_writes_to_stderr (fixture_app.tests.ArithmeticTests)": "PASSED",
    "fixture_broken.tests (unittest.loader._FailedTest)": "ERROR",
}


def test_django_runner_before_python_3_11():
    assert parsed("django-3.2-py3.9.log", "django") == DJANGO_FIXTURE


def test_django_runner_on_python_3_11_gives_the_same_names():
    # "test_x (app.tests.Class.test_x)" is read as "test_x (app.tests.Class)".
    assert parsed("django-4.2-py3.11.log", "django") == DJANGO_FIXTURE


def test_django_subtest_failure_with_no_status_on_its_line_comes_from_the_report():
    # Python 3.9 prints "test_subtests (...) ... " and goes on with the next test on the
    # same line; only the "FAIL: test_subtests (...) (n=2)" section says it failed.
    statuses = parsed("django-3.2-py3.9.log", "django")
    assert statuses["test_subtests (fixture_app.tests.ArithmeticTests)"] == "FAILED"
    assert statuses["test_unexpected_success (fixture_app.tests.ArithmeticTests)"] == "XPASS"


def test_django_real_suite_with_migrations_and_multi_line_docstrings():
    statuses = parsed("django-3.2-basic-suite.log", "django")
    assert len([name for name in statuses if "(basic.tests." in name]) == 58
    assert statuses["test_emptyqs_distinct (basic.tests.ModelTest)"] == "SKIPPED"
    # Named by the docstring's first line, as SWE-bench's datasets name such tests.
    assert statuses["You can initialize a model instance using positional arguments,"] == "PASSED"
    assert (
        statuses["Test fetching, deleting and finally saving an object - we should get"]
        == "SKIPPED"
    )
    assert not any("Applying" in name for name in statuses)
    assert set(statuses.values()) == {"PASSED", "SKIPPED"}


def test_django_status_pushed_to_a_later_line_by_stderr_output():
    log = (
        "test_a (app.tests.T) ... some warning written to stderr\n"
        "ok\n"
        "test_b (app.tests.T) ... FAIL\n"
    )
    assert parse_log(log, "django") == {
        "test_a (app.tests.T)": "PASSED",
        "test_b (app.tests.T)": "FAILED",
    }


def test_canonical_name_maps_the_python_3_11_form_to_the_older_one():
    assert canonical_name("test_x (app.tests.T.test_x)") == "test_x (app.tests.T)"
    assert canonical_name("test_x (app.tests.T)") == "test_x (app.tests.T)"
    assert canonical_name("tests/x.py::test_x") == "tests/x.py::test_x"


def test_sympy_runner_per_file_blocks():
    assert parsed("sympy-1.12.log", "sympy") == {
        "test_passes": "PASSED",
        "test_fails": "FAILED",
        "test_errors": "ERROR",
        "test_skips": "SKIPPED",
        "test_xfails": "XFAIL",
        "test_xpasses": "XPASS",
        "test_raises": "PASSED",
        "test_last_one": "PASSED",  # its line ends with the file's [FAIL]
        "test_alpha": "PASSED",
        "test_beta": "PASSED",
    }


def test_sympy_failure_whose_line_was_lost_is_found_in_the_report():
    log = (
        "sympy/core/tests/test_x.py[2] \n"
        "test_ok ok\n"
        "test_noisy printed something\n"
        "more output\n"
        "                                                              [FAIL]\n"
        "\n"
        "________________________________________________________________________________\n"
        "_______________ sympy/core/tests/test_x.py:test_noisy ________________\n"
        "Traceback (most recent call last):\n"
    )
    assert parse_log(log, "sympy") == {"test_ok": "PASSED", "test_noisy": "FAILED"}


def test_generic_lines_through_make():
    assert parsed("generic-make.log", "generic") == {
        "strbuf_append_grows_buffer": "PASSED",
        "strbuf_trim handles only spaces": "PASSED",
        "strbuf_split_on_empty_separator": "FAILED",
        "strbuf_unicode": "SKIPPED",
        "strbuf_reset": "PASSED",
    }


def test_generic_reads_tap():
    assert parsed("generic-bats-tap.log", "generic") == {
        "trim removes leading and trailing spaces": "PASSED",
        "join_by uses the separator": "FAILED",
        "repeat_str repeats": "SKIPPED",
        "split on tabs": "PASSED",
        "unicode width": "XFAIL",
    }


def test_unknown_format_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="pytest, django, sympy, generic"):
        parse_log("", "junit")


def test_between_markers_ignores_a_traced_marker_and_a_missing_end():
    output = "+ printf '%s\\n' START\nSTART\nPASSED a\nEND\nafter\n"
    assert between_markers(output, "START", "END") == "PASSED a\n"
    assert between_markers("START\nPASSED a\n", "START", "END") == "PASSED a\n"
    assert between_markers("no marker here", "START", "END") is None
