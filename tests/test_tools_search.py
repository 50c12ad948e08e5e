"""search and find_files on both backends, and search's fallbacks (git grep, grep)."""

from __future__ import annotations

import pytest
from conftest import make_repo, require_backend
from tools_support import toolset_fixture, toolset_on

FILES = {
    "src/app.py": "import os\n\ndef handler(event):\n    return Handler(event)\n",
    "src/handlers.py": (
        "class Handler:\n    def __init__(self, event):\n        self.event = event\n"
    ),
    "src/many.py": "".join(f"target_{i} = {i}\n" for i in range(30)),
    "docs/guide.md": "Call handler() to start.\nThe Handler class does the work.\n",
    "tests/test_app.py": "from src.app import handler\n\n\ndef test_handler():\n    handler(1)\n",
    ".gitignore": "build/\n",
    "build/out.py": "def handler(): pass\n",
    "odd name.py": "handler = 1\n",
}
for n in range(12):
    FILES[f"spread/m{n:02}.py"] = "target = 1\n"

tools = toolset_fixture(FILES)


def search(tools, **arguments):
    return tools.call("search", arguments)


def test_search_groups_matches_by_file_with_line_numbers(tools):
    seen = search(tools, pattern=r"def handler")
    assert not seen.is_error
    assert "src/app.py (1 match)\n  3: def handler(event):" in seen.text
    assert "tests/test_app.py" not in seen.text  # "def test_handler" does not match


def test_search_leaves_out_ignored_files(tools):
    seen = search(tools, pattern="handler")
    assert "build/out.py" not in seen.text
    assert "odd name.py" in seen.text


def test_search_is_case_sensitive_unless_asked(tools):
    assert "docs/guide.md (1 match)" in search(tools, pattern="handler", path="docs").text
    folded = search(tools, pattern="handler", path="docs", case_insensitive=True)
    assert "docs/guide.md (2 matches)" in folded.text


def test_literal_search_treats_regex_characters_as_text(tools):
    seen = search(tools, pattern="handler()", literal=True)
    assert "docs/guide.md" in seen.text
    assert "src/app.py" not in seen.text


def test_search_with_glob_and_path(tools):
    seen = search(tools, pattern="handler", glob="*.md")
    assert "docs/guide.md" in seen.text
    assert ".py" not in seen.text.split(":", 1)[1]
    assert "src/" not in search(tools, pattern="handler", path="tests").text


def test_search_caps_lines_per_file_and_in_total_with_counts(tools):
    seen = search(tools, pattern="target", per_file=3, max_results=20)
    assert seen.text.startswith("42 matching lines in 13 files")
    assert "showing 15 of them, in 13 of the files" in seen.text
    assert "spread/m00.py (1 match)" in seen.text
    assert "src/many.py (30 matches)\n  1: target_0 = 0" in seen.text
    assert "... 27 more in this file" in seen.text
    assert seen.data["total_lines"] == 42
    assert seen.data["shown_lines"] == 15
    few = search(tools, pattern="target", max_results=4)
    assert "showing 4 of them, in 4 of the files" in few.text
    assert "src/many.py" not in few.text


def test_search_without_matches_says_so(tools):
    seen = search(tools, pattern="no_such_thing_anywhere")
    assert not seen.is_error
    assert seen.text.startswith("No matches for 'no_such_thing_anywhere'")


def test_bad_regex_is_an_error_with_the_reason(tools):
    seen = search(tools, pattern="handler(")
    assert seen.is_error
    assert "search failed" in seen.text


def test_search_outside_the_workspace_is_refused(tools):
    assert search(tools, pattern="root", path="/etc").is_error


@pytest.mark.parametrize("engine", ["git", "grep"])
def test_fallback_search_engines_give_the_same_answer(tmp_path, engine):
    require_backend("local")
    repo = make_repo(tmp_path / "repo", FILES)
    with toolset_on(repo, "local", search_backend=engine) as tools:
        seen = search(tools, pattern="target", per_file=3, max_results=20)
        assert seen.data["backend"] == engine
        assert seen.text.startswith("42 matching lines in 13 files")
        assert "src/many.py (30 matches)" in seen.text
        assert "... 27 more in this file" in seen.text
        literal = search(tools, pattern="handler()", literal=True)
        assert "docs/guide.md (1 match)\n  1: Call handler() to start." in literal.text
        assert "docs" in search(tools, pattern="Handler", glob="*.md").text
        assert "build/out.py" not in search(tools, pattern="def handler").text


def test_find_files_by_glob(tools):
    seen = tools.call("find_files", {"pattern": "test_*.py"})
    assert seen.text == "1 match for 'test_*.py':\ntests/test_app.py"


def test_find_files_by_name_fragment_includes_directories(tools):
    seen = tools.call("find_files", {"pattern": "handler"})
    assert "src/handlers.py" in seen.text
    seen = tools.call("find_files", {"pattern": "spread"})
    assert "spread/" in seen.text.splitlines()[1]


def test_find_files_path_glob_spans_directories(tools):
    seen = tools.call("find_files", {"pattern": "src/**/*.py"})
    assert seen.data["paths"] == ["src/app.py", "src/handlers.py", "src/many.py"]


def test_find_files_caps_with_a_count(tools):
    seen = tools.call("find_files", {"pattern": "*.py", "path": "spread", "max_results": 5})
    assert "12 matches" in seen.text
    assert "showing the first 5 (7 left out)" in seen.text
    assert len(seen.text.splitlines()) == 6
