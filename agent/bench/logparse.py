"""Test runners' logs read into {test name: status}: pytest, Django's runner, SymPy's
bin/test, and a generic one-line-per-test format (with TAP) for other languages.

Statuses are PASSED, FAILED, ERROR, SKIPPED, XFAIL (an expected failure) and XPASS (an
unexpected success). When a log reports one test twice (a pass, then an error in its
teardown), a failure wins over anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable

PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS = (
    "PASSED",
    "FAILED",
    "ERROR",
    "SKIPPED",
    "XFAIL",
    "XPASS",
)
STATUSES = (PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS)
# What makes a runner exit non-zero: a log with none of these explains no failing exit code.
FAILURES = frozenset({FAILED, ERROR, XPASS})
LOG_FORMATS = ("pytest", "django", "sympy", "generic")

StatusMap = dict[str, str]
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def record(statuses: StatusMap, name: str, status: str) -> None:
    """Note `status` for `name`; a failure already noted is kept."""
    name = name.strip()
    if name and not (statuses.get(name) in (FAILED, ERROR) and status not in (FAILED, ERROR)):
        statuses[name] = status


def canonical_name(name: str) -> str:
    """Python 3.11+ unittest writes `test_x (module.Class.test_x)` where older versions wrote
    `test_x (module.Class)`; both mean the same test, so both map to the older form."""
    match = re.fullmatch(r"(\S+) \(([\w.]+)\.\1\)(.*)", name.strip())
    return f"{match[1]} ({match[2]}){match[3]}" if match else name.strip()


def between_markers(output: str, start: str, end: str) -> str | None:
    """The lines of `output` between the line that is exactly `start` and the one that is
    exactly `end` (to the end of the output when the end marker never came); None without a
    start marker."""
    begin = re.search(rf"^{re.escape(start)}$", output, re.M)
    if begin is None:
        return None
    text = output[begin.end() + 1 :]
    stop = re.search(rf"^{re.escape(end)}$", text, re.M)
    return text if stop is None else text[: stop.start()]


def parse_log(log: str, log_format: str) -> StatusMap:
    """The status of every test `log` reports, by the conventions of `log_format`."""
    try:
        parser = PARSERS[log_format]
    except KeyError:
        raise ValueError(
            f"unknown log format {log_format!r}: use one of {', '.join(LOG_FORMATS)}"
        ) from None
    # Colour codes appear when a repository's configuration forces colour on.
    return parser(_ANSI.sub("", log).replace("\r\n", "\n"))


# -- pytest ------------------------------------------------------------------------------

_WORDS = "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS"
_SUMMARY_HEADER = re.compile(r"^=+ short test summary info =+$")
# `-rA` lines: "PASSED tests/x.py::test_a", "FAILED tests/x.py::test_b - message".
# pytest-xdist puts "[gw0] [ 50%]" before them.
_STATUS_FIRST = re.compile(rf"^(\[gw\d+\]\s+(?:\[\s*\d+%\]\s+)?)?({_WORDS}) (.+)$")
# `-v` lines: "tests/x.py::test_a PASSED  [ 50%]", "... SKIPPED (reason)  [ 60%]".
_STATUS_LAST = re.compile(rf"^(\S+::.+?) ({_WORDS})(?: \(.*\))?(?:\s+\[\s*\d+%\])?\s*$")


def parse_pytest(log: str) -> StatusMap:
    statuses: StatusMap = {}
    lines = log.split("\n")
    # Captured output can print anything, so status-first lines count only inside the
    # short summary, when the log has one.
    has_summary = any(_SUMMARY_HEADER.match(line) for line in lines)
    in_summary = False
    for line in lines:
        line = line.rstrip()
        if _SUMMARY_HEADER.match(line):
            in_summary = True
            continue
        if in_summary and line.startswith(("=", "!")):
            in_summary = False
        match = _STATUS_FIRST.match(line)
        if match and (in_summary or match[1] or not has_summary):
            name = _pytest_node_id(match[3])
            if name:
                record(statuses, name, match[2])
            continue
        match = _STATUS_LAST.match(line)
        if match:
            record(statuses, match[1], match[2])
    return statuses


def _pytest_node_id(rest: str) -> str | None:
    """The node id at the start of what follows a status word: it ends at the first space
    outside parametrize brackets (ids like `test_a[x - y]` hold spaces); then comes " - "
    and the message, or (pytest 7's XPASS) the reason after a space."""
    if rest.startswith("["):  # "SKIPPED [1] tests/x.py:12: reason": no test id given
        return None
    function_start = rest.find("::")
    depth = 0
    for i, char in enumerate(rest):
        if char == "[" and i > function_start >= 0:
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif char == " " and depth == 0:
            return rest[:i]
    if depth == 0:
        return rest
    # Unbalanced brackets in a parameter: the id runs to the last "]" before the message.
    cut = rest.rfind("] - ")
    return rest[: cut + 1] if cut >= 0 else rest.split(" - ", 1)[0]


# -- Django ------------------------------------------------------------------------------

# "test_x (app.tests.Class)" or, from Python 3.11, "test_x (app.tests.Class.test_x)";
# a subtest adds " (n=2)"; an import failure is "app.tests (unittest.loader._FailedTest)".
_DJANGO_TEST = re.compile(r"([\w.]+) \(([\w.]+)\)((?: \([^()]*\))?)(?= \.\.\.|$)")
_DJANGO_SECTION = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (.+)$")
_DJANGO_WORDS = {
    "ok": PASSED,
    "OK": PASSED,
    "FAIL": FAILED,
    "ERROR": ERROR,
    "expected failure": XFAIL,
    "unexpected success": XPASS,
}


def _django_status(text: str) -> str | None:
    text = text.strip()
    if text.startswith("skipped"):  # skipped 'reason' / skipped "reason"
        return SKIPPED
    return _DJANGO_WORDS.get(text)


def parse_django(log: str) -> StatusMap:
    """unittest's verbose lines as Django's runner prints them at --verbosity 2.

    A test with a docstring prints its name alone on a line, then the docstring's first
    line followed by " ... status"; SWE-bench's datasets name some tests by that docstring
    line, so the status is recorded under both. Output a test writes to stderr can push its
    status onto a later line; a test whose subtests failed gets no status on its line, only
    a "FAIL: name (class) (params)" section after the run."""
    statuses: StatusMap = {}
    pending: str | None = None  # a test whose status has not come yet
    named: str | None = None  # a test whose docstring line comes next
    previous = ""
    for line in log.split("\n"):
        section = _DJANGO_SECTION.match(line)
        if section and previous.startswith("=" * 10):
            test = _DJANGO_TEST.match(section[2] + " ...")
            if test:
                word = {"FAIL": FAILED, "ERROR": ERROR}.get(section[1], XPASS)
                record(statuses, _django_key(test), word)
            previous = line
            continue
        previous = line
        if named is not None:
            description, dots, rest = line.partition(" ... ")
            if not dots and line.endswith(" ..."):
                description, dots, rest = line[:-4], " ...", ""
            if dots:
                status = _django_status(rest)
                if status:
                    record(statuses, named, status)
                    record(statuses, description, status)
                    pending = None
                else:
                    pending = named
                named = None
                continue
            named = None
        position = len(line) - len(line.lstrip())
        test = _DJANGO_TEST.match(line, position)
        if test is None:
            status = _django_status(line)
            if status and pending is not None:
                record(statuses, pending, status)
                pending = None
            continue
        # One line can hold several tests when one printed no status of its own.
        while test is not None:
            key = _django_key(test)
            if test.end() == len(line):
                named = key
                break
            following = _DJANGO_TEST.search(line, test.end())
            while following and line[following.end() : following.end() + 4] != " ...":
                following = _DJANGO_TEST.search(line, following.end())
            end = following.start() if following else len(line)
            status = _django_status(line[test.end() + 4 : end])
            if test[3]:  # a subtest's own line (Python 3.11+): only failures are printed
                if status in FAILURES:
                    record(statuses, key, status)
                pending = None
            elif status:
                record(statuses, key, status)
                pending = None
            else:
                pending = key
            test = following
    return statuses


def _django_key(test: re.Match[str]) -> str:
    return canonical_name(f"{test[1]} ({test[2]})")


# -- SymPy -------------------------------------------------------------------------------

_SYMPY_FILE = re.compile(r"^(\S+\.py)\[\d+\]\s*$")
_SYMPY_TEST = re.compile(r"^(test\w*)(?: (.*?))?\s*(?:\[(?:OK|FAIL)\])?\s*$")
_SYMPY_SECTION = re.compile(r"^_+ (\S+\.py):(test\w*) _+$")
_SYMPY_CHARS = {
    "ok": PASSED,
    "F": FAILED,
    "E": ERROR,
    "f": XFAIL,
    "X": XPASS,
    "s": SKIPPED,
    "w": SKIPPED,  # slow
    "K": SKIPPED,  # stopped by KeyboardInterrupt
    "-": SKIPPED,  # skipped without a message
}


def parse_sympy(log: str) -> StatusMap:
    """`bin/test --verbose`: after a file's "path.py[N]" line, one "test_name STATUS" line
    per test, where STATUS is ok, F, E, f (expected failure), X (unexpected pass), or a skip
    reason followed by s; the file's last line ends with [OK] or [FAIL]."""
    statuses: StatusMap = {}
    in_file = False
    pending: str | None = None
    for line in log.split("\n"):
        line = line.rstrip()
        if _SYMPY_FILE.match(line):
            in_file = True
            continue
        if line.startswith("___"):  # the report after the run: failures, xpassed tests
            in_file = False
            section = _SYMPY_SECTION.match(line)
            if section and section[2] not in statuses:  # its own line was lost in output
                record(statuses, section[2], FAILED)
            continue
        if not in_file or not line.strip():
            continue
        test = _SYMPY_TEST.match(line)
        if test is None:
            status = _SYMPY_CHARS.get(line.split()[-1])
            if pending and status:
                record(statuses, pending, status)
                pending = None
            continue
        status = _sympy_status(test[2] or "")
        if status:
            record(statuses, test[1], status)
            pending = None
        else:
            pending = test[1]
    return statuses


def _sympy_status(text: str) -> str | None:
    words = text.split()
    if not words:
        return None
    if words[-1] == "T":  # a timeout: an error, or a skip whose reason says "Timeout"
        return SKIPPED if len(words) > 1 else ERROR
    return _SYMPY_CHARS.get(words[-1])


# -- generic -----------------------------------------------------------------------------

_GENERIC_LINE = re.compile(rf"^\s*({_WORDS}):?\s+(.+?)\s*$")
_TAP_LINE = re.compile(r"^\s*(not ok|ok)\s+\d+(?:\s+-)?\s*(.*?)(?:\s+#\s*(\w+).*)?$")


def parse_generic(log: str) -> StatusMap:
    """For runners of any language: "PASSED name" / "FAILED name" lines (also ERROR,
    SKIPPED, XFAIL, XPASS; a colon may follow the word; the rest of the line is the name),
    and numbered TAP lines ("ok 1 - name", "not ok 2 - name", "# SKIP", "# TODO")."""
    statuses: StatusMap = {}
    for line in log.split("\n"):
        match = _GENERIC_LINE.match(line)
        if match:
            record(statuses, match[2], match[1])
            continue
        match = _TAP_LINE.match(line)
        if match and match[2]:
            directive = (match[3] or "").upper()
            if directive == "SKIP":
                status = SKIPPED
            elif directive == "TODO":
                status = XPASS if match[1] == "ok" else XFAIL
            else:
                status = PASSED if match[1] == "ok" else FAILED
            record(statuses, match[2], status)
    return statuses


PARSERS: dict[str, Callable[[str], StatusMap]] = {
    "pytest": parse_pytest,
    "django": parse_django,
    "sympy": parse_sympy,
    "generic": parse_generic,
}
