"""Turning one file's source into definitions and references, and finding a symbol's span.

`extract(path, source)` gives what the index stores per file: definitions with qualified
names local to the file's module ("Outer.Inner.method"), kinds, lines, signatures and the
first docstring line, plus every referenced name with the lines it appears on. It never
raises: binary, oversized, minified or unparsable files come back with an `error` note.

`find_definitions(path, source, qualname)` is for edit tools ("replace_symbol"): the exact
byte and line span of each definition matching `qualname`, which may be the full name
("pkg.mod.Class.method"), the name within the module ("Class.method"), any dotted tail of
it, or a bare name (all matches are returned; the caller decides what to do with several).
The span covers decorators, attributes and annotations and an `export` keyword wrapping the
definition, but not comments before it.
"""

from __future__ import annotations

import posixpath
import threading
from typing import NamedTuple

from tree_sitter import Node, Query, QueryCursor

from .languages import grammar, language_for, parser_for
from .specs import CLASS_LIKE, SPECS, LanguageSpec

# Bump whenever what `extract` produces changes: cached results of older versions are ignored.
EXTRACTOR_VERSION = 2

MAX_FILE_BYTES = 1_000_000
MAX_SIGNATURE_LINES = 12
MAX_SIGNATURE_CHARS = 600
MAX_DOC_CHARS = 160


class LocalDefinition(NamedTuple):
    """A definition as found in one file, independent of where that file lives."""

    name: str
    local_name: str  # qualified within the module, e.g. "Outer.Inner.method"
    kind: str
    start_line: int  # 1-based, first line of the span (decorators included)
    end_line: int
    line: int  # where the signature starts
    signature: str  # continuation lines dedented to the signature's own column
    doc: str  # first line of the docstring or doc comment, "" if none
    decorators: tuple[str, ...]
    depth: int  # how many definitions enclose it in the source


class Extracted(NamedTuple):
    language: str | None
    error: str | None  # why nothing was extracted, None when the file was read
    definitions: list[LocalDefinition]
    references: dict[str, tuple[int, ...]]  # name -> 1-based lines, sorted, unique


class SymbolSpan(NamedTuple):
    qualname: str  # full name, module part included
    kind: str
    start_byte: int
    end_byte: int
    start_line: int  # 1-based, inclusive, decorators included
    end_line: int
    line: int  # where the definition itself starts, below its decorators


def module_name(path: str) -> str:
    """The dotted module name of a file path: "a/b/c.py" -> "a.b.c", "a/__init__.py" -> "a"."""
    stem, _ = posixpath.splitext(path.strip("/"))
    parts = [part for part in stem.split("/") if part not in ("", ".")]
    if len(parts) > 1 and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def extract(path: str, source: bytes) -> Extracted:
    """Definitions and references of one file; failures become an `error` note, never raise."""
    language = language_for(path)
    if language is None:
        return Extracted(None, None, [], {})
    problem = _unindexable(source)
    if problem:
        return Extracted(language, problem, [], {})
    try:
        tree = parser_for(language).parse(source)
        spec = SPECS[language]
        # One query for definitions and references: a single pass over the tree.
        captures = QueryCursor(_query(language, spec, with_references=True)).captures(
            tree.root_node
        )
        found = _definitions(captures, source, language, spec)
        skip = {item.name_start for item in found}
        for region in captures.get("skip", ()):
            skip.update(_leaf_starts(region))
        references = _references(captures.get("ref", ()), source, spec, skip)
        return Extracted(language, None, [item.definition for item in found], references)
    except Exception as exc:  # one bad file must not break the index
        return Extracted(language, f"could not parse: {type(exc).__name__}: {exc}", [], {})


def find_definitions(path: str, source: bytes, qualname: str) -> list[SymbolSpan]:
    """Spans of the definitions in `source` matching `qualname` (see the module docstring).

    Returns [] when nothing matches or the language is unsupported.
    """
    language = language_for(path)
    if language is None:
        return []
    tree = parser_for(language).parse(source)
    spec = SPECS[language]
    captures = QueryCursor(_query(language, spec, with_references=False)).captures(tree.root_node)
    module = module_name(path)
    spans = []
    for item in _definitions(captures, source, language, spec):
        local = item.definition.local_name
        full = f"{module}.{local}" if module else local
        if full == qualname or full.endswith("." + qualname):
            d = item.definition
            spans.append(
                SymbolSpan(
                    full, d.kind, item.start_byte, item.end_byte, d.start_line, d.end_line, d.line
                )
            )
    return spans


def _unindexable(source: bytes) -> str | None:
    if len(source) > MAX_FILE_BYTES:
        return f"skipped: larger than {MAX_FILE_BYTES // 1_000_000} MB"
    if b"\0" in source[:8192]:
        return "skipped: binary"
    # Minified bundles: a screenful of one-letter definitions on a handful of lines.
    if len(source) > 20_000 and source.count(b"\n") * 1000 < len(source):
        return "skipped: minified (very long lines)"
    return None


_queries: dict[tuple[str, bool], Query] = {}
_queries_lock = threading.Lock()


def _query(language: str, spec: LanguageSpec, with_references: bool) -> Query:
    key = (language, with_references)
    query = _queries.get(key)
    if query is None:
        text = spec.definitions
        if with_references:
            text += "[" + " ".join(f"({kind})" for kind in spec.reference_types) + "] @ref"
            text += spec.not_references
        with _queries_lock:
            query = _queries.get(key)
            if query is None:
                query = _queries[key] = Query(grammar(language), text)
    return query


class _Found(NamedTuple):
    definition: LocalDefinition
    start_byte: int
    end_byte: int
    name_start: int  # byte offset of the name node, so references can skip it


def _definitions(
    captures: dict[str, list[Node]], source: bytes, language: str, spec: LanguageSpec
) -> list[_Found]:
    nodes = []
    seen = set()
    for kind, found in captures.items():
        if kind in ("ref", "skip"):
            continue
        for node in found:
            if node.id not in seen:  # a node matched by two patterns counts once
                seen.add(node.id)
                nodes.append((node.start_byte, -node.end_byte, kind, node))
    nodes.sort(key=lambda entry: (entry[0], entry[1]))

    results: list[_Found] = []
    # Enclosing definitions as (end_byte, local_name, kind); sorted input makes this a stack.
    stack: list[tuple[int, str, str]] = []
    for start, _, kind, node in nodes:
        while stack and stack[-1][0] <= start:
            stack.pop()
        name_node, name = _name(node, source)
        if not name:
            continue
        parent_kind = stack[-1][2] if stack else ""
        if kind == "function" and parent_kind in CLASS_LIKE:
            kind = "method"
        prefix = [entry[1] for entry in stack]
        if language == "go" and node.type == "method_declaration":
            receiver = _go_receiver(node, source)
            prefix = [receiver] if receiver else []
        local_name = ".".join([*prefix, name])
        outer = _outer(node)
        first = _with_leading_decorations(outer)
        definition = _describe(
            node, outer, first, source, spec, language, name, local_name, kind, len(stack)
        )
        name_start = name_node.start_byte if name_node is not None else -1
        results.append(_Found(definition, first.start_byte, outer.end_byte, name_start))
        stack.append((outer.end_byte, name, kind))
    return results


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _name(node: Node, source: bytes) -> tuple[Node | None, str]:
    if node.type == "impl_item":
        target = node.child_by_field_name("type")
        while target is not None and target.type in ("generic_type", "scoped_type_identifier"):
            inner = target.child_by_field_name("type" if target.type == "generic_type" else "name")
            if inner is None:
                break
            target = inner
        return None, _text(source, target) if target is not None else ""
    name_node = node.child_by_field_name("name") or node.child_by_field_name("property")
    if name_node is None:
        return None, ""
    return name_node, _text(source, name_node)


def _go_receiver(node: Node, source: bytes) -> str:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    for parameter in receiver.named_children:
        target = parameter.child_by_field_name("type")
        if target is not None:
            # "*Server[T]" -> "Server"
            return _text(source, target).lstrip("*").split("[")[0].strip()
    return ""


_SINGLE_DECLARATION_PARENTS = ("lexical_declaration", "variable_declaration")
_WRAPPERS = ("decorated_definition", "export_statement")


def _outer(node: Node) -> Node:
    """The node a definition's span covers: its declaration statement and wrappers."""
    current = node
    parent = current.parent
    if (
        node.type == "variable_declarator"
        and parent is not None
        and parent.type in _SINGLE_DECLARATION_PARENTS
        and parent.named_child_count == 1
    ):
        current, parent = parent, parent.parent
    if node.type == "type_spec" and parent is not None and parent.named_child_count == 1:
        current, parent = parent, parent.parent  # Go: "type X struct" with its doc comment
    while parent is not None and parent.type in _WRAPPERS:
        current, parent = parent, parent.parent
    return current


def _with_leading_decorations(node: Node) -> Node:
    # TypeScript member decorators and Rust attributes are siblings placed before the item.
    first = node
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in ("decorator", "attribute_item"):
        first, sibling = sibling, sibling.prev_named_sibling
    return first


def _describe(
    node: Node,
    outer: Node,
    first: Node,
    source: bytes,
    spec: LanguageSpec,
    language: str,
    name: str,
    local_name: str,
    kind: str,
    depth: int,
) -> LocalDefinition:
    head = node
    if node.type in ("variable_declarator", "type_spec") and outer is not node:
        head = node.parent  # "const f = (...) =>" rather than "f = (...) =>"
    own_decorators = [c for c in node.children if c.type == "decorator"]
    if own_decorators:
        # JavaScript keeps class decorators inside the class node: start after them.
        head = next(c for c in node.children if c.start_byte >= own_decorators[-1].end_byte)
    sig_start = head.start_byte
    sig_end = _signature_end(node, source, language)
    line = head.start_point[0] + 1
    column = head.start_point[1]
    decorators = [_first_line(_text(source, d)) for d in _decorator_nodes(node, outer, first)]
    lines = source[sig_start:sig_end].decode("utf-8", "replace").rstrip().splitlines() or [""]
    # Java keeps annotations inside the declaration: lift them out of the signature.
    while len(lines) > 1 and lines[0].lstrip().startswith("@"):
        decorators.append(lines.pop(0).strip())
        line += 1
    if node.type == "type_spec" and head is node:
        lines[0] = "type " + lines[0]  # one of a "type (...)" group
    signature = _tidy_signature(lines, column)
    in_body = spec.docstring_in_body
    doc = _python_docstring(node, source) if in_body else _doc_comment(first, source)
    end_row, end_column = outer.end_point
    end_line = end_row + 1 if end_column > 0 or end_row == outer.start_point[0] else end_row
    return LocalDefinition(
        name=name,
        local_name=local_name,
        kind=kind,
        start_line=first.start_point[0] + 1,
        end_line=end_line,
        line=line,
        signature=signature,
        doc=doc,
        decorators=tuple(decorators),
        depth=depth,
    )


def _signature_end(node: Node, source: bytes, language: str) -> int:
    body = node.child_by_field_name("body")
    if body is None:
        value = node.child_by_field_name("value")
        if value is not None:
            body = value.child_by_field_name("body")
    if language == "python" and body is not None:
        colon = None
        for child in node.children:
            if child.start_byte >= body.start_byte:
                break
            if child.type == ":":
                colon = child
        return colon.end_byte if colon is not None else body.start_byte
    if body is not None:
        return body.start_byte
    end = node.end_byte
    if node.type == "type_spec":  # Go: "Server struct {...}" ends its header at the brace
        brace = source.find(b"{", node.start_byte, end)
        end = brace if brace != -1 else end
    # No body otherwise (a signature, an abstract method, a type alias): all of it.
    return end - 1 if source[end - 1 : end] == b";" else end


def _tidy_signature(lines: list[str], column: int) -> str:
    lines[0] = lines[0].strip()
    cut = len(lines) > MAX_SIGNATURE_LINES
    lines = lines[:MAX_SIGNATURE_LINES]
    for i in range(1, len(lines)):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        lines[i] = line[min(indent, column) :].rstrip()
    text = "\n".join(lines)
    if len(text) > MAX_SIGNATURE_CHARS:
        text, cut = text[:MAX_SIGNATURE_CHARS], True
    return text + " ..." if cut else text


def _decorator_nodes(node: Node, outer: Node, first: Node) -> list[Node]:
    found = []
    sibling = first
    while sibling is not None and sibling.start_byte < outer.start_byte:
        found.append(sibling)
        sibling = sibling.next_named_sibling
    parent = node.parent
    if parent is not None and parent.type == "decorated_definition":
        found.extend(c for c in parent.named_children if c.type == "decorator")
    found.extend(c for c in node.named_children if c.type == "decorator")
    return found


def _first_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= MAX_DOC_CHARS else first[: MAX_DOC_CHARS - 3] + "..."


def _python_docstring(node: Node, source: bytes) -> str:
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return ""
    first = body.named_children[0]
    if first.type != "expression_statement" or first.named_child_count != 1:
        return ""
    string = first.named_children[0]
    if string.type != "string":
        return ""
    text = _text(source, string)
    text = text.lstrip("rRbBuUfF")
    for quote in ('"""', "'''", '"', "'"):
        if text.startswith(quote):
            text = text[len(quote) :]
            text = text.removesuffix(quote)
            break
    return _first_meaningful_line(text)


def _doc_comment(node: Node, source: bytes) -> str:
    comment = node.prev_named_sibling
    if comment is None or "comment" not in comment.type:
        return ""
    if comment.end_point[0] < node.start_point[0] - 1:
        return ""  # separated by a blank line: not about this definition
    # A block of line comments documents as a whole: start from its first line.
    while True:
        earlier = comment.prev_named_sibling
        if (
            earlier is None
            or "comment" not in earlier.type
            or earlier.end_point[0] != comment.start_point[0] - 1
        ):
            break
        comment = earlier
    lines = []
    for raw in _text(source, comment).splitlines():
        line = raw.strip()
        for marker in ("/**", "/*", "//!", "///", "//", "*/", "*"):
            if line.startswith(marker):
                line = line[len(marker) :]
                break
        lines.append(line.removesuffix("*/"))
    return _first_meaningful_line("\n".join(lines))


def _first_meaningful_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return _first_line(line)
    return ""


def _leaf_starts(node: Node) -> list[int]:
    starts = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.child_count:
            stack.extend(current.children)
        else:
            starts.append(current.start_byte)
    return starts


def _references(
    nodes: list[Node], source: bytes, spec: LanguageSpec, skip: set[int]
) -> dict[str, tuple[int, ...]]:
    by_name: dict[bytes, list[int]] = {}
    for node in nodes:
        start = node.start_byte
        if start in skip:
            continue
        line = node.start_point[0] + 1
        lines = by_name.get(name := source[start : node.end_byte])
        if lines is None:
            by_name[name] = [line]
        elif lines[-1] != line:
            lines.append(line)
    references = {}
    for raw, lines in by_name.items():
        name = raw.decode("utf-8", "replace")
        if name not in spec.ignored_names:
            references[name] = tuple(sorted(set(lines)))
    return references
