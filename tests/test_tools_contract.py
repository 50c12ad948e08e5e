"""The Tool contract: registry, schemas, docs, and argument checking before a tool runs."""

from __future__ import annotations

import json

import pytest

from patchsmith.tools.base import Observation
from patchsmith.tools.registry import Toolset, all_tools, get_tool

EXPECTED = {
    "search",
    "find_files",
    "view",
    "edit",
    "bash",
    "python",
    "run_tests",
    "submit",
    "symbols",
    "show",
    "references",
    "repo_map",
}


@pytest.fixture
def toolset():
    # Argument checking happens before a tool touches the sandbox, so none is needed here.
    return Toolset(sandbox=None)


def test_registry_has_every_tool_once():
    names = [tool.name for tool in all_tools()]
    assert set(names) == EXPECTED
    assert len(names) == len(set(names))
    assert get_tool("view").name == "view"
    with pytest.raises(KeyError, match="the tools are"):
        get_tool("nope")


def test_schemas_are_openai_function_definitions(toolset):
    schemas = toolset.schemas()
    assert {s["function"]["name"] for s in schemas} == EXPECTED
    for schema in schemas:
        assert schema["type"] == "function"
        parameters = schema["function"]["parameters"]
        assert parameters["type"] == "object"
        assert set(parameters.get("required", [])) <= set(parameters["properties"])
        assert len(schema["function"]["description"]) > 80
        json.dumps(schema)  # serialisable as is


def test_docs_document_every_tool_and_its_arguments(toolset):
    docs = toolset.docs()
    for name in EXPECTED:
        assert f"### {name}\n" in docs
    assert "- old_str (string, optional): str_replace: the text to replace" in docs
    assert "- pattern (string, required)" in docs
    assert "- literal (boolean, optional, default false): treat the pattern as plain text" in docs


def test_a_toolset_can_offer_some_tools_only():
    toolset = Toolset(sandbox=None, tools=["view", "search"])
    assert [s["function"]["name"] for s in toolset.schemas()] == ["view", "search"]
    seen = toolset.call("bash", {"command": "ls"})
    assert seen.is_error
    assert "the tools are: view, search" in seen.text


def test_unknown_tool_gives_an_error_listing_the_tools(toolset):
    seen = toolset.call("grep", {"pattern": "x"})
    assert isinstance(seen, Observation)
    assert seen.is_error
    assert "no tool called 'grep'" in seen.text
    assert "search" in seen.text


def test_missing_argument_is_an_error_with_the_usage(toolset):
    seen = toolset.call("view", {})
    assert seen.is_error
    assert "missing required argument 'path'" in seen.text
    assert "Usage: view(path: string, start?: integer, end?: integer, depth?: integer)" in seen.text


def test_unknown_argument_is_an_error_naming_the_known_ones(toolset):
    seen = toolset.call("view", {"path": "a.py", "line": 3})
    assert seen.is_error
    assert "unknown argument 'line' (known: path, start, end, depth)" in seen.text


def test_wrongly_typed_argument_is_an_error(toolset):
    seen = toolset.call("view", {"path": "a.py", "start": "ten"})
    assert seen.is_error
    assert "argument 'start' must be an integer, got the string 'ten'" in seen.text
    seen = toolset.call("edit", {"command": "replace", "path": "a.py"})
    assert "must be one of 'str_replace', 'insert', 'create', 'replace_symbol', 'undo'" in seen.text
    seen = toolset.call("search", {"pattern": "x", "max_results": 0})
    assert "must be at least 1" in seen.text


def test_arguments_that_are_not_an_object_are_an_error(toolset):
    seen = toolset.call("view", ["a.py"])
    assert seen.is_error
    assert "arguments must be an object" in seen.text


def test_unambiguous_slips_are_coerced():
    from patchsmith.tools.schema import check_arguments

    schema = get_tool("run_tests").parameters
    checked, problems = check_arguments(schema, {"tests": "tests/test_a.py", "raw": "true"})
    assert problems == []
    assert checked["tests"] == ["tests/test_a.py"]
    assert checked["raw"] is True
    checked, problems = check_arguments(get_tool("view").parameters, {"path": "a", "start": "12"})
    assert checked["start"] == 12
    assert problems == []
