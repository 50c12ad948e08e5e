"""The text action protocol read from the kind of replies local models really write."""

from __future__ import annotations

import pytest

from patchsmith.agent.text_protocol import (
    Action,
    FormatError,
    parse_actions,
    protocol_instructions,
)


def bash(code: str) -> Action:
    return Action("bash", code=code)


def python(code: str) -> Action:
    return Action("python", code=code)


def tool(name: str, **arguments) -> Action:
    return Action("tool", name=name, arguments=arguments)


# Replies in the style of llama / qwen / deepseek-coder / mistral served by Ollama.
REALISTIC = [
    pytest.param(
        "I'll start by exploring the repository structure to understand the codebase.\n\n"
        "```bash\nfind . -name '*.py' | head -20\n```\n\n"
        "This will show me the Python files.",
        [bash("find . -name '*.py' | head -20")],
        id="llama-prose-around-block",
    ),
    pytest.param(
        "Let me check the file:\n```bash \t\ncat src/calc.py\n```",
        [bash("cat src/calc.py")],
        id="whitespace-after-fence",
    ),
    pytest.param(
        "```bash title=\"inspect\"\ngrep -rn 'def add' .\n```",
        [bash("grep -rn 'def add' .")],
        id="trailing-text-after-label",
    ),
    pytest.param(
        "``` bash\npython -m pytest -x -q\n```",
        [bash("python -m pytest -x -q")],
        id="space-between-fence-and-label",
    ),
    pytest.param(
        "Run the tests:\n```Shell\npytest tests/test_calc.py\n```\n",
        [bash("pytest tests/test_calc.py")],
        id="capitalised-shell-label",
    ),
    pytest.param(
        "```console\n$ cd /testbed\n$ python -m pytest -q\n.F.\n1 failed, 2 passed\n```",
        [bash("cd /testbed\npython -m pytest -q")],
        id="console-prompts-and-sample-output",
    ),
    pytest.param(
        "```sh\n$ pip install -e . \\\n    --no-deps\n$ python -c 'import calc'\n```",
        [bash("pip install -e . \\\n    --no-deps\npython -c 'import calc'")],
        id="prompted-sh-with-continuation-line",
    ),
    pytest.param(
        "Now I will write a quick reproduction.\n\n```PYTHON3\nfrom calc import add\n"
        "print(add(2, 3))\n```\n",
        [python("from calc import add\nprint(add(2, 3))")],
        id="uppercase-python3",
    ),
    pytest.param(
        "~~~py\nimport sys\nprint(sys.version)\n~~~",
        [python("import sys\nprint(sys.version)")],
        id="tilde-fence-py",
    ),
    pytest.param(
        "Steps:\n\n1. Look at the function:\n   ```bash\n   sed -n '1,20p' calc.py\n   ```\n"
        "2. Try it:\n   ```python\n   def check():\n       return add(2, 3)\n\n   print(check())\n"
        "   ```\n",
        [
            bash("sed -n '1,20p' calc.py"),
            python("def check():\n    return add(2, 3)\n\nprint(check())"),
        ],
        id="indented-fences-in-a-list",
    ),
    pytest.param(
        "Thought: I should see the failing test first.\r\n```bash\r\ncat test_calc.py\r\n```\r\n",
        [bash("cat test_calc.py")],
        id="crlf-line-endings",
    ),
    pytest.param(
        "I found the bug. The fix is to change the operator.\n\n"
        "```bash\nsed -i 's/a - b/a + b/' calc.py\ngit diff",
        [bash("sed -i 's/a - b/a + b/' calc.py\ngit diff")],
        id="missing-closing-fence-at-end",
    ),
    pytest.param(
        "First look, then test, then view with the tool.\n```bash\nls\n```\nand\n"
        "```python\nprint(1)\n```\nfinally\n"
        '```tool\n{"name": "view", "arguments": {"path": "calc.py"}}\n```',
        [bash("ls"), python("print(1)"), tool("view", path="calc.py")],
        id="several-blocks-in-order",
    ),
    pytest.param(
        "Let me run it.\n```bash ls -la```",
        [bash("ls -la")],
        id="whole-block-on-one-line",
    ),
    pytest.param(
        "<tool_call>\n"
        '{"name": "search", "arguments": {"pattern": "def add", "path": "."}}\n'
        "</tool_call>",
        [tool("search", pattern="def add", path=".")],
        id="qwen-tool-call-tag",
    ),
    pytest.param(
        'I will edit the file.\n```json\n{"name": "edit", "arguments": {"path": "calc.py", '
        '"old": "a - b", "new": "a + b"}}\n```',
        [tool("edit", path="calc.py", old="a - b", new="a + b")],
        id="json-block-shaped-as-a-call",
    ),
    pytest.param(
        "```tool\nname: view\narguments:\n  path: calc.py\n  start: 1\n```",
        [tool("view", path="calc.py", start=1)],
        id="yaml-tool-block",
    ),
    pytest.param(
        "```tool\n{'name': 'view', 'arguments': {'path': 'calc.py'},}\n```",
        [tool("view", path="calc.py")],
        id="python-dict-style-tool-block",
    ),
    pytest.param(
        '```tool\n{"name": "edit", "arguments": {"path": "calc.py", "new": "def add(a, b):\n'
        '    return a + b\n"}}\n```',
        [tool("edit", path="calc.py", new="def add(a, b):\n    return a + b\n")],
        id="raw-newlines-inside-json-strings",
    ),
    pytest.param(
        '```tool\n{"function": {"name": "view", "arguments": "{\\"path\\": \\"calc.py\\"}"}}\n```',
        [tool("view", path="calc.py")],
        id="openai-shape-with-string-arguments",
    ),
    pytest.param(
        '```tool\n{"name": "view", "path": "calc.py"}\n```',
        [tool("view", path="calc.py")],
        id="arguments-inline-beside-name",
    ),
    pytest.param(
        "Here's the command:\n\n```\n$ python -m pytest test_calc.py\n```\n",
        [bash("python -m pytest test_calc.py")],
        id="lone-unlabelled-block-with-prompt",
    ),
    pytest.param(
        "```bash\npython -m pytest -q\n```\n\nOutput:\n```\n1 failed in 0.01s\n```",
        [bash("python -m pytest -q")],
        id="hallucinated-output-in-unlabelled-block-ignored",
    ),
    pytest.param(
        "```python\n>>> from calc import add\n>>> add(2, 3)\n-1\n```",
        [python("from calc import add\nadd(2, 3)")],
        id="python-repl-transcript",
    ),
    pytest.param(
        "````python\ntext = '''\n```\ncode\n```\n'''\nprint(text)\n````",
        [python("text = '''\n```\ncode\n```\n'''\nprint(text)")],
        id="longer-fence-holds-backticks",
    ),
    pytest.param(
        "```csharp\nConsole.WriteLine(1);\n```\n```bash\ndotnet test\n```",
        [bash("dotnet test")],
        id="csharp-block-beside-bash-is-skipped",
    ),
]


@pytest.mark.parametrize("reply, expected", REALISTIC)
def test_realistic_replies_yield_the_intended_actions(reply, expected):
    assert parse_actions(reply) == expected


@pytest.mark.parametrize("label", ["csharp", "cs", "c", "c#", "diff", "text", "cpp", "csh "])
def test_other_languages_are_never_run_as_shell(label):
    with pytest.raises(FormatError) as caught:
        parse_actions(f"Here is the code:\n```{label}\nls -la\n```\n")
    assert f"```{label.strip()} blocks, which are not run" in caught.value.message


def test_reply_without_action_explains_the_expected_format():
    with pytest.raises(FormatError) as caught:
        parse_actions("I think the bug is in calc.py where add subtracts instead of adding.")
    message = caught.value.message
    assert "no action" in message
    for fence in ("```bash", "```python", "```tool"):
        assert fence in message
    assert '{"name": "<tool name>", "arguments":' in message


def test_several_unlabelled_blocks_are_not_guessed():
    with pytest.raises(FormatError) as caught:
        parse_actions("Before:\n```\nreturn a - b\n```\nAfter:\n```\nreturn a + b\n```")
    assert "without a label" in caught.value.message


def test_json_data_that_is_not_a_call_is_not_an_action():
    package = '```json\n{"name": "calc", "version": "1.0", "scripts": {"test": "jest"}}\n```'
    with pytest.raises(FormatError):
        parse_actions(package)


def test_broken_tool_block_is_reported_with_the_reason():
    with pytest.raises(FormatError) as caught:
        parse_actions('```tool\n{"name": "view", "arguments": {"path": "calc.py"\n```')
    assert "```tool block is not valid JSON" in caught.value.message


def test_tool_block_without_name_is_reported():
    with pytest.raises(FormatError) as caught:
        parse_actions('```tool\n{"arguments": {"path": "calc.py"}}\n```')
    assert 'needs a "name"' in caught.value.message


def test_tool_arguments_must_be_an_object():
    with pytest.raises(FormatError) as caught:
        parse_actions('```tool\n{"name": "view", "arguments": ["calc.py"]}\n```')
    assert "must be a JSON object" in caught.value.message


def test_tool_call_tag_inside_a_code_block_is_only_quoted():
    reply = (
        "Models like me sometimes write:\n```text\n<tool_call>{}</tool_call>\n```\n```bash\nls\n```"
    )
    assert parse_actions(reply) == [bash("ls")]


def test_empty_blocks_are_not_actions():
    with pytest.raises(FormatError):
        parse_actions("```bash\n\n```")


VIEW = {
    "type": "function",
    "function": {
        "name": "view",
        "description": "Show a file with line numbers.",
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path in the repository."},
                "start": {"type": "integer", "description": "First line to show."},
                "mode": {"type": "string", "enum": ["text", "skeleton"]},
            },
            "required": ["path", "mode"],
        },
    },
}


def test_instructions_list_each_tool_with_its_arguments():
    text = protocol_instructions([VIEW])
    assert "### view" in text
    assert "Show a file with line numbers." in text
    assert "- path (string, required): File path in the repository." in text
    assert "- start (integer, optional): First line to show." in text
    assert "One of: text, skeleton." in text


def test_the_example_call_in_the_instructions_parses_back():
    text = protocol_instructions([VIEW])
    example = text[text.index("### view") :]
    assert parse_actions(example) == [tool("view", path="...", mode="text")]


def test_instructions_without_tools_still_state_the_protocol():
    text = protocol_instructions(None)
    assert "```bash" in text and "```python" in text
    assert "## Tools" not in text
