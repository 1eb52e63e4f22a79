import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.bench
def test_console_benchmarks():
    script = Path(__file__).with_name("bench_tui.py")
    out = subprocess.run(
        [sys.executable, str(script), "--runs", "3"], capture_output=True, text=True, timeout=1800
    )
    print(out.stdout)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "start -> first screen" in out.stdout
