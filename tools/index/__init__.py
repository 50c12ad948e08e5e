"""The code index: tree-sitter definitions and references of a workspace, and views of them.

Entry points for tools:

- `CodeIndex(sandbox)`: build (cached by content on disk), `update()` after changes, then
  `definitions(name)`, `references(name)`, `definitions_in(path)`, `files(directory)`.
- `outline`, `show`, `references_text` (render.py): compact text views for the model.
- `repo_map(index, budget, focus_files, focus_names)` (repomap.py): ranked overview that
  fits a token budget.
- `language_for`, `parse`, `syntax_errors` (languages.py) for the edit guardrail, and
  `find_definitions(path, source, qualname)` (extract.py) for span-based symbol edits.

Grammar modules are imported only when a file of their language is parsed.
"""

from __future__ import annotations

from .extract import SymbolSpan, find_definitions, module_name
from .index import CodeIndex, Definition, FileEntry, IndexStats
from .languages import SyntaxIssue, language_for, parse, syntax_errors
from .render import outline, show
from .render import references as references_text
from .repomap import rank_definitions, repo_map

__all__ = [
    "CodeIndex",
    "Definition",
    "FileEntry",
    "IndexStats",
    "SymbolSpan",
    "SyntaxIssue",
    "find_definitions",
    "language_for",
    "module_name",
    "outline",
    "parse",
    "rank_definitions",
    "references_text",
    "repo_map",
    "show",
    "syntax_errors",
]
