"""The edit tool on both backends: matching, guardrails, undo, symbols, confinement."""

from __future__ import annotations

from tools_support import get, put, toolset_fixture

tools = toolset_fixture({"README.md": "fixture\n"})

NESTED = """\
import functools


class Outer:
    class Inner:
        @staticmethod
        @functools.lru_cache
        def method(x):
            return x + 1

        def other(self):
            return 0


def method(x):
    return x
"""


def edit(tools, **arguments):
    return tools.call("edit", arguments)


def test_str_replace_changes_the_one_match_and_shows_numbered_diff(tools):
    put(tools, "e1.py", "def add(a, b):\n    return a - b\n")
    seen = edit(tools, command="str_replace", path="e1.py", old_str="a - b", new_str="a + b")
    assert not seen.is_error
    assert get(tools, "e1.py") == b"def add(a, b):\n    return a + b\n"
    assert "-2 |     return a - b" in seen.text
    assert "+2 |     return a + b" in seen.text


def test_ambiguous_str_replace_is_refused_and_lists_candidate_lines(tools):
    original = b"x = 1\ny = 2\nx = 1\nz = 3\nx = 1\n"
    put(tools, "e2.py", original)
    seen = edit(tools, command="str_replace", path="e2.py", old_str="x = 1", new_str="x = 9")
    assert seen.is_error
    assert "matches 3 places" in seen.text
    for line in ("line 1", "line 3", "line 5"):
        assert line in seen.text
    assert get(tools, "e2.py") == original


def test_replace_all_changes_every_occurrence(tools):
    put(tools, "e3.py", "x = 1\nx = 1\n")
    seen = edit(
        tools,
        command="str_replace",
        path="e3.py",
        old_str="x = 1",
        new_str="x = 2",
        replace_all=True,
    )
    assert "replaced 2 occurrences" in seen.text
    assert get(tools, "e3.py") == b"x = 2\nx = 2\n"


def test_indentation_shifted_str_replace_applies_when_unique_and_reindents(tools):
    put(tools, "e4.py", "class A:\n    def f(self):\n        return 1\n")
    seen = edit(
        tools,
        command="str_replace",
        path="e4.py",
        old_str="def f(self):\n    return 1",
        new_str="def f(self):\n    value = 2\n    return value",
    )
    assert not seen.is_error, seen.text
    assert "indentation 4 spaces deeper" in seen.text
    assert get(tools, "e4.py") == (
        b"class A:\n    def f(self):\n        value = 2\n        return value\n"
    )


def test_whitespace_tolerant_match_is_refused_when_it_is_ambiguous(tools):
    original = b"if a:\n    go()\nif b:\n        go()\n"
    put(tools, "e5.py", original)
    seen = edit(tools, command="str_replace", path="e5.py", old_str="go()  ", new_str="stop()")
    assert seen.is_error
    assert "2 places when whitespace is ignored" in seen.text
    assert get(tools, "e5.py") == original


def test_no_match_shows_the_closest_region_with_line_numbers(tools):
    put(tools, "e6.py", "def alpha():\n    return compute(1, 2)\n\n\ndef beta():\n    pass\n")
    seen = edit(
        tools,
        command="str_replace",
        path="e6.py",
        old_str="def alpha():\n    return compute(1, 3)",
        new_str="def alpha():\n    return 0",
    )
    assert seen.is_error
    assert "not found" in seen.text
    assert "lines 1-2" in seen.text
    assert "2 |     return compute(1, 2)" in seen.text


def test_no_match_says_when_the_new_text_is_already_there(tools):
    put(tools, "e7.py", "value = 2\n")
    seen = edit(
        tools, command="str_replace", path="e7.py", old_str="value = 1", new_str="value = 2"
    )
    assert seen.is_error
    assert "may have been made already" in seen.text


def test_edit_that_breaks_syntax_is_rejected_and_file_is_byte_for_byte_unchanged(tools):
    original = b"def f(a):\r\n    return [a,\r\n            a]\r\n"
    put(tools, "e8.py", original)
    seen = edit(tools, command="str_replace", path="e8.py", old_str="def f(a):", new_str="def f(a:")
    assert seen.is_error
    assert "would not parse" in seen.text
    assert "line 1" in seen.text
    assert "def f(a:" in seen.text  # the attempted text is shown
    assert "left unchanged" in seen.text
    assert get(tools, "e8.py") == original


def test_edit_of_a_file_that_was_already_broken_is_allowed_with_a_note(tools):
    put(tools, "e9.py", "def f(:\n    pass\nx = 1\n")
    seen = edit(tools, command="str_replace", path="e9.py", old_str="x = 1", new_str="x = 2")
    assert not seen.is_error
    assert "already had syntax errors" in seen.text
    assert get(tools, "e9.py").endswith(b"x = 2\n")


def test_crlf_newlines_and_missing_final_newline_are_preserved(tools):
    put(tools, "e10.py", b"a = 1\r\nb = 2\r\nc = 3")
    edit(
        tools, command="str_replace", path="e10.py", old_str="b = 2\n", new_str="b = 20\nbb = 21\n"
    )
    assert get(tools, "e10.py") == b"a = 1\r\nb = 20\r\nbb = 21\r\nc = 3"


def test_undo_restores_exact_bytes_over_several_levels(tools):
    original = b"# caf\xe9 latin-1\r\nx = 1\r\n"
    put(tools, "e11.py", original)
    edit(tools, command="str_replace", path="e11.py", old_str="x = 1", new_str="x = 2")
    after_first = get(tools, "e11.py")
    edit(tools, command="insert", path="e11.py", insert_line=2, new_str="y = 3\n")
    edit(tools, command="str_replace", path="e11.py", old_str="y = 3", new_str="y = 4")
    assert get(tools, "e11.py") == b"# caf\xe9 latin-1\r\nx = 2\r\ny = 4\r\n"

    seen = edit(tools, command="undo", path="e11.py")
    assert "2 earlier edits" in seen.text
    edit(tools, command="undo", path="e11.py")
    assert get(tools, "e11.py") == after_first
    seen = edit(tools, command="undo", path="e11.py")
    assert "0 earlier edits" in seen.text
    assert get(tools, "e11.py") == original
    seen = edit(tools, command="undo", path="e11.py")
    assert seen.is_error
    assert "no edit of e11.py to undo" in seen.text


def test_undo_of_create_removes_the_file(tools):
    edit(tools, command="create", path="newdir/made.py", file_text="x = 1")
    assert get(tools, "newdir/made.py") == b"x = 1\n"
    seen = edit(tools, command="undo", path="newdir/made.py")
    assert "removed newdir/made.py" in seen.text
    assert tools.call("view", {"path": "newdir/made.py"}).is_error


def test_insert_at_top_and_after_a_line(tools):
    put(tools, "e12.py", "b = 2\nc = 3\n")
    edit(tools, command="insert", path="e12.py", insert_line=0, new_str="a = 1")
    seen = edit(tools, command="insert", path="e12.py", insert_line=3, new_str="d = 4\n")
    assert "after line 3" in seen.text
    assert get(tools, "e12.py") == b"a = 1\nb = 2\nc = 3\nd = 4\n"
    past = edit(tools, command="insert", path="e12.py", insert_line=9, new_str="e = 5\n")
    assert past.is_error
    assert "the file has 4 lines" in past.text


def test_create_refuses_an_existing_file_unless_overwrite(tools):
    put(tools, "e13.py", "old = 1\n")
    refused = edit(tools, command="create", path="e13.py", file_text="new = 1\n")
    assert refused.is_error
    assert "already exists" in refused.text
    assert get(tools, "e13.py") == b"old = 1\n"
    edit(tools, command="create", path="e13.py", file_text="new = 1\n", overwrite=True)
    assert get(tools, "e13.py") == b"new = 1\n"


def test_create_refuses_a_file_that_does_not_parse(tools):
    seen = edit(tools, command="create", path="e14.py", file_text="def f(:\n")
    assert seen.is_error
    assert "bash" in seen.text
    assert tools.call("view", {"path": "e14.py"}).is_error


def test_replace_symbol_replaces_a_method_in_a_nested_class_and_keeps_decorators(tools):
    put(tools, "pkg/nested.py", NESTED)
    seen = edit(
        tools,
        command="replace_symbol",
        path="pkg/nested.py",
        symbol="Outer.Inner.method",
        new_str="def method(x):\n    doubled = x * 2\n    return doubled\n",
    )
    assert not seen.is_error, seen.text
    assert "decorator lines above it were kept" in seen.text
    text = get(tools, "pkg/nested.py").decode()
    assert (
        "        @staticmethod\n        @functools.lru_cache\n        def method(x):\n"
        "            doubled = x * 2\n            return doubled\n\n        def other(self):"
    ) in text
    assert text.endswith("def method(x):\n    return x\n")  # the module-level one is untouched


def test_replace_symbol_with_module_qualified_name_and_new_decorators(tools):
    put(tools, "pkg/nested2.py", NESTED)
    seen = edit(
        tools,
        command="replace_symbol",
        path="pkg/nested2.py",
        symbol="pkg.nested2.Outer.Inner.method",
        new_str="    @classmethod\n    def method(cls, x):\n        return x\n",
    )
    assert not seen.is_error, seen.text
    text = get(tools, "pkg/nested2.py").decode()
    assert "        @classmethod\n        def method(cls, x):\n            return x\n" in text
    assert "lru_cache\n        def" not in text


def test_replace_symbol_with_an_ambiguous_bare_name_lists_the_definitions(tools):
    put(tools, "pkg/nested3.py", NESTED)
    seen = edit(
        tools, command="replace_symbol", path="pkg/nested3.py", symbol="method", new_str="x = 1"
    )
    assert seen.is_error
    assert "pkg.nested3.Outer.Inner.method" in seen.text
    assert "pkg.nested3.method" in seen.text
    assert get(tools, "pkg/nested3.py").decode() == NESTED


def test_replace_symbol_unknown_name_lists_what_the_file_defines(tools):
    put(tools, "pkg/nested4.py", NESTED)
    seen = edit(
        tools, command="replace_symbol", path="pkg/nested4.py", symbol="Missing", new_str="x = 1"
    )
    assert seen.is_error
    assert "Outer.Inner.other" in seen.text


def test_paths_outside_the_workspace_are_refused(tools):
    for path in ("../x.py", "/etc/passwd", "a/../../x.py"):
        seen = edit(tools, command="create", path=path, file_text="x = 1\n")
        assert seen.is_error, path
        assert "outside the workspace" in seen.text or "leaves the workspace" in seen.text


def test_writing_through_a_symlink_that_points_outside_is_refused(tools):
    tools.sandbox.run("ln -sfn /etc escape && ln -sf /etc/hostname host.py", cwd=tools.sandbox.root)
    for path in ("escape/evil.py", "host.py"):
        seen = edit(tools, command="create", path=path, file_text="x = 1\n", overwrite=True)
        assert seen.is_error, path
        assert "points outside the workspace" in seen.text
    seen = tools.call("view", {"path": "escape/passwd"})
    assert seen.is_error
    assert "points outside the workspace" in seen.text


def test_a_symlink_inside_the_workspace_edits_its_target(tools):
    put(tools, "real.py", "x = 1\n")
    tools.sandbox.run("ln -sf real.py alias.py", cwd=tools.sandbox.root)
    edit(tools, command="str_replace", path="alias.py", old_str="x = 1", new_str="x = 2")
    assert get(tools, "real.py") == b"x = 2\n"
    link = tools.sandbox.run("readlink alias.py", cwd=tools.sandbox.root).output.strip()
    assert link == "real.py"


def test_files_inside_git_are_refused(tools):
    seen = edit(tools, command="create", path=".git/hooks/post-commit", file_text="echo\n")
    assert seen.is_error
    assert "inside .git" in seen.text


def test_missing_arguments_for_a_command_say_what_is_needed(tools):
    seen = edit(tools, command="str_replace", path="README.md")
    assert seen.is_error
    assert "needs old_str, new_str" in seen.text
