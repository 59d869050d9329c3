"""The four top-level packages are the repository's own, wherever a process starts
(style.md §4.2: `validators` and `intake` are also PyPI distributions)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

from tests.conftest import ROOT

PACKAGES = ("intake", "validators", "ocr", "web")


def test_packages_resolve_to_the_repository_from_elsewhere(tmp_path):
    code = (
        "import json, importlib; "
        f"print(json.dumps({{n: importlib.import_module(n).__file__ for n in {PACKAGES!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    import json

    files = json.loads(done.stdout)
    for name in PACKAGES:
        assert files[name].startswith(str(ROOT / name)), (name, files[name])


def test_no_other_distribution_provides_these_names():
    providers = importlib.metadata.packages_distributions()
    for name in PACKAGES:
        assert set(providers.get(name, ["justif"])) == {"justif"}, (name, providers.get(name))


def test_console_script_and_version():
    done = subprocess.run(
        [str(ROOT / ".venv/bin/justif"), "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("justif, version ")


def test_import_direction_is_one_way():
    """web → intake → validators → ocr: no module imports a layer above its own."""
    import ast

    order = {"ocr": 0, "validators": 1, "intake": 2, "web": 3}
    offences = []
    for package, rank in order.items():
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top in order and order[top] > rank:
                        offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offences
