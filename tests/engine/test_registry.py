"""engine/registry.py: the first lookup of a kind imports the package's modules. A kind's
module that looks a kind up while it is imported by that loader (a job kind built on the
sql kind's declaration, a backend reading another kind's fields) is in the loader's own
thread: the job kinds' registry took an RLock for that and answered; a lookup there must
not wait for the loader, that is for itself, for good."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _LOOKUP],
        env={"PYTHONPATH": f"{root}:{tmp_path}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(["base", "derived-of-base"]), done.stdout
