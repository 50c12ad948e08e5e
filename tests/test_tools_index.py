"""symbols, show, references and repo_map on both backends, and the index following edits."""

from __future__ import annotations

from conftest import make_repo, require_backend
from tools_support import toolset_fixture, toolset_on

FILES = {
    "shop/__init__.py": "",
    "shop/cart.py": (
        "from shop.pricing import total\n\n\n"
        "class Cart:\n"
        '    """Items a customer is buying."""\n\n'
        "    def __init__(self):\n        self.items = []\n\n"
        "    def add(self, item):\n        self.items.append(item)\n\n"
        "    def price(self):\n        return total(self.items)\n"
    ),
    "shop/pricing.py": (
        "def total(items):\n    return sum(i.price for i in items)\n\n\n"
        "def discount(amount):\n    return total([amount]) * 0.9\n"
    ),
    "legacy/pricing.py": "def total(items):\n    return 0\n",
    "shop/money.py": (
        "class Money:\n"
        "    @property\n    def cents(self):\n        return self._cents\n\n"
        "    @cents.setter\n    def cents(self, value):\n        self._cents = value\n"
    ),
    "tests/test_cart.py": (
        "from shop.cart import Cart\n\n\ndef test_price():\n    assert Cart().price() == 0\n"
    ),
}

tools = toolset_fixture(FILES, index_disk_cache=False)


def test_symbols_outlines_a_file_as_a_skeleton(tools):
    seen = tools.call("symbols", {"path": "shop/cart.py"})
    assert not seen.is_error, seen.text
    assert "class Cart:" in seen.text
    assert "def price(self):" in seen.text
    assert "Items a customer is buying." in seen.text
    assert "self.items.append" not in seen.text  # bodies are left out
    assert "shop.cart.Cart.add" in {d["qualname"] for d in seen.data["definitions"]}


def test_symbols_outlines_a_directory(tools):
    seen = tools.call("symbols", {"path": "shop"})
    assert "shop/cart.py" in seen.text
    assert "shop/pricing.py" in seen.text
    assert "def discount(amount):" in seen.text
    assert "legacy" not in seen.text


def test_symbols_on_a_file_the_index_cannot_read_says_to_use_view(tools):
    tools.call("bash", {"command": "echo hello > notes.txt"})
    seen = tools.call("symbols", {"path": "notes.txt"})
    assert seen.is_error
    assert "use view" in seen.text


def test_show_a_method_by_qualified_name_with_line_numbers(tools):
    seen = tools.call("show", {"symbol": "Cart.price"})
    assert not seen.is_error, seen.text
    assert "shop.cart.Cart.price" in seen.text
    assert "return total(self.items)" in seen.text
    assert "14" in seen.text  # the line number of the body


def test_show_a_name_defined_in_several_modules_shows_each_with_its_module(tools):
    seen = tools.call("show", {"symbol": "total"})
    assert "defined in 2 places" in seen.text
    assert "shop.pricing.total" in seen.text
    assert "legacy.pricing.total" in seen.text
    assert "return 0" in seen.text
    narrowed = tools.call("show", {"symbol": "total", "path": "legacy"})
    assert "legacy.pricing.total" in narrowed.text
    assert "shop.pricing" not in narrowed.text
    exact = tools.call("show", {"symbol": "shop.pricing.total"})
    assert "legacy" not in exact.text


def test_show_a_property_shows_getter_and_setter_once_each(tools):
    seen = tools.call("show", {"symbol": "Money.cents"})
    assert not seen.is_error, seen.text
    assert seen.text.count("return self._cents") == 1
    assert seen.text.count("self._cents = value") == 1


def test_show_unknown_name_suggests_similar_ones(tools):
    seen = tools.call("show", {"symbol": "Discount"})
    assert seen.is_error
    assert "discount" in seen.text


def test_references_groups_uses_by_file_after_the_definitions(tools):
    seen = tools.call("references", {"symbol": "total"})
    assert not seen.is_error
    text = seen.text
    assert text.startswith("Defined at:")
    assert "legacy/pricing.py:1" in text
    assert "shop/pricing.py:1" in text
    assert "shop/cart.py" in text
    assert "return total(self.items)" in text
    assert "return total([amount]) * 0.9" in text
    assert set(seen.data["references"]) >= {"shop/cart.py", "shop/pricing.py"}


def test_repo_map_fits_the_budget_and_leans_to_the_focus(tools):
    from patchsmith.tools.tokens import count_tokens

    seen = tools.call("repo_map", {"budget": 200})
    assert not seen.is_error, seen.text
    assert count_tokens(seen.text) <= 200
    assert "shop/pricing.py" in seen.text
    focused = tools.call("repo_map", {"budget": 120, "focus_names": ["Cart"]})
    assert "class Cart" in focused.text
    assert tools.call("repo_map", {"budget": 64, "focus_files": ["../x"]}).is_error


def test_index_follows_edits_and_commands(tmp_path):
    require_backend("local")
    repo = make_repo(tmp_path / "repo", FILES)
    with toolset_on(repo, "local", index_disk_cache=False) as tools:
        assert tools.call("show", {"symbol": "checkout"}).is_error
        tools.call(
            "edit",
            {
                "command": "insert",
                "path": "shop/cart.py",
                "insert_line": 14,
                "new_str": "\n    def checkout(self):\n        return self.price()\n",
            },
        )
        seen = tools.call("show", {"symbol": "checkout"})
        assert "shop.cart.Cart.checkout" in seen.text
        tools.call("bash", {"command": "printf 'def checkout():\\n    pass\\n' > shop/extra.py"})
        seen = tools.call("show", {"symbol": "checkout"})
        assert "shop.extra.checkout" in seen.text
        tools.call("edit", {"command": "undo", "path": "shop/cart.py"})
        seen = tools.call("show", {"symbol": "checkout"})
        assert "shop.cart.Cart.checkout" not in seen.text
