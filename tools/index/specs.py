"""Per-language tree-sitter queries naming what counts as a definition and as a reference.

Each definition query captures whole definition nodes; the capture name is the kind
("class", "function", "method", "interface", "struct", "enum", "trait", "type", "module",
"impl", "macro"). A function found inside a class-like definition is reported as a method
whatever its capture says. References are all leaf nodes of `reference_types` except
definition names and what `not_references` captures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageSpec:
    definitions: str
    reference_types: tuple[str, ...]
    ignored_names: frozenset[str] = frozenset()
    # Patterns capturing "@skip" regions whose names are not references to definitions
    # (module paths in imports, package clauses).
    not_references: str = ""
    # Python puts the docstring inside the body; the others document with a comment before.
    docstring_in_body: bool = False


CLASS_LIKE = frozenset({"class", "interface", "struct", "enum", "trait", "impl"})
FUNCTION_LIKE = frozenset({"function", "method"})

_PYTHON = """
(class_definition) @class
(function_definition) @function
"""

_JAVASCRIPT = """
(class_declaration) @class
(function_declaration) @function
(generator_function_declaration) @function
(method_definition) @method
(variable_declarator
  name: (identifier)
  value: [(arrow_function) (function_expression) (generator_function)]) @function
(field_definition
  property: (property_identifier)
  value: [(arrow_function) (function_expression)]) @method
"""

_TYPESCRIPT = """
(class_declaration) @class
(abstract_class_declaration) @class
(function_declaration) @function
(generator_function_declaration) @function
(function_signature) @function
(method_definition) @method
(method_signature) @method
(abstract_method_signature) @method
(interface_declaration) @interface
(type_alias_declaration) @type
(enum_declaration) @enum
(internal_module) @module
(variable_declarator
  name: (identifier)
  value: [(arrow_function) (function_expression) (generator_function)]) @function
(public_field_definition
  name: (property_identifier)
  value: [(arrow_function) (function_expression)]) @method
"""

_GO = """
(function_declaration) @function
(method_declaration) @method
(type_spec type: (struct_type)) @struct
(type_spec type: (interface_type)) @interface
(type_spec type: [(type_identifier) (qualified_type) (generic_type) (pointer_type)
                  (slice_type) (map_type) (array_type) (function_type) (channel_type)]) @type
(type_alias) @type
(method_elem) @method
"""

_RUST = """
(function_item) @function
(function_signature_item) @function
(struct_item) @struct
(union_item) @struct
(enum_item) @enum
(trait_item) @trait
(impl_item) @impl
(mod_item body: (declaration_list)) @module
(type_item) @type
(macro_definition) @macro
"""

_JAVA = """
(class_declaration) @class
(record_declaration) @class
(interface_declaration) @interface
(annotation_type_declaration) @interface
(enum_declaration) @enum
(method_declaration) @method
(constructor_declaration) @method
(compact_constructor_declaration) @method
"""

_JS_REFS = ("identifier", "property_identifier", "shorthand_property_identifier")

SPECS: dict[str, LanguageSpec] = {
    "python": LanguageSpec(
        _PYTHON,
        ("identifier",),
        frozenset({"self", "cls"}),
        not_references="""
            (import_statement name: (dotted_name) @skip)
            (aliased_import name: (dotted_name) @skip)
            (import_from_statement module_name: (_) @skip)
            (future_import_statement) @skip
        """,
        docstring_in_body=True,
    ),
    "javascript": LanguageSpec(_JAVASCRIPT, _JS_REFS),
    "typescript": LanguageSpec(_TYPESCRIPT, (*_JS_REFS, "type_identifier")),
    "tsx": LanguageSpec(_TYPESCRIPT, (*_JS_REFS, "type_identifier")),
    "go": LanguageSpec(
        _GO,
        ("identifier", "field_identifier", "type_identifier", "package_identifier"),
        not_references="(package_clause) @skip",
    ),
    "rust": LanguageSpec(
        _RUST, ("identifier", "field_identifier", "type_identifier"), frozenset({"self"})
    ),
    "java": LanguageSpec(
        _JAVA, ("identifier", "type_identifier"), not_references="(package_declaration) @skip"
    ),
}
