"""No circular import in the layer: every module imports on its own, first, in a clean interpreter
state (a cycle shows as an ImportError only when the import starts at one of its modules)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "loyalty" / "python"

SCRIPT = """
import importlib, sys
failures = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "loyalty" or m.startswith("loyalty.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failures))
"""


def layer_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(LAYER).with_suffix("").parts).removesuffix(".__init__")
        for path in (LAYER / "loyalty").rglob("*.py")
    )


def test_every_module_of_the_layer_imports_on_its_own() -> None:
    modules = layer_modules()
    assert len(modules) > 40 and "loyalty.service.transactions" in modules
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *modules], capture_output=True, text=True, check=True, cwd=LAYER
    )
    assert done.stdout.strip() == "", done.stdout


def test_a_cycle_is_caught(tmp_path: Path) -> None:
    """The check can fail: two modules importing each other's names at import time."""
    package = tmp_path / "loyalty"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from loyalty.b import B\nA = 1\n")
    (package / "b.py").write_text("from loyalty.a import A\nB = 1\n")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "loyalty.a"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "loyalty.a: ImportError" in done.stdout
