"""The packages stand on each other one way: silk_core at the bottom, the apps on it, `website` (the
project: settings, URLs, WSGI) on top. A module that imports upward fails here, naming the import."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each package may not import: whatever stands above it.
ABOVE = {
    "silk_core": {"website", "accounts", "catalog", "staff_api"},
    "accounts": {"website", "staff_api"},
    "catalog": {"website", "staff_api"},
    "staff_api": {"website"},
}


def imported_packages(path: Path) -> set[tuple[int, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_a_package_imports_nothing_that_stands_above_it(package):
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name in sorted(imported_packages(path))
        if name in ABOVE[package]
    ]
    assert not upward, upward


def test_the_project_package_holds_no_app_code():
    modules = {path.stem for path in (ROOT / "website").glob("*.py")}
    assert not modules & {"staff_api", "request_body", "versioning", "data_version"}, modules
    assert not (ROOT / "website" / "database_identity").exists()
