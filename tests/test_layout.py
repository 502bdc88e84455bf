"""The package layout the README draws is the one the imports follow.

The README's Development section lists the package's parts from the bottom up and says each
imports only from the lines above it. This test reads that list from the README and every
``import`` of the package (module level and inside functions alike), so an import that runs
back up, or a part missing from the list, fails here rather than in a reader's head.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "dance_aggregate"


def readme_layers() -> list[list[str]]:
    """The parts named on each line of the README's layout block, bottom layer first."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("- Layout: `src/dance_aggregate/`", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    layers = []
    for line in block.splitlines():
        if not line.strip() or line.startswith(" " * 6):  # blank, or a description's second line
            continue
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0].split()
        layers.append([n.rstrip("/").removesuffix(".py") for n in names])
    return layers


def package_parts() -> set[str]:
    """Subpackages and top-level modules (the package face and ``__main__`` aside)."""
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    return subpackages | modules


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module of the package that ``source`` (the text of ``module``) imports, at
    module level or inside a function, relative imports resolved."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            out |= {name} | {f"{name}.{a.name}" for a in node.names}
    return {m for m in out if m.startswith("dance_aggregate.")}


def part_of(module: str) -> str | None:
    """``dance_aggregate.media.cut`` -> ``media``; ``None`` for the package face."""
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else None


def back_edges(modules: dict[str, tuple[str, bool]], layers: list[list[str]]) -> list[str]:
    """Imports from a part to one on its own line or below it in ``layers``."""
    rank = {name: i for i, layer in enumerate(layers) for name in layer}
    back = []
    for module, (source, is_package) in sorted(modules.items()):
        mine = part_of(module)
        for target in sorted(imports_of(source, module, is_package)):
            theirs = part_of(target)
            if mine in rank and theirs in rank and theirs != mine and rank[theirs] >= rank[mine]:
                back.append(f"{module} ({mine}) imports {target} ({theirs})")
    return back


def package_modules() -> dict[str, tuple[str, bool]]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        out[name] = (path.read_text(encoding="utf-8"), is_package)
    return out


def test_the_readme_lists_every_part_of_the_package_once():
    listed = [name for layer in readme_layers() for name in layer]
    assert len(listed) == len(set(listed)), f"listed twice: {sorted({n for n in listed if listed.count(n) > 1})}"
    present = package_parts()
    assert set(listed) == present, f"missing from the README: {sorted(present - set(listed))}; gone: {sorted(set(listed) - present)}"


def test_no_import_runs_back_up_the_layers():
    back = back_edges(package_modules(), readme_layers())
    assert not back, "imports that run back up (or across one line) of the README's layout:\n" + "\n".join(back)


def test_a_back_edge_is_seen_even_inside_a_function_and_relative():
    layers = [["media"], ["pipeline"]]
    lazy = "def f():\n    from dance_aggregate.pipeline import build\n"
    relative = "from ..pipeline.build import build\n"
    up = "from .cut import cut\nfrom dance_aggregate.media import probe\n"
    assert back_edges({"dance_aggregate.media.x": (lazy, False)}, layers) == [
        "dance_aggregate.media.x (media) imports dance_aggregate.pipeline (pipeline)",
        "dance_aggregate.media.x (media) imports dance_aggregate.pipeline.build (pipeline)",
    ]
    assert len(back_edges({"dance_aggregate.media.x": (relative, False)}, layers)) == 2
    assert back_edges({"dance_aggregate.media": (up, True), "dance_aggregate.pipeline.y": (lazy, False)}, layers) == []


#: Parts of the package a source package may not import: sources parse and plan, the
#: pipeline fetches, cuts and encodes (README, "Adding a source").
SOURCES_MAY_NOT_IMPORT = ("dance_aggregate.fetch", "dance_aggregate.media.cut", "dance_aggregate.media.encode",
                          "dance_aggregate.media.clip", "dance_aggregate.pipeline", "dance_aggregate.output")


def test_sources_only_parse_and_plan():
    bad = []
    for module, (source, is_package) in sorted(package_modules().items()):
        if part_of(module) != "builders":
            continue
        for target in sorted(imports_of(source, module, is_package)):
            if target.startswith(SOURCES_MAY_NOT_IMPORT):
                bad.append(f"{module} imports {target}")
    assert not bad, "a source package fetches, cuts, encodes or writes itself:\n" + "\n".join(bad)


def _code_strings(tree: ast.AST) -> list[ast.Constant]:
    """String constants that are not docstrings."""
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def source_names_in_code(modules: dict[str, tuple[str, bool]], names: set[str]) -> list[str]:
    """Places outside ``builders/`` where a source is named as code: a string constant that
    is a source or config name, a variable, attribute or function named after one, or an
    import of a source package (docstrings and example text in messages aside)."""
    found = []
    for module, (source, is_package) in sorted(modules.items()):
        if part_of(module) == "builders":
            continue
        tree = ast.parse(source)
        for node in _code_strings(tree):
            if node.value in names:
                found.append(f"{module}:{node.lineno}: the string {node.value!r}")
        for node in ast.walk(tree):
            ident = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else (
                node.name if isinstance(node, ast.FunctionDef | ast.ClassDef) else None)
            if ident and any(n in ident.lower() for n in names):
                found.append(f"{module}:{node.lineno}: the name {ident}")
        for target in imports_of(source, module, is_package):
            if set(target.split(".")) & names:
                found.append(f"{module}: imports {target}")
    return found


def test_no_module_outside_builders_names_a_source():
    from dance_aggregate.builders import registry

    names = set(registry.source_names()) | set(registry.config_names())
    found = source_names_in_code(package_modules(), names)
    assert not found, "a source is named as code outside its package:\n" + "\n".join(found)
    # ... and the check sees each kind of naming
    planted = {"dance_aggregate.hub.x": ("X = 'ucf101'\nfrom dance_aggregate.builders.ucf101 import SOURCE\n"
                                         "def load_ucf101(): pass\n", False)}
    kinds = " ".join(source_names_in_code(planted, names))
    assert "the string 'ucf101'" in kinds and "the name load_ucf101" in kinds and "imports dance_aggregate.builders.ucf101" in kinds
