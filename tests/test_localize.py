"""`agent localize`: ranking a repository's files and definitions for an issue, with no model."""

from __future__ import annotations

import json
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest
import typer
from conftest import make_repo
from typer.testing import CliRunner

from patchsmith.cli.localize_cmd import localize
from patchsmith.tools.index import CodeIndex
from patchsmith.tools.index.git_source import GitSourceError, GitTreeSource
from patchsmith.tools.localize import Weights, load_corpus, localize_repo, rank
from patchsmith.tools.localize.clues import read_issue, without_environment_dumps
from patchsmith.tools.localize.corpus import build_corpus
from patchsmith.tools.localize.units import declared_options, split_units


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


PROJECT = {
    "shop/__init__.py": "",
    "shop/cart.py": src(
        '''
        """The shopping cart."""
        from .pricing import apply_discount


        class Cart:
            def __init__(self):
                self.items = []

            def add(self, item, quantity=1):
                self.items.append((item, quantity))

            def total(self):
                return apply_discount(sum(i.price * q for i, q in self.items))
        '''
    ),
    "shop/pricing.py": src(
        '''
        """Prices, discounts and rounding."""


        def apply_discount(amount, rate=0.1):
            """Take the discount off an amount."""
            return round(amount * (1 - rate), 2)


        def parse_price(text):
            """"12.50 EUR" -> 12.5"""
            value, _currency = text.split()
            return float(value)
        '''
    ),
    "shop/shipping.py": src(
        '''
        """Shipping costs by weight and destination."""


        def shipping_cost(weight, country):
            if country == "home":
                return 5.0
            return 5.0 + weight * 0.8
        '''
    ),
    "shop/receipts.py": src(
        '''
        """Receipts printed for a finished order."""


        class ReceiptPrinter:
            def render(self, cart):
                lines = [f"{item.name} x{q}" for item, q in cart.items]
                return "\\n".join(lines)
        '''
    ),
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "shop", PROJECT)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("PATCHSMITH_CACHE_DIR", str(cache))
    return cache


def run_cli(*args: str):
    app = typer.Typer()
    app.command("localize")(localize)
    app.command("unused")(lambda: None)  # two commands, so "localize" is a subcommand as in `agent`
    return CliRunner().invoke(app, ["localize", *args])


def top_paths(repo: Path, issue: str) -> list[str]:
    return [item.path for item in localize_repo(repo, issue).files]


def test_a_traceback_ranks_the_file_it_failed_in_first(shop: Path):
    # The words point at the cart; the traceback ends in pricing.py (without source lines,
    # as when the code is compiled), which is where the crash is.
    issue = src(
        """
        Checkout of my cart crashes

        Traceback (most recent call last):
          File "/home/me/app/main.py", line 3, in <module>
            checkout(cart)
          File "/home/me/.venv/lib/python3.11/site-packages/shop/cart.py", line 14, in total
          File "/home/me/.venv/lib/python3.11/site-packages/shop/pricing.py", line 6, in f
        TypeError: unsupported operand type(s) for *: 'NoneType' and 'float'
        """
    )
    ranking = localize_repo(shop, issue)
    assert [f.path for f in ranking.files[:2]] == ["shop/pricing.py", "shop/cart.py"]
    assert ranking.symbols[0].name == "apply_discount"
    assert ranking.symbols[0].line == 4


def test_an_identifier_in_the_issue_ranks_its_definition_high(shop: Path):
    ranking = localize_repo(shop, "`ReceiptPrinter.render` drops the quantity of the last line")
    assert ranking.files[0].path == "shop/receipts.py"
    assert ("shop/receipts.py", "ReceiptPrinter.render") in [
        (s.path, s.name) for s in ranking.symbols[:2]
    ]


def test_plain_words_find_the_code_they_describe(shop: Path):
    assert top_paths(shop, "Shipping cost to another country ignores the weight")[0] == (
        "shop/shipping.py"
    )


def test_tests_and_docs_come_after_the_code_they_are_about(tmp_path: Path):
    # The test and the page use the issue's words more than the code does.
    repo = make_repo(
        tmp_path / "r",
        {
            **PROJECT,
            "tests/test_shipping.py": src(
                """
                from shop.shipping import shipping_cost

                def test_heavy_parcels_abroad():
                    # Heavy parcels shipped abroad: the cost grows with the weight.
                    heavy_parcel_weight = 30
                    assert shipping_cost(heavy_parcel_weight, "abroad") == 29.0
                """
            ),
            "docs/shipping.md": "# Shipping\n\nHeavy parcels shipped abroad cost more: the "
            "shipping cost of a heavy parcel grows with its weight.\n",
        },
    )
    paths = top_paths(repo, "Heavy parcels shipped abroad cost too much")
    assert paths[0] == "shop/shipping.py"
    assert {"tests/test_shipping.py", "docs/shipping.md"} <= set(paths[1:])


def test_an_issue_about_tests_does_not_push_tests_down(tmp_path: Path):
    repo = make_repo(
        tmp_path / "r",
        {
            **PROJECT,
            "tests/test_shipping.py": "def test_shipping_abroad():\n    assert flaky_fixture\n",
        },
    )
    paths = top_paths(repo, "test_shipping_abroad is flaky: flaky_fixture in the tests")
    assert paths[0] == "tests/test_shipping.py"


def test_json_output_is_one_object_of_the_documented_shape(shop: Path):
    result = run_cli("--repo", str(shop), "--text", "apply_discount rounds wrong", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # the whole of stdout is the object
    assert set(data) == {"files", "symbols"}
    assert data["files"] and data["symbols"]
    for item in data["files"]:
        assert set(item) == {"path", "score"}
        assert isinstance(item["score"], float)
        assert (shop / item["path"]).is_file()  # relative to the repository root
    for item in data["symbols"]:
        assert set(item) == {"path", "name", "line", "score"}
        assert isinstance(item["line"], int)
    assert data["files"][0]["path"] == "shop/pricing.py"
    assert data["symbols"][0]["name"] == "apply_discount"
    for key in ("files", "symbols"):
        scores = [item["score"] for item in data[key]]
        assert scores == sorted(scores, reverse=True)


def test_top_limits_the_files_and_symbols(shop: Path):
    result = run_cli("--repo", str(shop), "--text", "cart total price", "--json", "--top", "2")
    data = json.loads(result.stdout)
    assert len(data["files"]) == 2
    assert len(data["symbols"]) <= 2


def test_the_issue_can_come_from_a_file(shop: Path, tmp_path: Path):
    issue = tmp_path / "issue.md"
    issue.write_text("Shipping abroad: shipping_cost is too high\n")
    result = run_cli("--repo", str(shop), "--issue", str(issue))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "files"
    assert lines[1].split()[:2] == ["1.", "shop/shipping.py"]


def test_uncommitted_changes_are_ignored_and_the_working_tree_is_untouched(shop: Path):
    (shop / "shop/shipping.py").write_text("def express_delivery_surcharge():\n    return 9\n")
    (shop / "shop/new_module.py").write_text("def express_delivery_surcharge():\n    return 9\n")
    before = subprocess.run(
        ["git", "-C", str(shop), "status", "--porcelain"], capture_output=True, text=True
    ).stdout
    stamps = {p: p.stat().st_mtime_ns for p in shop.rglob("*") if ".git" not in p.parts}

    ranking = localize_repo(shop, "express_delivery_surcharge is wrong")

    assert "shop/new_module.py" not in [f.path for f in ranking.files]
    assert all(s.name != "express_delivery_surcharge" for s in ranking.symbols)
    # HEAD's shipping.py is still what is ranked.
    assert "shipping_cost" in [s.name for s in localize_repo(shop, "shipping_cost").symbols]
    after = subprocess.run(
        ["git", "-C", str(shop), "status", "--porcelain"], capture_output=True, text=True
    ).stdout
    assert after == before
    assert stamps == {p: p.stat().st_mtime_ns for p in shop.rglob("*") if ".git" not in p.parts}


def test_commit_ranks_an_older_commit(shop: Path):
    git = ["git", "-C", str(shop), "-c", "user.name=t", "-c", "user.email=t@t"]
    (shop / "shop/coupons.py").write_text("def redeem_coupon(code):\n    return code\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "coupons"], check=True)
    assert top_paths(shop, "redeem_coupon fails")[0] == "shop/coupons.py"
    older = [f.path for f in localize_repo(shop, "redeem_coupon fails", commit="HEAD~1").files]
    assert "shop/coupons.py" not in older


def test_a_directory_that_is_not_a_git_repository_is_a_usage_error(tmp_path: Path):
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run_cli("--repo", str(plain), "--text", "anything")
    assert result.exit_code == 2
    assert "not a git repository" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--issue", "missing.md"], "issue file not found"),
        (["--issue", "x.md", "--text", "y"], "not both"),
        ([], "give the issue"),
        (["--commit", "no-such-ref", "--text", "y"], "is not a commit"),
    ],
)
def test_bad_input_is_reported_with_exit_code_2(shop: Path, args: list[str], message: str):
    result = run_cli("--repo", str(shop), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_scripted_model_can_reorder_the_best_files(shop: Path, tmp_path: Path):
    script = tmp_path / "model.yaml"
    # The model says the second candidate (by number) and then a path are what must change.
    script.write_text('- "2\\nshop/cart.py\\nsomething it made up"\n')
    plain = localize_repo(shop, "apply_discount rounds the cart total wrong")
    result = run_cli(
        "--repo", str(shop), "--text", "apply_discount rounds the cart total wrong",
        "--json", "--model", f"scripted:{script}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    files = [item["path"] for item in json.loads(result.stdout)["files"]]
    assert files[:2] == [plain.files[1].path, "shop/cart.py"]
    assert sorted(files) == sorted(f.path for f in plain.files)


def test_a_model_that_fails_is_reported(shop: Path, tmp_path: Path):
    script = tmp_path / "empty.yaml"
    script.write_text("[]\n")  # no turns: the model errors on its first call
    issue = "the cart total, the discount and the shipping cost are all wrong"
    result = run_cli("--repo", str(shop), "--text", issue, "--model", f"scripted:{script}")
    assert result.exit_code == 1
    assert "could not rerank" in result.stderr


def test_a_second_run_reads_the_cached_index_instead_of_the_files(shop: Path, private_cache):
    class Counting:
        def __init__(self, source: GitTreeSource):
            self.source, self.reads = source, 0

        def file_hashes(self) -> dict[str, str]:
            return self.source.file_hashes()

        def read_files(self, paths: list[str]) -> dict[str, bytes]:
            self.reads += len(paths)
            return self.source.read_files(paths)

    with GitTreeSource(shop) as source:
        first, second = Counting(source), Counting(source)
        cold = rank(load_corpus(first), "shipping_cost abroad")
        warm = rank(load_corpus(second), "shipping_cost abroad")
    assert first.reads > 0 and second.reads == 0
    assert warm == cold


def test_indexing_in_several_processes_gives_the_same_ranking(shop: Path):
    issue = "Cart.total applies the discount twice; parse_price and shipping_cost look fine"
    with GitTreeSource(shop) as source:
        paths = sorted(source.file_hashes())
        serial = build_corpus(source, paths, workers=1)
        parallel = build_corpus(source, paths, workers=2)
    assert len(parallel.postings) == 2
    assert rank(parallel, issue) == rank(serial, issue)


def test_units_are_definitions_with_qualified_names_and_lines():
    code = src(
        '''
        import os


        class Outer:
            """Example:

            class NotReal:
                pass
            """

            def method(self):
                def helper():
                    return 1
                return helper()


            class Inner:
                def deep(self):
                    pass


        async def top_level():
            return os.sep
        '''
    )
    units = split_units("m.py", code)
    assert [(u.name, u.kind, u.line, u.end_line) for u in units] == [
        ("", "module", 1, 23),
        ("Outer", "class", 4, 19),
        ("Outer.method", "method", 11, 14),
        ("Outer.Inner", "class", 17, 19),
        ("Outer.Inner.deep", "method", 18, 19),
        ("top_level", "function", 22, 23),
    ]
    assert "helper" in units[2].text  # nested functions stay in their parent
    assert "import os" in units[0].text and "def method" not in units[1].text


def test_the_git_source_serves_the_code_index(shop: Path, tmp_path: Path):
    (shop / "shop/shipping.py").write_text("def only_in_the_working_tree():\n    pass\n")
    with GitTreeSource(shop) as source:
        index = CodeIndex(source, cache_dir=tmp_path / "index")
    assert [d.path for d in index.definitions("shipping_cost")] == ["shop/shipping.py"]
    assert index.definitions("only_in_the_working_tree") == []


def test_the_git_source_refuses_what_is_not_a_repository(tmp_path: Path):
    with pytest.raises(GitSourceError, match="not a git repository"):
        GitTreeSource(tmp_path)


def test_indexing_in_processes_works_while_other_threads_run(shop: Path):
    # With another thread alive the workers are spawned, not forked.
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait)
    waiter.start()
    try:
        with GitTreeSource(shop) as source:
            paths = sorted(source.file_hashes())
            parallel = build_corpus(source, paths, workers=2)
    finally:
        stop.set()
        waiter.join()
    assert "shop/shipping.py" in [f.path for f in rank(parallel, "shipping_cost").files[:1]]


def test_dotted_module_names_find_files_in_a_src_layout(tmp_path: Path):
    repo = make_repo(
        tmp_path / "r",
        {
            "src/tidy/__init__.py": "from .core import Tidier\n",
            "src/tidy/core.py": "class Tidier:\n    def run(self):\n        return 1\n",
            "src/tidy/io.py": "def read_text(path):\n    return open(path).read()\n",
            "src/tidy/cli.py": "def main():\n    pass\n",
        },
    )
    ranking = localize_repo(repo, "Calling tidy.io.read_text on a missing file hangs")
    assert ranking.files[0].path == "src/tidy/io.py"
    assert ranking.symbols[0].name == "read_text"


def test_reading_an_issue_finds_frames_paths_names_and_what_it_defines():
    issue = src(
        r"""
        `QuerySet.bulk_create()` fails; see django/db/models/query.py and sql/compiler.py

        ```python
        from django.db import models
        import numpy as np

        class Product(models.Model):
            sku = models.CharField(max_length=5)

        Product.objects.bulk_create(items)
        ```

          File "C:\Users\me\site-packages\django\db\models\query.py", line 12, in bulk_create
        django/db/backends/utils.py:84: in _execute
            at render (static/app.js:10:5)
        """
    )
    clues = read_issue(issue)
    assert [(f.path, f.line, f.function) for f in clues.frames] == [
        ("C:/Users/me/site-packages/django/db/models/query.py", 12, "bulk_create"),
        ("django/db/backends/utils.py", 84, "_execute"),
        ("static/app.js", 10, None),
    ]
    assert set(clues.paths) == {"django/db/models/query.py", "sql/compiler.py"}
    assert "django.db" in clues.imported and "numpy" in clues.imported
    assert "django.db" not in clues.dotted
    assert "Product.objects.bulk_create" in clues.dotted
    assert {"Product", "sku"} <= clues.defined  # the issue's own model, not the repository's
    assert {"bulk_create", "QuerySet", "CharField"} <= set(clues.identifiers)


def test_a_pasted_package_list_does_not_read_as_modules(tmp_path: Path):
    # "attrs", "requests" and "shipping" in the `pip list` would each name a module here.
    repo = make_repo(
        tmp_path / "r",
        {
            **PROJECT,
            "shop/attrs.py": "def attrs_of(item):\n    return vars(item)\n",
            "shop/requests.py": "def fetch(url):\n    return url\n",
        },
    )
    issue = src(
        """
        apply_discount rounds half cents down

        $ pip list
        Package     Version   Location
        ----------- --------- ----------------
        attrs       19.1.0
        requests    2.22.0    /home/me/src/requests
        shipping    0.3
        """
    ).replace("\n", "\r\n")  # as pasted from a Windows terminal
    assert "attrs" not in read_issue(without_environment_dumps(issue)).identifiers
    paths = top_paths(repo, issue)
    assert paths[0] == "shop/pricing.py"
    assert "shop/attrs.py" not in paths and "shop/requests.py" not in paths


def test_prose_with_versions_is_not_taken_for_a_package_list():
    text = "Python 3.9 is what I use\nnumpy 1.2 breaks it\nwith pandas 2.0 too\n"
    assert without_environment_dumps(text) == text


def test_configuration_and_other_languages_count_less_unless_named(tmp_path: Path):
    # Both repeat the issue's words more than the code does.
    words = "shipping cost weight country abroad " * 5
    repo = make_repo(
        tmp_path / "r",
        {
            **PROJECT,
            "setup.cfg": f"[metadata]\ndescription = {words}\n",
            "shop/_speedups.c": f"/* {words} */\nstatic double shipping_cost_fast(void);\n",
        },
    )
    issue = "Shipping cost abroad ignores the weight"
    assert top_paths(repo, issue)[0] == "shop/shipping.py"
    undemoted = localize_repo(repo, issue, weights=Weights(config_factor=1, foreign_factor=1))
    assert undemoted.files[0].path != "shop/shipping.py"  # what the kinds are weighed against
    named = top_paths(repo, "The shipping cost in setup.cfg's description is wrong")
    assert named[0] == "setup.cfg"
    about_c = top_paths(repo, "The C extension's shipping cost ignores the weight abroad")
    assert about_c[0] == "shop/_speedups.c"


def test_vendored_packages_count_less(tmp_path: Path):
    repo = make_repo(
        tmp_path / "r",
        {
            **PROJECT,
            "shop/packages/urlkit/errors.py": "class ShippingError(Exception):\n"
            "    '''shipping cost weight abroad'''\n",
        },
    )
    issue = "Shipping cost abroad ignores the weight"
    assert top_paths(repo, issue)[0] == "shop/shipping.py"
    undemoted = localize_repo(repo, issue, weights=Weights(example_factor=1))
    assert undemoted.files[0].path == "shop/packages/urlkit/errors.py"


def test_an_option_the_issue_uses_finds_the_code_declaring_it(tmp_path: Path):
    repo = make_repo(
        tmp_path / "r",
        {
            **PROJECT,
            "shop/cli.py": src(
                """
                import argparse

                def parser():
                    p = argparse.ArgumentParser()
                    p.add_argument(
                        "-n", "--dry-run", action="store_true"
                    )
                    return p
                """
            ),
            "shop/orders.py": "def place(order, dry_run=False):\n"
            '    """A dry run places nothing: dry_run short-circuits the run."""\n',
            "tests/test_cli.py": "def test_it(run):\n    run('--dry-run')\n",
        },
    )
    assert declared_options(PROJECT["shop/cart.py"]) == []
    issue = "Add a short form for --dry-run"
    assert top_paths(repo, issue)[0] == "shop/cli.py"
    assert localize_repo(repo, issue, weights=Weights(options=0)).files[0].path != "shop/cli.py"
