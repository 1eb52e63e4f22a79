"""engine/registry.py: the first lookup of a kind imports the package's modules, while a
kind's module registers itself when imported. Each test runs in a child process, so a
deadlock is a timeout, not a hung suite:

- a module that looks a kind up while the loader imports it (a job kind built on the sql
  kind's declaration) is in the loader's own thread and must not wait for itself;
- a module that registers its kind while another thread loads them all: its import lock
  and the registry's lock taken in opposite orders froze `engine serve` for good (the
  console's first health check imported iceberg while its first SQL check loaded the
  kinds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _child(script: str, modules: Path) -> str:
    """What `script` prints, run in a child with `modules` importable."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": f"{root}:{modules}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


_LOOKUP = """
import threading
from engine.registry import Registry

class Kind:
    def __init__(self, name):
        self.name = name

REGISTRY = Registry("toy kind", lambda: ["toy_base", "toy_derived"])
t = threading.Thread(target=REGISTRY.all, daemon=True)
t.start()
t.join(10)
print("stuck" if t.is_alive() else sorted(REGISTRY.all()))
"""

_BASE = """
import __main__
__main__.REGISTRY.register(__main__.Kind("base"))
"""

_DERIVED = """
import __main__
base = __main__.REGISTRY.find("base")  # during the loader's import of this module
__main__.REGISTRY.register(__main__.Kind("derived-of-" + base.name))
"""


def test_a_module_that_looks_a_kind_up_while_the_loader_imports_it_does_not_hang(
    tmp_path: Path,
) -> None:
    (tmp_path / "toy_base.py").write_text(_BASE)
    (tmp_path / "toy_derived.py").write_text(_DERIVED)
    assert _child(_LOOKUP, tmp_path) == str(["base", "derived-of-base"])


_RACE = """
import sys, threading
from engine.backends import kinds

started, go = threading.Event(), threading.Event()
sys.modules["__main__"].started, sys.modules["__main__"].go = started, go
kinds.REGISTRY.modules = lambda: ["slow_backend"]  # the only module the loader imports
kinds.REGISTRY.forget_loaded()
importer = threading.Thread(target=lambda: __import__("slow_backend"), daemon=True)
importer.start()
started.wait(5)  # the importer holds slow_backend's import lock, before its register()
loader = threading.Thread(target=kinds.all_kinds, daemon=True)
loader.start()
loader.join(0.3)  # the loader is now waiting for slow_backend
go.set()
importer.join(10)
loader.join(10)
print("stuck" if importer.is_alive() or loader.is_alive() else sorted(kinds.all_kinds()))
"""

_SLOW_BACKEND = """
import sys
from engine.backends import kinds
from tests.fakes import toy_catalog

main = sys.modules["__main__"]
main.started.set()
main.go.wait(5)
kinds.register(toy_catalog.KIND)
"""


def test_a_kind_registered_while_another_thread_loads_them_all_does_not_deadlock(
    tmp_path: Path,
) -> None:
    from tests.fakes import toy_catalog

    (tmp_path / "slow_backend.py").write_text(_SLOW_BACKEND)
    assert _child(_RACE, tmp_path) == str([toy_catalog.KIND.name])
