"""The layers: the core (everything outside icp_agent/faces/) never imports a face, and the assistant is only an
MCP client (it never calls the toolkit; everything it does goes through the server's tools and resources).

Both are checked twice: statically, on every import statement of the source (including imports inside
functions, which an import-time check would miss), and dynamically, by importing every core module in a fresh
interpreter and looking at what got loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "icp_agent"
FACES = "icp_agent.faces"
ASSISTANT = PACKAGE / "faces" / "assistant"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "faces" not in p.relative_to(PACKAGE).parts)


def imported(path: Path, source: str | None = None, *, runtime_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import in a source file (or in `source`, read as that file), wherever it sits;
    relative imports resolved. runtime_only leaves out the imports under `if TYPE_CHECKING:` (annotations only)."""
    package = module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If)
        and runtime_only
        and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for statement in block.body
        for n in ast.walk(statement)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            found += [(node.lineno, base)] + [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def test_no_core_module_imports_a_face():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        for path in core_modules()
        for line, name in imported(path)
        if name == FACES or name.startswith(FACES + ".")
    ]
    assert not offenders, offenders


def test_the_static_check_sees_imports_inside_functions():
    """The check above must fail on the kind of import it exists for: a lazy one, relative or absolute."""
    lazy = "def f():\n    from ..faces.assistant import chat\n    import icp_agent.faces.server\n"
    names = [name for _, name in imported(PACKAGE / "drafting" / "offline.py", lazy)]
    assert "icp_agent.faces.assistant.chat" in names and "icp_agent.faces.server" in names


def test_importing_every_core_module_loads_no_face():
    names = [module_name(p) for p in core_modules()]
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m == {FACES!r} or m.startswith({FACES + '.'!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(PACKAGE.parent), "PATH": ""},
    )
    assert json.loads(done.stdout) == []


def test_the_assistant_never_calls_the_toolkit_or_opens_the_workspace():
    """The assistant reads and writes nothing but through the server (in process or remote): no toolkit call, no
    database connection, so the same code drives a remote server. (Type annotations may name the toolkit's
    models: they are not run.)"""
    offenders = []
    for path in sorted(ASSISTANT.glob("*.py")):
        for line, name in imported(path, runtime_only=True):
            if name in ("icp_agent.toolkit", "duckdb") or name.startswith(("icp_agent.toolkit.", "duckdb.")):
                offenders.append(f"{path.name}:{line} imports {name}")
    assert not offenders, offenders


def test_every_source_module_has_a_test_module_that_imports_it():
    """Each src/icp_agent/<pkg>/<mod>.py has tests/test_<mod>.py (module names are unique across packages), and
    that file imports the module or a name from it, so the module is tested directly, not only through a face."""
    tests = PACKAGE.parent.parent / "tests"
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        name, test = module_name(path), tests / f"test_{path.stem}.py"
        if not test.exists():
            problems.append(f"{path.relative_to(PACKAGE)} has no tests/{test.name}")
            continue
        tree = ast.parse(test.read_text(encoding="utf-8"))
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {
            f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            for alias in node.names
        }
        names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        if not any(n == name or n.startswith(name + ".") for n in names):
            problems.append(f"tests/{test.name} does not import {name}")
    assert not problems, problems


def test_module_basenames_are_unique():
    """The rule above names a test module by its source module's basename, so two source modules may not share one."""
    stems = [p.stem for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    assert len(stems) == len(set(stems)), sorted({s for s in stems if stems.count(s) > 1})
