"""The text action protocol for models without native function calling, and its parser.

The model replies in prose with fenced code blocks. Each block whose label says what it is
becomes an action, in the order written:

- a `bash` block runs in the sandbox's shell (also read: sh, shell, zsh, console, terminal,
  shell-session); a leading `$ ` prompt marks commands and lines without it are taken for
  sample output and dropped;
- a `python` block runs as Python (also read: python3, py, py3, ipython); a `>>> ` REPL
  transcript keeps only its input lines;
- a `tool` block calls a tool. Its body is JSON `{"name": ..., "arguments": {...}}`. YAML of
  the same shape is accepted, as are `parameters`/`args`/`input` for `arguments`, arguments
  given inline beside `name`, a list of such calls, and a `json` block or a
  `<tool_call>...</tool_call>` tag holding exactly such a call (as some local models
  produce on their own).

Tolerated because local models do it: text after the opening fence (` ```bash  # list`), a
space before the label, any letter case, `~~~` fences, CRLF, indented fences in lists, a
one-line ` ```bash ls``` ` block, and a missing closing fence at the end of the reply.
Blocks with other labels (`c`, `cs`, `csharp`, `diff`, `text`, ...) are never run. A block
with no label runs as bash only when it is the only block in the reply: beside labelled
blocks it is usually quoted output. A reply with no action raises `FormatError`, whose
message tells the model the expected format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

BASH_LABELS = {"bash", "sh", "shell", "zsh", "console", "terminal", "shell-session", "shellsession"}
PYTHON_LABELS = {"python", "python3", "py", "py3", "ipython"}
TOOL_LABELS = {"tool", "tool_call", "tool-call", "toolcall"}
ARGUMENT_KEYS = ("arguments", "parameters", "args", "input")
NAME_KEYS = ("name", "tool", "tool_name", "function")
# Shell labels whose blocks are transcripts: any `$ ` line marks the commands.
TRANSCRIPT_LABELS = {"console", "terminal", "shell-session", "shellsession"}
# Keys a ```json block may have and still be read as a call rather than as data.
CALL_KEYS = {"id", "type", *NAME_KEYS, *ARGUMENT_KEYS}

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*)$")
_LABEL = re.compile(r"[{.]?([A-Za-z0-9_+#-]*)")
_TOOL_TAG = re.compile(r"<tool_call>(?P<body>.*?)(?:</tool_call>|\Z)", re.DOTALL)

FORMAT_HELP = """\
Every reply must contain at least one action, written as a fenced code block:

```bash
<shell command(s)>
```

```python
<python code>
```

```tool
{"name": "<tool name>", "arguments": {<the arguments as JSON>}}
```"""

PROTOCOL_RULES = """\
You may write several blocks in one reply: they run in the order written, and you see every \
output in the next message. Do not write the output yourself. Blocks with other labels, such \
as ```text, are not run: use them to quote things. If your code contains a line of three \
backticks, fence the block with ~~~ instead."""


class FormatError(Exception):
    """The reply could not be read as actions; `message` is what to tell the model."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Action:
    """One thing the model asked for: `code` for bash/python, `name`+`arguments` for a tool."""

    kind: Literal["bash", "python", "tool"]
    code: str = ""
    name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Block:
    start: int  # character offset in the normalized text, for ordering
    end: int
    label: str
    body: str


def parse_actions(text: str) -> list[Action]:
    """Every action in a reply, in order; `FormatError` when there is none or one is broken."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = _fenced_blocks(text)
    found: list[tuple[int, list[Action]]] = []
    tags = [m for m in _TOOL_TAG.finditer(text) if not _inside(m.start(), blocks)]
    for tag in tags:
        body = _strip_fence(tag["body"])
        found.append((tag.start(), _tool_calls(body, "<tool_call>", strict=False)))
    # Blocks inside a <tool_call> tag were read with it.
    blocks = [b for b in blocks if not any(t.start() <= b.start < t.end() for t in tags)]
    lone = len(blocks) == 1 and not tags
    for block in blocks:
        actions = _block_actions(block, lone)
        if actions:
            found.append((block.start, actions))
    actions = [action for _, group in sorted(found, key=lambda f: f[0]) for action in group]
    if not actions:
        raise FormatError(_no_action_message(blocks))
    return actions


def protocol_instructions(tools: list[dict] | None = None) -> str:
    """The protocol, and the tools in OpenAI function format, as text for the system prompt."""
    parts = [
        "## How to act",
        FORMAT_HELP,
        PROTOCOL_RULES,
    ]
    if tools:
        parts.append("## Tools")
        parts.extend(_render_tool(tool) for tool in tools)
    return "\n\n".join(parts)


def _fenced_blocks(text: str) -> list[_Block]:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    blocks = []
    i = 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, info = opened["fence"], opened["info"].strip()
        labelled = _LABEL.match(info)
        assert labelled is not None  # the pattern matches the empty string
        label, rest = labelled[1].lower(), info[labelled.end() :].strip()
        if rest.endswith(fence[0] * 3) and rest.strip(fence[0]).strip():
            # A whole block on one line: ```bash ls -la```
            code = rest.rstrip(fence[0]).strip()
            blocks.append(_Block(offsets[i], offsets[i + 1], label, code))
            i += 1
            continue
        body, j = [], i + 1
        while j < len(lines) and not _closes(lines[j], fence):
            body.append(_dedent(lines[j], len(opened["indent"])))
            j += 1
        blocks.append(_Block(offsets[i], offsets[min(j + 1, len(lines))], label, "\n".join(body)))
        i = j + 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)


def _dedent(line: str, indent: int) -> str:
    # Only the fence's own indentation goes, so code nested deeper keeps its structure.
    cut = 0
    while cut < indent and cut < len(line) and line[cut] in " \t":
        cut += 1
    return line[cut:]


def _inside(offset: int, blocks: list[_Block]) -> bool:
    return any(b.start <= offset < b.end for b in blocks)


def _strip_fence(body: str) -> str:
    inner = _fenced_blocks(body.strip())
    return inner[0].body if inner else body


def _block_actions(block: _Block, lone: bool) -> list[Action]:
    label = block.label
    if label in BASH_LABELS or (label == "" and lone):
        code = _shell_commands(block.body, any_line=label in TRANSCRIPT_LABELS)
        return [Action("bash", code=code.strip("\n"))] if code.strip() else []
    if label in PYTHON_LABELS:
        code = _python_input(block.body)
        return [Action("python", code=code.strip("\n"))] if code.strip() else []
    if label in TOOL_LABELS:
        return _tool_calls(block.body, f"```{label}", strict=False)
    if label == "json":
        try:
            return _tool_calls(block.body, "```json", strict=True)
        except FormatError:
            return []  # JSON data (a package.json, a fixture), not a call
    return []


def _shell_commands(body: str, any_line: bool) -> str:
    """Commands from a shell block, without `$ ` prompts and the sample output around them."""
    lines = body.split("\n")
    prompted = [line.lstrip().startswith("$ ") or line.strip() == "$" for line in lines]
    first = next((k for k, line in enumerate(lines) if line.strip()), None)
    if first is None or not (prompted[first] or (any_line and any(prompted))):
        return body
    kept: list[str] = []
    continued = False
    for line, is_prompt in zip(lines, prompted, strict=True):
        if is_prompt:
            kept.append(line.lstrip()[2:])
        elif continued:
            kept.append(line)  # the rest of a command split with a backslash
        else:
            continue
        continued = kept[-1].rstrip().endswith("\\")
    return "\n".join(kept)


def _python_input(body: str) -> str:
    """The code of a block, without the prompts and output of a `>>>` transcript."""
    lines = body.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if not first.startswith(">>>"):
        return body
    kept = []
    for line in lines:
        if line.startswith((">>> ", "... ")):
            kept.append(line[4:])
        elif line.rstrip() in (">>>", "..."):
            kept.append("")
    return "\n".join(kept)


def _tool_calls(body: str, where: str, strict: bool) -> list[Action]:
    """The calls in a block body. `strict` accepts only the exact call shape (for blocks
    whose label does not say they are calls)."""
    data = _load_structured(body, where)
    items = data if isinstance(data, list) else [data]
    if strict and not all(_is_call_shaped(item) for item in items):
        raise FormatError(f"Your {where} block is not a tool call.")
    return [_tool_call(item, where) for item in items]


def _is_call_shaped(item: Any) -> bool:
    if not isinstance(item, dict) or not set(item) <= CALL_KEYS:
        return False
    return isinstance(item.get("function"), dict) or any(k in item for k in ARGUMENT_KEYS)


def _load_structured(body: str, where: str) -> Any:
    if not body.strip():
        raise FormatError(f"Your {where} block is empty.\n\n{FORMAT_HELP}")
    try:
        # strict=False lets raw newlines inside strings through, as in code passed as an argument.
        return json.loads(body, strict=False)
    except json.JSONDecodeError as exc:
        json_error = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    try:
        # YAML also reads single quotes, unquoted keys and block mappings.
        return yaml.safe_load(body)
    except yaml.YAMLError:
        raise FormatError(
            f"Your {where} block is not valid JSON ({json_error}). Write it as "
            '{"name": "<tool name>", "arguments": {...}} with double-quoted strings.'
        ) from None


def _tool_call(item: Any, where: str) -> Action:
    if isinstance(item, dict) and isinstance(item.get("function"), dict):
        item = item["function"]  # the OpenAI tool-call shape, imitated in text
    name = next((item[k] for k in NAME_KEYS if isinstance(item, dict) and k in item), None)
    if not isinstance(name, str) or not name.strip():
        raise FormatError(
            f'Your {where} block needs a "name": write it as '
            '{"name": "<tool name>", "arguments": {...}}.'
        )
    key = next((k for k in ARGUMENT_KEYS if k in item), None)
    if key is None:
        arguments: Any = {k: v for k, v in item.items() if k not in NAME_KEYS}
    else:
        arguments = item[key]
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                pass
        if arguments is None:
            arguments = {}
    if not isinstance(arguments, dict):
        raise FormatError(
            f'The "arguments" of your {where} call to {name} must be a JSON object '
            '(e.g. {"path": "a.py"}).'
        )
    return Action("tool", name=name.strip(), arguments=arguments)


def _no_action_message(blocks: list[_Block]) -> str:
    unknown = sorted({b.label for b in blocks if b.label})
    notes = []
    if unknown:
        labels = ", ".join(f"```{label}" for label in unknown)
        notes.append(f"Your reply has {labels} blocks, which are not run.")
    if sum(1 for b in blocks if not b.label) > 1:
        notes.append("Blocks without a label are only run when there is exactly one.")
    found = " ".join(notes) or "Your reply has no action block."
    return f"I could not find an action to run. {found}\n\n{FORMAT_HELP}"


def _render_tool(tool: dict) -> str:
    spec = tool.get("function", tool)
    name = spec.get("name", "?")
    params = spec.get("parameters") or {}
    required = set(params.get("required") or [])
    lines = [f"### {name}", (spec.get("description") or "").strip()]
    properties = params.get("properties") or {}
    if properties:
        lines.append("Arguments:")
    for arg, schema in properties.items():
        kind = schema.get("type", "any")
        need = "required" if arg in required else "optional"
        about = (schema.get("description") or "").strip()
        if schema.get("enum"):
            about = f"{about} One of: {', '.join(map(str, schema['enum']))}.".strip()
        lines.append(f"- {arg} ({kind}, {need}){': ' + about if about else ''}")
    example = {arg: _placeholder(properties[arg]) for arg in properties if arg in required}
    lines.append(f"```tool\n{json.dumps({'name': name, 'arguments': example})}\n```")
    return "\n".join(line for line in lines if line)


def _placeholder(schema: dict) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    return {
        "integer": 1,
        "number": 1,
        "boolean": False,
        "array": [],
        "object": {},
    }.get(schema.get("type"), "...")
