"""view on both backends: numbered lines, ranges, paging, trees, binary files, confinement."""

from __future__ import annotations

from tools_support import put, toolset_fixture

FILES = {
    "src/app.py": "def main():\n    print('hi')\n",
    "src/pkg/__init__.py": "",
    "src/pkg/core.py": "x = 1\n",
    "long.py": "".join(f"line_{i} = {i}\n" for i in range(1, 501)),
    "empty.txt": "",
}

tools = toolset_fixture(FILES, view_lines=100)


def view(tools, **arguments):
    return tools.call("view", arguments)


def test_view_shows_a_file_with_line_numbers(tools):
    seen = view(tools, path="src/app.py")
    assert seen.text == "src/app.py (lines 1-2 of 2)\n1 | def main():\n2 |     print('hi')"


def test_view_shows_a_line_range(tools):
    seen = view(tools, path="long.py", start=200, end=202)
    assert seen.text.splitlines() == [
        "long.py (lines 200-202 of 500)",
        "200 | line_200 = 200",
        "201 | line_201 = 201",
        "202 | line_202 = 202",
    ]
    tail = view(tools, path="long.py", start=499, end=-1)
    assert tail.text.endswith("500 | line_500 = 500")


def test_long_file_is_paged_with_a_note_on_how_to_see_more(tools):
    seen = view(tools, path="long.py")
    assert seen.text.startswith("long.py (lines 1-100 of 500)")
    assert "long.py has 500 lines; showing 1-100. View more with start=101" in seen.text
    assert "line_101" not in seen.text


def test_range_past_the_end_is_an_error_that_gives_the_length(tools):
    seen = view(tools, path="long.py", start=900)
    assert seen.is_error
    assert "has only 500 lines" in seen.text


def test_empty_file_says_so(tools):
    assert view(tools, path="empty.txt").text == "empty.txt is empty."


def test_binary_file_is_refused_with_a_note(tools):
    put(tools, "blob.bin", b"\x89PNG\r\n\x00\x00\x01")
    seen = view(tools, path="blob.bin")
    assert seen.is_error
    assert "binary file (9 bytes)" in seen.text


def test_directory_is_shown_as_a_tree_with_sizes(tools):
    seen = view(tools, path="src")
    assert seen.text.splitlines() == [
        "src/: 3 files (ignored files not shown), 2 levels shown",
        "pkg/  (2 files)",
        "  __init__.py  (0 B)",
        "  core.py  (6 B)",
        "app.py  (28 B)",
    ]
    shallow = view(tools, path=".", depth=1)
    assert "src/  (3 files)" in shallow.text
    assert "core.py" not in shallow.text


def test_missing_file_names_files_with_the_same_name(tools):
    seen = view(tools, path="core.py")
    assert seen.is_error
    assert "core.py does not exist; files with that name: src/pkg/core.py" in seen.text


def test_paths_outside_the_workspace_are_refused(tools):
    assert "leaves the workspace" in view(tools, path="../x").text
    assert "outside the workspace" in view(tools, path="/etc/passwd").text
    tools.sandbox.run("ln -sfn /etc etc_link", cwd=tools.sandbox.root)
    seen = view(tools, path="etc_link/passwd")
    assert seen.is_error
    assert "points outside the workspace" in seen.text
    assert "root:" not in seen.text


def test_absolute_path_inside_the_workspace_is_accepted(tools):
    seen = view(tools, path=tools.sandbox.root + "/src/app.py")
    assert seen.text.startswith("src/app.py (lines 1-2 of 2)")
