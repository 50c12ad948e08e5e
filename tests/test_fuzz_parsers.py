"""Property-based tests: the parsers that read model output never crash and never hang."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchsmith.agent.text_protocol import FormatError, parse_actions
from patchsmith.tools.edit_match import closest, exact, tolerant

# Text built from the pieces that make parsers stumble: fences, labels, braces, blank lines.
PIECES = st.sampled_from(
    [
        "```",
        "~~~",
        "```bash",
        "```python",
        "```tool",
        "```json",
        " ",
        "\n",
        "\r\n",
        "{",
        "}",
        '"name"',
        ":",
        "$ ",
        "<tool_call>",
        "</tool_call>",
        "ls",
        "x",
        "\t",
        "`",
    ]
)
MESSY = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=40).map("".join)
FAST = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(MESSY)
def test_parse_actions_returns_actions_or_a_format_error(text):
    try:
        actions = parse_actions(text)
    except FormatError as error:
        assert error.message
    else:
        assert actions
        assert all(action.kind in ("bash", "python", "tool") for action in actions)


@FAST
@given(st.text(max_size=300), st.text(max_size=60), st.text(max_size=60))
def test_edit_matching_never_crashes_and_exact_spans_are_real(text, old, new):
    for span in exact(text, old, new):
        assert text[span.start : span.end] == old
    tolerant(text, old, new)
    closest(text, old or "x")


@FAST
@given(
    st.lists(st.sampled_from(["def f():", "    return 1", "", "  x = 2", "\tpass"]), max_size=30),
    st.integers(min_value=0, max_value=10),
)
def test_indentation_tolerant_matching_on_code_like_text(lines, take):
    text = "\n".join(lines)
    old = "\n".join(line.strip() for line in lines[:take])
    tolerant(text, old, old.upper())


LOG_PIECES = st.sampled_from(
    [
        "PASSED ",
        "FAILED ",
        "ERROR ",
        "SKIPPED ",
        "XFAIL ",
        "tests/a.py::test_x",
        "[p 1]",
        " ... ok",
        " ... FAIL",
        " ... ERROR",
        "test_f (m.C)",
        "test_g ok",
        " F",
        " E",
        "=====",
        "\n",
        "  ",
        " - ",
        "short test summary info",
        "Ran 3 tests",
        "______ test_y ______",
    ]
)
LOGS = st.lists(st.one_of(LOG_PIECES, st.text(max_size=6)), max_size=60).map("".join)


@FAST
@given(LOGS, st.sampled_from(["pytest", "django", "sympy", "generic"]))
def test_log_parsers_read_any_log_into_test_statuses(log, log_format):
    from patchsmith.agent.bench.logparse import parse_log

    statuses = parse_log(log, log_format)
    assert all(
        isinstance(name, str) and isinstance(status, str) for name, status in statuses.items()
    )


@FAST
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "<<<<<<< SEARCH",
                    "=======",
                    ">>>>>>> REPLACE",
                    "```python",
                    "```",
                    "a.py",
                    "x = 1",
                    "\n",
                ]
            ),
            st.text(max_size=6),
        ),
        max_size=40,
    ).map("".join)
)
def test_search_replace_parsing_never_crashes(text):
    from patchsmith.agent.pipeline.search_replace import parse_edits

    parse_edits(text, default_path="a.py")
