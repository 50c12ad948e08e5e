"""The code index: definitions and references across languages, caching, updates, views."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import make_repo

from patchsmith.sandbox import SandboxConfig, open_sandbox
from patchsmith.tools.index import (
    CodeIndex,
    find_definitions,
    language_for,
    outline,
    references_text,
    repo_map,
    show,
    syntax_errors,
)
from patchsmith.tools.index.extract import extract
from patchsmith.tools.index.index import git_blob_id
from patchsmith.tools.tokens import count_tokens


class FakeSandbox:
    """Just the file side of a Sandbox, counting what the index reads."""

    def __init__(self, files: dict[str, str | bytes]):
        self.files = {p: d.encode() if isinstance(d, str) else d for p, d in files.items()}
        self.reads = 0

    def file_hashes(self) -> dict[str, str]:
        return {path: git_blob_id(data) for path, data in self.files.items()}

    def read_files(self, paths: list[str]) -> dict[str, bytes]:
        self.reads += len(paths)
        return {path: self.files[path] for path in paths if path in self.files}


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


PY_MODULE = src(
    '''
    import functools


    class Outer:
        """Holds things.

        More words."""

        class Inner:
            def method(self, a, b=1) -> int:
                """Inner method."""
                return helper(a) + b

        @functools.lru_cache(maxsize=None)
        @staticmethod
        def cached(x):
            return x

        async def fetch(self, url):
            def local():
                pass
            return await get(url)


    def helper(a):
        return Outer.Inner().method(a)
    '''
)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def build(files: dict[str, str | bytes], cache_dir: Path) -> tuple[CodeIndex, FakeSandbox]:
    sandbox = FakeSandbox(files)
    return CodeIndex(sandbox, cache_dir=cache_dir), sandbox


def test_python_definitions_have_module_qualified_names_kinds_lines_and_signatures(cache_dir):
    index, _ = build({"pkg/mod.py": PY_MODULE}, cache_dir)

    by_name = {d.qualname: d for d in index.definitions_in("pkg/mod.py")}
    assert set(by_name) == {
        "pkg.mod.Outer",
        "pkg.mod.Outer.Inner",
        "pkg.mod.Outer.Inner.method",
        "pkg.mod.Outer.cached",
        "pkg.mod.Outer.fetch",
        "pkg.mod.Outer.fetch.local",
        "pkg.mod.helper",
    }
    method = by_name["pkg.mod.Outer.Inner.method"]
    assert (method.kind, method.start_line, method.end_line) == ("method", 10, 12)
    assert method.signature == "def method(self, a, b=1) -> int:"
    assert method.doc == "Inner method."
    assert by_name["pkg.mod.Outer"].doc == "Holds things."
    cached = by_name["pkg.mod.Outer.cached"]
    assert (cached.start_line, cached.line) == (14, 16)  # the span starts at the decorators
    assert cached.decorators == ("@functools.lru_cache(maxsize=None)", "@staticmethod")
    assert by_name["pkg.mod.Outer.fetch"].signature == "async def fetch(self, url):"
    assert by_name["pkg.mod.Outer.fetch.local"].kind == "function"
    assert by_name["pkg.mod.helper"].kind == "function"


def test_package_init_names_the_package_itself(cache_dir):
    index, _ = build({"pkg/sub/__init__.py": "def setup():\n    pass\n"}, cache_dir)
    assert [d.qualname for d in index.definitions("setup")] == ["pkg.sub.setup"]


def test_bare_name_returns_every_definition_and_a_qualified_name_picks_one(cache_dir):
    files = {
        "app/a.py": "def render(x):\n    return x\n",
        "app/b.py": "class View:\n    def render(self):\n        pass\n",
        "lib/c.py": "def render():\n    pass\n",
    }
    index, _ = build(files, cache_dir)

    assert [d.qualname for d in index.definitions("render")] == [
        "app.a.render",
        "app.b.View.render",
        "lib.c.render",
    ]
    assert [d.path for d in index.definitions("app.b.View.render")] == ["app/b.py"]
    assert [d.path for d in index.definitions("View.render")] == ["app/b.py"]
    assert index.definitions("nothing_like_this") == []

    listing = show(index, "render")
    assert "matches 3 definitions" in listing
    assert "app.b.View.render (method) app/b.py:2" in listing
    assert show(index, "View.render").splitlines()[1:] == [
        "2 |     def render(self):",
        "3 |         pass",
    ]


def test_references_are_grouped_by_file_with_their_lines(cache_dir):
    files = {
        "core.py": "def compute(x):\n    return x\n",
        "use_one.py": "from core import compute\n\nprint(compute(1))\nprint(compute(2))\n",
        "use_two.py": "import core\n\nvalue = core.compute(3)\n",
    }
    index, _ = build(files, cache_dir)

    assert index.references("compute") == {"use_one.py": (1, 3, 4), "use_two.py": (3,)}
    # The module path of an import is not a use of a definition called "core".
    assert index.references("core") == {"use_two.py": (3,)}

    text = references_text(index, "compute")
    assert text.splitlines() == [
        "'compute' is used on 4 lines in 2 files (matched by name):",
        "use_one.py",
        "  1 | from core import compute",
        "  3 | print(compute(1))",
        "  4 | print(compute(2))",
        "use_two.py",
        "  3 | value = core.compute(3)",
    ]
    cut = references_text(index, "compute", max_lines=2)
    assert cut.splitlines()[-1] == "... 2 more lines not shown, 1 of the 2 files not listed"


SAMPLES = {
    "web/app.js": (
        src(
            """
            class Widget {
              render(props) { return draw(props); }
            }
            function draw(x) { return x; }
            const make = (a) => new Widget(a);
            """
        ),
        {
            "web.app.Widget": "class",
            "web.app.Widget.render": "method",
            "web.app.draw": "function",
            "web.app.make": "function",
        },
    ),
    "web/api.ts": (
        src(
            """
            export interface Client { get(url: string): string; }
            export class HttpClient implements Client {
              get(url: string): string { return url; }
            }
            export function connect(host: string): Client { return new HttpClient(); }
            """
        ),
        {
            "web.api.Client": "interface",
            "web.api.Client.get": "method",
            "web.api.HttpClient": "class",
            "web.api.HttpClient.get": "method",
            "web.api.connect": "function",
        },
    ),
    "web/view.tsx": (
        src(
            """
            export class Panel extends Base {
              title(): string { return "x"; }
            }
            export function App(props: Props) { return <Panel title="t" />; }
            """
        ),
        {"web.view.Panel": "class", "web.view.Panel.title": "method", "web.view.App": "function"},
    ),
    "srv/server.go": (
        src(
            """
            package srv

            // Server answers requests.
            type Server struct { port int }

            func (s *Server) Start() error { return nil }

            func New(port int) *Server { return &Server{port: port} }
            """
        ),
        {
            "srv.server.Server": "struct",
            "srv.server.Server.Start": "method",
            "srv.server.New": "function",
        },
    ),
    "src/lib.rs": (
        src(
            """
            pub struct Stack { items: Vec<i32> }

            impl Stack {
                pub fn push(&mut self, x: i32) { self.items.push(x); }
            }

            pub fn make() -> Stack { Stack { items: vec![] } }
            """
        ),
        {"src.lib.Stack": "struct", "src.lib.Stack.push": "method", "src.lib.make": "function"},
    ),
    "src/Shop.java": (
        src(
            """
            package shop;

            public class Shop {
                public Shop() {}
                public int total(int a) { return a; }
                static class Cart { void add() {} }
            }
            """
        ),
        {
            "src.Shop.Shop": "class",
            "src.Shop.Shop.Shop": "method",
            "src.Shop.Shop.total": "method",
            "src.Shop.Shop.Cart": "class",
            "src.Shop.Shop.Cart.add": "method",
        },
    ),
}


@pytest.mark.parametrize("path", list(SAMPLES))
def test_each_supported_language_yields_its_classes_functions_and_methods(path, cache_dir):
    text, expected = SAMPLES[path]
    index, _ = build({path: text}, cache_dir)

    found = {d.qualname: d.kind for d in index.definitions_in(path) if d.kind != "impl"}
    assert found == expected


def test_go_doc_comment_and_signature_are_kept(cache_dir):
    index, _ = build({"srv/server.go": SAMPLES["srv/server.go"][0]}, cache_dir)
    (server,) = index.definitions("Server")
    assert (server.signature, server.doc) == ("type Server struct", "Server answers requests.")
    (start,) = index.definitions("Server.Start")
    assert start.signature == "func (s *Server) Start() error"


def test_broken_binary_huge_and_unknown_files_never_break_the_index(cache_dir):
    files = {
        "broken.py": "def ok():\n    pass\n\ndef broken(:\n",
        "blob.py": b"\x00\x01\x02" * 100,
        "huge.py": "x = 1\n" * 200_000,
        "notes.txt": "def not_code(): pass\n",
        "good.py": "def fine():\n    pass\n",
    }
    index, _ = build(files, cache_dir)

    assert [d.qualname for d in index.definitions("fine")] == ["good.fine"]
    assert [d.qualname for d in index.definitions("ok")] == ["broken.ok"]
    assert index.entry("blob.py").error == "skipped: binary"
    assert index.entry("huge.py").error.startswith("skipped: larger than")
    assert index.entry("notes.txt") is None and "notes.txt" in index.files()
    assert outline(index, "blob.py") == "blob.py: no outline (skipped: binary)."


def test_syntax_errors_point_at_the_broken_line_and_are_empty_for_valid_code():
    broken = b"def ok():\n    return 1\n\ndef bad(:\n    return 2\n"
    issues = syntax_errors("m.py", broken)
    assert issues and issues[0].line == 4
    assert issues[0].column >= 1 and issues[0].message
    assert syntax_errors("m.py", b"def ok():\n    return 1\n") == []
    assert syntax_errors("m.go", b"package m\nfunc f() {\n") != []
    assert syntax_errors("notes.txt", b"anything") is None
    assert language_for("a/b.tsx") == "tsx" and language_for("README.md") is None


def test_find_definitions_gives_the_span_to_replace_including_decorators():
    source = PY_MODULE.encode()
    (span,) = find_definitions("pkg/mod.py", source, "Outer.cached")
    assert span.qualname == "pkg.mod.Outer.cached"
    assert (span.start_line, span.line, span.end_line) == (14, 16, 17)
    text = source[span.start_byte : span.end_byte].decode()
    assert text.startswith("@functools.lru_cache(maxsize=None)")
    assert text.endswith("return x")
    assert [
        s.qualname for s in find_definitions("pkg/mod.py", source, "pkg.mod.Outer.Inner.method")
    ] == ["pkg.mod.Outer.Inner.method"]
    assert find_definitions("pkg/mod.py", source, "missing") == []


def test_a_second_index_on_the_same_files_parses_nothing(cache_dir):
    files = {"a.py": PY_MODULE, "b.py": "def helper2():\n    pass\n"}
    first, _ = build(files, cache_dir)
    assert first.stats.parsed == 2

    second, sandbox = build(files, cache_dir)
    assert (second.stats.parsed, second.stats.from_disk, sandbox.reads) == (0, 2, 0)
    assert [d.qualname for d in second.definitions("method")] == ["a.Outer.Inner.method"]
    # Sources come from the cache too: showing a symbol costs no sandbox round trip.
    assert "12 |             return helper(a) + b" in show(second, "method")
    assert sandbox.reads == 0


def test_the_disk_cache_starts_over_past_its_size_limit(cache_dir, monkeypatch):
    monkeypatch.setenv("PATCHSMITH_CACHE_MAX_MB", "0.2")  # 200 KB
    noise = random.Random(7)  # text that does not compress away: about 100 KB a round
    rounds = [
        {
            f"r{r}/m{i}.py": f"def f{i}():\n    return {noise.randbytes(1200).hex()!r}\n"
            for i in range(40)
        }
        for r in range(6)
    ]
    for files in rounds:
        build(files, cache_dir)
    (cache_file,) = cache_dir.glob("*.sqlite")
    with sqlite3.connect(cache_file) as db:
        (kept,) = db.execute("SELECT count(*) FROM sources").fetchone()
    assert kept < 3 * 40  # of the 240 files written, no more than the limit holds
    again, _ = build(rounds[-1], cache_dir)
    assert again.stats.from_disk == 40  # what came last is still cached


def test_update_reparses_only_what_changed_and_drops_deleted_files(cache_dir):
    files = {f"m{i}.py": f"def f{i}():\n    pass\n" for i in range(5)}
    index, sandbox = build(files, cache_dir)
    assert index.stats.parsed == 5

    sandbox.files["m1.py"] = b"def renamed():\n    pass\n"
    sandbox.files["new.py"] = b"def fresh():\n    pass\n"
    del sandbox.files["m2.py"]
    stats = index.update()

    assert (stats.parsed, stats.removed, stats.unchanged) == (2, 1, 3)
    assert index.definitions("f1") == [] and index.definitions("f2") == []
    assert [d.path for d in index.definitions("renamed")] == ["m1.py"]
    assert [d.path for d in index.definitions("fresh")] == ["new.py"]

    sandbox.files["m3.py"] = b"def g3():\n    pass\n"
    stats = index.update(["m3.py"])  # the caller knows what it edited
    assert (stats.parsed, stats.read) == (1, 1)
    assert [d.qualname for d in index.definitions("g3")] == ["m3.g3"]
    assert index.update().parsed == 0

    written = b"def h4():\n    pass\n"  # an editor hands over what it wrote: no read
    sandbox.files["m4.py"] = written
    stats = index.update(["m4.py"], contents={"m4.py": written})
    assert (stats.parsed, stats.read) == (1, 0)
    assert [d.qualname for d in index.definitions("h4")] == ["m4.h4"]


def test_outline_of_a_file_keeps_line_numbers_and_elides_bodies(cache_dir):
    index, _ = build({"pkg/mod.py": PY_MODULE}, cache_dir)
    assert outline(index, "pkg/mod.py").splitlines() == [
        "pkg/mod.py:",
        " 4 | class Outer:",
        '   |     """Holds things."""',
        " 9 |     class Inner:",
        "10 |         def method(self, a, b=1) -> int:",
        '   |             """Inner method."""',
        "   |             ...",
        "14 |     @functools.lru_cache(maxsize=None)",
        "15 |     @staticmethod",
        "16 |     def cached(x):",
        "   |         ...",
        "19 |     async def fetch(self, url):",
        "   |         ...",
        "25 | def helper(a):",
        "   |     ...",
    ]


def test_outline_of_a_directory_lists_each_file_and_says_what_it_cut(cache_dir):
    files = {f"pkg/m{i}.py": f"class C{i}:\n    def run(self):\n        pass\n" for i in range(9)}
    files["pkg/data.json"] = "{}"
    index, _ = build(files, cache_dir)

    full = outline(index, "pkg")
    assert full.splitlines()[:3] == ["pkg/m0.py:", "  1 | class C0:", "  2 |     def run(self):"]
    assert full.splitlines()[-1] == "(1 other files without classes or functions)"
    cut = outline(index, "pkg", max_lines=6)
    assert cut.splitlines()[-1].startswith("... 22 more lines not shown")
    assert outline(index, "nowhere").startswith("No file or directory")


def test_show_gives_numbered_source_and_suggests_names_when_nothing_matches(cache_dir):
    index, _ = build({"pkg/mod.py": PY_MODULE}, cache_dir)
    shown = show(index, "Outer.Inner.method")
    assert shown.splitlines() == [
        "pkg.mod.Outer.Inner.method (method) pkg/mod.py:10-12",
        "10 |         def method(self, a, b=1) -> int:",
        '11 |             """Inner method."""',
        "12 |             return helper(a) + b",
    ]
    assert show(index, "outer") == "No definition named 'outer'. Similar names: Outer"
    long = show(index, "Outer", max_lines=3)
    assert long.splitlines()[-1] == (
        "... 16 more lines not shown; view pkg/mod.py from line 7 for the rest"
    )


def project_files() -> dict[str, str]:
    """A small project: one core module everyone uses, and a leaf module nobody uses."""
    files = {
        "core/engine.py": src(
            """
            class Engine:
                def start_engine(self):
                    pass

            def make_engine():
                return Engine()
            """
        ),
        "extras/leaf.py": src(
            """
            def leaf_helper():
                pass

            class LeafThing:
                def leaf_method(self):
                    pass
            """
        ),
    }
    for i in range(12):
        files[f"app/user{i}.py"] = src(
            f"""
            from core.engine import Engine, make_engine

            class Feature{i}:
                def run_feature_{i}(self):
                    engine = make_engine()
                    engine.start_engine()
                    return Engine
            """
        )
    return files


@pytest.mark.parametrize("budget", [20, 40, 80, 150, 300, 1000, 5000])
def test_repo_map_never_exceeds_its_token_budget(budget, cache_dir):
    index, _ = build(project_files(), cache_dir)
    text = repo_map(index, budget)
    assert count_tokens(text) <= budget
    if budget >= 80:
        assert "core/engine.py:" in text


def test_repo_map_ranks_the_most_used_definitions_first(cache_dir):
    index, _ = build(project_files(), cache_dir)
    lines = repo_map(index, 60).splitlines()
    assert lines[1] == "core/engine.py:"
    assert "class Engine:" in "\n".join(lines)
    assert "leaf" not in repo_map(index, 120)


def test_repo_map_focus_moves_a_files_definitions_up(cache_dir):
    index, _ = build(project_files(), cache_dir)

    def position(text: str, needle: str) -> int:
        lines = text.splitlines()
        return next((i for i, line in enumerate(lines) if needle in line), len(lines))

    plain = repo_map(index, 400)
    focused = repo_map(index, 400, focus_files=["extras/leaf.py"])
    assert position(focused, "def leaf_helper") < position(plain, "def leaf_helper")
    assert position(focused, "extras/leaf.py:") == 1
    by_name = repo_map(index, 400, focus_names=["leaf_method"])
    assert position(by_name, "def leaf_method") < position(plain, "def leaf_method")


def test_importing_the_index_loads_no_grammar_until_a_file_is_parsed():
    script = (
        "import sys\n"
        "import patchsmith.tools.index as index\n"
        "assert not [m for m in sys.modules if m.startswith('tree_sitter_')], sys.modules\n"
        "index.syntax_errors('a.py', b'x = 1')\n"
        "assert 'tree_sitter_python' in sys.modules\n"
        "assert 'tree_sitter_go' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_extract_reports_definitions_without_a_workspace():
    found = extract("tool.py", b"def run():\n    pass\n")
    assert [d.local_name for d in found.definitions] == ["run"]
    assert extract("notes.md", b"# title").language is None


def test_index_builds_and_updates_through_a_real_sandbox(tmp_path, sandbox_config, cache_dir):
    repo = make_repo(
        tmp_path / "proj",
        {
            "shop/cart.py": "class Cart:\n    def total(self):\n        return 0\n",
            "shop/checkout.py": (
                "from shop.cart import Cart\n\ndef pay():\n    return Cart().total()\n"
            ),
            "web/ui.ts": "export function renderCart(): void {}\n",
        },
    )
    with open_sandbox(repo, config=sandbox_config) as sb:
        index = CodeIndex(sb, cache_dir=cache_dir)
        assert index.stats.parsed == 3
        assert [d.qualname for d in index.definitions("total")] == ["shop.cart.Cart.total"]
        assert index.references("Cart") == {"shop/checkout.py": (1, 4)}
        assert "def total(self):" in show(index, "Cart.total")

        sb.write_file(
            "shop/cart.py", "class Cart:\n    def total(self, tax=0):\n        return tax\n"
        )
        stats = index.update()
        assert stats.parsed == 1
        assert index.definitions("Cart.total")[0].signature == "def total(self, tax=0):"

        again = CodeIndex(sb, cache_dir=cache_dir)
        assert again.stats.parsed == 0


def test_real_sandbox_on_the_default_local_backend(repo, cache_dir):
    with open_sandbox(repo, config=SandboxConfig(backend="local")) as sb:
        index = CodeIndex(sb, cache_dir=cache_dir)
        assert [d.qualname for d in index.definitions("add")] == ["calc.add"]
        assert index.references("add") == {"test_calc.py": (1, 5)}


def test_count_tokens_uses_cl100k_from_the_bundled_file_with_the_network_cut():
    script = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from patchsmith.tools.tokens import count_tokens, tokenizer_name\n"
        "assert count_tokens('hello world') == 2, count_tokens('hello world')\n"
        "assert tokenizer_name() == 'cl100k_base'\n"
        "import sys\n"
        "assert 'litellm' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_count_tokens_falls_back_to_a_length_estimate(monkeypatch):
    from patchsmith.tools import tokens

    monkeypatch.setattr(tokens, "_loaded", False)
    monkeypatch.setattr(tokens, "_encoding", None)
    monkeypatch.setattr(tokens, "_bundled_tokenizer_dir", lambda: None)
    assert tokens.count_tokens("abcdefghi") == 3
    assert tokens.tokenizer_name() == "estimate"
    assert tokens.count_tokens("") == 0


def test_repo_map_shows_a_used_method_under_its_class(cache_dir):
    files = {
        "core/registry.py": "class Registry:\n    def register_item(self, item):\n        pass\n"
    }
    for i in range(5):
        files[f"plugins/p{i}.py"] = f"def setup_{i}(registry):\n    registry.register_item({i})\n"
    index, _ = build(files, cache_dir)

    lines = repo_map(index, 40).splitlines()
    assert lines[1:4] == [
        "core/registry.py:",
        "  1 | class Registry:",
        "  2 |     def register_item(self, item):",
    ]


def test_show_gives_every_definition_sharing_one_qualified_name(cache_dir):
    text = src(
        """
        class Box:
            @property
            def size(self):
                return self._size

            @size.setter
            def size(self, value):
                self._size = value
        """
    )
    index, _ = build({"box.py": text}, cache_dir)
    shown = show(index, "size")
    assert "box.Box.size (method) box.py:2-4" in shown
    assert "box.Box.size (method) box.py:6-8" in shown
    assert "8 |         self._size = value" in shown


def test_big_builds_read_in_batches_and_lose_no_file(cache_dir, monkeypatch):
    from patchsmith.tools.index import index as index_module

    monkeypatch.setattr(index_module, "_READ_BATCH", 3)
    files = {f"m{i}.py": f"def f{i}():\n    pass\n" for i in range(10)}
    files["gone.py"] = "def g():\n    pass\n"

    class Vanishing(FakeSandbox):
        def read_files(self, paths):  # a file deleted between listing and reading
            return {p: d for p, d in super().read_files(paths).items() if p != "gone.py"}

    index = CodeIndex(Vanishing(files), cache_dir=cache_dir)
    assert index.stats.parsed == 10
    assert sorted(d.name for d in index.entries()["m7.py"].definitions) == ["f7"]
    assert index.definitions("g") == []
