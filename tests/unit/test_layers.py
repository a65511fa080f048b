"""The architecture's one rule that a test can hold: imports run one way. No backend package
imports another that imports it back, and core imports no domain."""

import ast
from collections import defaultdict
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[2] / "backend"


def _package_imports() -> dict[str, set[str]]:
    """For each backend package, the other backend packages its modules import."""
    packages = {p.name for p in BACKEND.iterdir() if (p / "__init__.py").exists()}
    edges: dict[str, set[str]] = defaultdict(set)
    for module in BACKEND.rglob("*.py"):
        parts = module.relative_to(BACKEND).parts
        if len(parts) < 2:
            continue  # backend/flows.py, main.py, cli.py: the composition above the packages
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "backend":
                    names = [f"backend.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                target = name.split(".")
                inside = target[0] == "backend" and len(target) > 1 and target[1] in packages
                if inside and target[1] != parts[0]:
                    edges[parts[0]].add(target[1])
    return edges


def test_no_two_backend_packages_import_each_other() -> None:
    edges = _package_imports()
    both_ways = sorted(
        f"{a}<->{b}" for a in edges for b in edges[a] if a < b and a in edges.get(b, set())
    )
    assert both_ways == []


def test_core_imports_no_domain() -> None:
    assert _package_imports().get("core", set()) == set()
