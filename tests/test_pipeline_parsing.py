"""Reading model replies in pipeline mode: SEARCH/REPLACE blocks, code blocks, and the files,
symbols and lines a localization answer names."""

from __future__ import annotations

from types import SimpleNamespace

from patchsmith.agent.pipeline.localize import (
    code_windows,
    mentioned_files,
    mentioned_locations,
    mentioned_symbols,
)
from patchsmith.agent.pipeline.search_replace import Edit, code_block, parse_edits

PLAIN = """\
shop/pricing.py
<<<<<<< SEARCH
    return price - price * percent
=======
    return price - price * percent / 100
>>>>>>> REPLACE
"""
FIXED = Edit(
    "shop/pricing.py",
    "    return price - price * percent\n",
    "    return price - price * percent / 100\n",
)


def test_a_plain_block_gives_the_path_and_both_texts_with_their_indentation():
    parsed = parse_edits(PLAIN)
    assert parsed.edits == [FIXED]
    assert parsed.problems == []


def test_blocks_inside_fences_with_explanations_around_them_are_read():
    reply = (
        "The percentage is used as a fraction. Here is the fix:\n\n"
        f"```python\n{PLAIN}```\n\nThis divides by 100."
    )
    assert parse_edits(reply).edits == [FIXED]


def test_the_path_may_be_on_the_fence_line_or_decorated():
    body = PLAIN.split("\n", 1)[1]
    for header in (
        "```python shop/pricing.py",
        "```shop/pricing.py",
        "### shop/pricing.py",
        "**shop/pricing.py**",
        "File: shop/pricing.py:",
        "`./shop/pricing.py`",
    ):
        reply = f"{header}\n{body}```\n" if header.startswith("```") else f"{header}\n{body}"
        assert parse_edits(reply).edits == [FIXED], header


def test_a_block_without_a_path_line_edits_the_previous_blocks_file():
    second = "<<<<<<< SEARCH\ndef total(prices):\n=======\ndef total(prices, start=0):\n"
    reply = PLAIN + "\nAnd the signature:\n\n" + second + ">>>>>>> REPLACE\n"
    edits = parse_edits(reply).edits
    assert [edit.path for edit in edits] == ["shop/pricing.py", "shop/pricing.py"]
    assert edits[1].replace == "def total(prices, start=0):\n"


def test_without_any_path_the_default_file_is_used_and_otherwise_the_block_is_a_problem():
    reply = PLAIN.split("\n", 1)[1]
    assert parse_edits(reply, default_path="shop/pricing.py").edits == [FIXED]
    parsed = parse_edits(reply)
    assert parsed.edits == []
    assert parsed.problems == ["edit block 1: no file path before <<<<<<< SEARCH"]


def test_a_reply_without_a_final_newline_and_with_crlf_endings_reads_the_same():
    assert parse_edits(PLAIN.rstrip("\n")).edits == [FIXED]
    assert parse_edits(PLAIN.replace("\n", "\r\n")).edits == [FIXED]


def test_markers_with_other_bracket_counts_and_case_are_accepted():
    reply = PLAIN.replace("<<<<<<< SEARCH", "<<<<<<<< search").replace(
        ">>>>>>> REPLACE", ">>>>>> Replace"
    )
    assert parse_edits(reply).edits == [FIXED]


def test_a_block_cut_off_is_reported_and_the_complete_ones_before_it_are_kept():
    reply = PLAIN + "\nshop/pricing.py\n<<<<<<< SEARCH\ndef total(prices):\n=======\ndef tot"
    parsed = parse_edits(reply)
    assert parsed.edits == [FIXED]
    assert parsed.problems == [
        "edit block 2: no >>>>>>> REPLACE line (the reply ended inside the block)"
    ]


def test_a_block_without_a_divider_is_reported():
    reply = "a.py\n<<<<<<< SEARCH\nx = 1\n>>>>>>> REPLACE\n"
    assert parse_edits(reply).problems == [
        "edit block 1: no ======= line between SEARCH and REPLACE"
    ]


def test_an_empty_search_means_a_new_file_and_fences_inside_a_block_are_dropped():
    reply = "docs/notes.md\n<<<<<<< SEARCH\n=======\n```\n# Notes\n```\n>>>>>>> REPLACE\n"
    assert parse_edits(reply).edits == [Edit("docs/notes.md", "", "# Notes\n")]


def test_code_block_takes_the_first_python_block_and_an_unclosed_one_runs_to_the_end():
    reply = "Sure:\n```bash\nls\n```\n```python\ndef test_x():\n    assert 1\n```\nmore"
    assert code_block(reply) == "def test_x():\n    assert 1\n"
    assert code_block("```py\nimport os\n") == "import os\n"
    assert code_block("no code here") is None


def definition(path: str, qualname: str, start: int, end: int, depth: int = 0):
    name = qualname.rsplit(".", 1)[-1]
    return SimpleNamespace(
        path=path, qualname=qualname, name=name, start_line=start, end_line=end, depth=depth
    )


KNOWN = ["shop/__init__.py", "shop/pricing.py", "shop/cart.py", "tests/test_pricing.py"]
DEFINITIONS = {
    "shop/pricing.py": [
        definition("shop/pricing.py", "shop.pricing.apply_discount", 1, 3),
        definition("shop/pricing.py", "shop.pricing.total", 6, 7),
    ],
    "shop/cart.py": [
        definition("shop/cart.py", "shop.cart.Cart", 1, 20),
        definition("shop/cart.py", "shop.cart.Cart.total", 8, 12, depth=1),
    ],
}


def test_files_are_read_from_any_mention_in_order_and_a_bare_name_means_its_one_file():
    reply = "1. `cart.py` (the cart)\n2. shop/pricing.py\n3. shop/missing.py\n4. cart.py again"
    assert mentioned_files(reply, KNOWN) == ["shop/cart.py", "shop/pricing.py"]


def test_symbols_named_in_any_usual_form_are_found_and_the_named_file_wins_a_clash():
    reply = (
        "shop/cart.py\nclass: Cart\nmethod: Cart.total\n\nshop/pricing.py\nfunction: apply_discount"
    )
    found = [s["qualname"] for s in mentioned_symbols(reply, DEFINITIONS)]
    assert found == ["shop.cart.Cart", "shop.cart.Cart.total", "shop.pricing.apply_discount"]
    # `total` alone, said of pricing.py, is pricing's total, not the cart's.
    found = mentioned_symbols("shop/pricing.py\nfunction: total", DEFINITIONS)
    assert [s["qualname"] for s in found] == ["shop.pricing.total"]


def test_locations_are_read_as_lines_ranges_path_colon_line_or_whole_functions():
    files = ["shop/pricing.py", "shop/cart.py"]
    symbols = [
        {"path": "shop/cart.py", "qualname": "shop.cart.Cart.total", "start": 8, "end": 12},
    ]
    reply = (
        "shop/pricing.py\nline: 3\n\nshop/cart.py\nlines 9-10\n"
        "Also shop/pricing.py:7 and\nfunction: apply_discount"
    )
    found = mentioned_locations(reply, files, symbols, DEFINITIONS)
    assert found == [
        {"path": "shop/pricing.py", "start": 3, "end": 3},
        {"path": "shop/cart.py", "start": 9, "end": 10},
        {"path": "shop/pricing.py", "start": 7, "end": 7},
        {"path": "shop/pricing.py", "start": 1, "end": 3},
    ]


def test_a_line_without_a_file_goes_to_the_chosen_symbol_containing_it():
    files = ["shop/pricing.py", "shop/cart.py"]
    symbols = [{"path": "shop/cart.py", "qualname": "shop.cart.Cart.total", "start": 8, "end": 12}]
    found = mentioned_locations("line: 10", files, symbols, DEFINITIONS)
    assert found == [{"path": "shop/cart.py", "start": 10, "end": 10}]


def test_code_windows_cover_the_enclosing_function_with_margins_and_merge_overlaps():
    source = "".join(f"line {n}\n" for n in range(1, 41)).encode()
    windows = code_windows(
        [
            {"path": "shop/cart.py", "start": 9, "end": 9},
            {"path": "shop/cart.py", "start": 14, "end": 14},
            {"path": "shop/cart.py", "start": 35, "end": 35},
        ],
        {"shop/cart.py": [definition("shop/cart.py", "shop.cart.Cart.total", 8, 12, 1)]},
        {"shop/cart.py": source},
    )
    assert [(w["start"], w["end"]) for w in windows] == [(3, 19), (30, 40)]
    assert windows[0]["code"].startswith("line 3\n") and windows[0]["code"].endswith("line 19\n")
