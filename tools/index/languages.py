"""Which tree-sitter grammar reads which file, loaded lazily, and syntax checking with it.

Used by the code index and by the edit guardrail:

- `language_for(path)`: the language name for a path ("python", "javascript", "typescript",
  "tsx", "go", "rust", "java"), or None when no grammar covers it.
- `parse(path, source)`: a tree-sitter Tree, or None for an unsupported language.
- `syntax_errors(path, source)`: None for an unsupported language, [] when the source parses
  cleanly, otherwise `SyntaxIssue`s (1-based line and column) found from ERROR and MISSING
  nodes.

A grammar module is imported only when a file of its language is first parsed.
"""

from __future__ import annotations

import importlib
import posixpath
import threading
from dataclasses import dataclass

from tree_sitter import Language, Node, Parser, Tree

# language name -> (grammar module, function in it returning the language pointer)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
}

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",  # the JavaScript grammar includes JSX
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
}

MAX_ISSUES = 20

_languages: dict[str, Language] = {}
_languages_lock = threading.Lock()
# Parsers keep state between calls, so each thread gets its own.
_parsers = threading.local()


@dataclass(frozen=True)
class SyntaxIssue:
    line: int  # 1-based
    column: int  # 1-based, in characters
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


def language_for(path: str) -> str | None:
    """The grammar name for `path` by its extension, or None when none covers it."""
    return EXTENSIONS.get(posixpath.splitext(path)[1].lower())


def grammar(name: str) -> Language:
    """The tree-sitter Language called `name`, importing its grammar module on first use."""
    found = _languages.get(name)
    if found is None:
        module_name, function = GRAMMARS[name]
        with _languages_lock:
            found = _languages.get(name)
            if found is None:
                module = importlib.import_module(module_name)
                found = _languages[name] = Language(getattr(module, function)())
    return found


def parser_for(name: str) -> Parser:
    """This thread's parser for language `name`."""
    cache = getattr(_parsers, "by_language", None)
    if cache is None:
        cache = _parsers.by_language = {}
    parser = cache.get(name)
    if parser is None:
        parser = cache[name] = Parser(grammar(name))
    return parser


def parse(path: str, source: bytes) -> Tree | None:
    """The syntax tree of `source`, read as the language of `path`; None when unsupported."""
    name = language_for(path)
    if name is None:
        return None
    return parser_for(name).parse(source)


def syntax_errors(path: str, source: bytes) -> list[SyntaxIssue] | None:
    """Where `source` fails to parse: None when the language is unsupported, [] when clean."""
    tree = parse(path, source)
    if tree is None:
        return None
    if not tree.root_node.has_error:
        return []
    issues: list[SyntaxIssue] = []
    _collect_issues(tree.root_node, source, issues)
    return issues


def _collect_issues(node: Node, source: bytes, issues: list[SyntaxIssue]) -> None:
    # Only subtrees flagged has_error can hold problems, so the walk stays small.
    stack = [node]
    while stack and len(issues) < MAX_ISSUES:
        current = stack.pop()
        if current.is_missing:
            issues.append(_issue(current, source, f'missing "{current.type}"'))
        elif current.is_error:
            issues.append(_issue(current, source, f'unexpected "{_snippet(current, source)}"'))
        elif current.has_error:
            stack.extend(reversed(current.children))
    issues.sort(key=lambda issue: (issue.line, issue.column))


def _issue(node: Node, source: bytes, message: str) -> SyntaxIssue:
    row, byte_column = node.start_point
    line_start = node.start_byte - byte_column
    column = len(source[line_start : node.start_byte].decode("utf-8", "replace")) + 1
    return SyntaxIssue(line=row + 1, column=column, message=message)


def _snippet(node: Node, source: bytes, limit: int = 40) -> str:
    text = source[node.start_byte : node.end_byte].decode("utf-8", "replace").strip()
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."
