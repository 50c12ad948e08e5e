"""Checking tool-call arguments against a tool's JSON schema, and a one-line usage string.

Only the part of JSON schema the tools use is supported: object properties with `type`,
`enum`, `items`, `minimum`, `required` and `default`. A few unambiguous slips that weaker
models make are forgiven rather than costing a turn: "12" for an integer, "true" for a
boolean, and one string where a list of strings is expected.
"""

from __future__ import annotations

from typing import Any

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def check_arguments(
    schema: dict[str, Any], arguments: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """The arguments with defaults filled in and slips coerced, and the problems found."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return {}, [f"arguments must be an object of named values, got {_kind(arguments)}"]
    properties = schema.get("properties", {})
    problems = []
    checked: dict[str, Any] = {}
    for name, value in arguments.items():
        if name not in properties:
            known = ", ".join(properties) or "none"
            problems.append(f"unknown argument {name!r} (known: {known})")
            continue
        if value is None and name not in schema.get("required", ()):
            continue  # an explicit null for an optional argument means "not given"
        value, problem = _check_value(name, properties[name], value)
        if problem:
            problems.append(problem)
        else:
            checked[name] = value
    for name in schema.get("required", ()):
        if name not in arguments or arguments[name] is None:
            problems.append(f"missing required argument {name!r}")
    for name, spec in properties.items():
        if name not in checked and "default" in spec:
            checked[name] = spec["default"]
    return checked, problems


def usage(name: str, schema: dict[str, Any]) -> str:
    """E.g. `view(path: string, start?: integer, end?: integer)`."""
    required = set(schema.get("required", ()))
    parts = []
    for arg, spec in schema.get("properties", {}).items():
        kind = spec.get("type", "any")
        if "enum" in spec:
            kind = "|".join(map(str, spec["enum"]))
        elif kind == "array":
            kind = f"list[{spec.get('items', {}).get('type', 'any')}]"
        parts.append(f"{arg}{'' if arg in required else '?'}: {kind}")
    return f"{name}({', '.join(parts)})"


def _check_value(name: str, spec: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    expected = spec.get("type")
    value = _coerce(expected, spec, value)
    if expected and not _is_type(expected, value):
        return value, f"argument {name!r} must be {_TYPE_NAMES[expected]}, got {_kind(value)}"
    if "enum" in spec and value not in spec["enum"]:
        options = ", ".join(repr(v) for v in spec["enum"])
        return value, f"argument {name!r} must be one of {options}, got {value!r}"
    if "minimum" in spec and value < spec["minimum"]:
        return value, f"argument {name!r} must be at least {spec['minimum']}, got {value!r}"
    if expected == "array" and "items" in spec:
        items = []
        for index, item in enumerate(value):
            item, problem = _check_value(f"{name}[{index}]", spec["items"], item)
            if problem:
                return value, problem
            items.append(item)
        value = items
    return value, None


def _coerce(expected: str | None, spec: dict[str, Any], value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if expected == "integer" and text.lstrip("-").isdigit():
            return int(text)
        if expected == "number":
            try:
                return float(text)
            except ValueError:
                return value
        if expected == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if expected == "array" and spec.get("items", {}).get("type") == "string":
            return [value]
    if expected == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _is_type(expected: str, value: Any) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(
        value, {"string": str, "boolean": bool, "array": list, "object": dict}[expected]
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
