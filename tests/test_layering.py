"""The faces sit on the capabilities, never the other way round: no capability module, page or
UI helper imports the API package or a router, so a service can be called (and its models
used) without FastAPI's app in the picture."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Every module path imported anywhere in the file (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _is_api(module: str) -> bool:
    """The API package or a capability's router (`hardening.<capability>.api`)."""
    parts = module.split(".")
    return parts[0] == "hardening" and len(parts) > 1 and (parts[1] == "api" or parts[-1] == "api")


def _is_face_of_api(rel: Path) -> bool:
    """Modules allowed to import the API: the package itself, routers, and the root CLI that
    registers `hardening serve`."""
    return (
        rel.parts[:2] == ("hardening", "api")
        or rel.name == "api.py"
        or rel == Path("hardening/cli.py")
    )


def _offenders(root: Path) -> list[str]:
    sources = [
        *root.joinpath("hardening").rglob("*.py"),
        *root.joinpath("pages").glob("*.py"),
        *root.joinpath("ui").glob("*.py"),
        *root.glob("app.py"),
    ]
    return sorted(
        f"{path.relative_to(root)} imports {module}"
        for path in sources
        if not _is_face_of_api(path.relative_to(root))
        for module in _imports(path)
        if _is_api(module)
    )


def test_nothing_outside_the_api_imports_it() -> None:
    assert len(list(ROOT.joinpath("hardening").rglob("*.py"))) > 100  # the walk finds the package
    assert _offenders(ROOT) == []


def test_the_check_catches_an_import_of_the_api(tmp_path: Path) -> None:
    """The check itself: a capability importing the API's models, or a page calling a router
    function, is reported; a router and the API package may import it."""
    files = {
        "hardening/markers/models.py": "from hardening.api.models import ApiModel\n",
        "hardening/markers/api.py": "from hardening.api.deps import ConnDep\n",
        "hardening/api/app.py": "import hardening.api.models\n",
        "pages/7_KPI.py": "def f() -> None:\n    from hardening.reports import api\n",
        "app.py": "import hardening.reports.publish\n",
    }
    for name, source in files.items():
        tmp_path.joinpath(name).parent.mkdir(parents=True, exist_ok=True)
        tmp_path.joinpath(name).write_text(source, encoding="utf-8")
    assert _offenders(tmp_path) == [
        "hardening/markers/models.py imports hardening.api.models",
        "hardening/markers/models.py imports hardening.api.models.ApiModel",
        "pages/7_KPI.py imports hardening.reports.api",
    ]
