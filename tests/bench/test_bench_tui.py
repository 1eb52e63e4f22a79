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


@pytest.mark.bench
def test_completion_and_catalog_tree_at_scale():
    from tests.bench.bench_catalog import print_report, report

    figures = report([10, 2000], runs=3)
    print_report(figures)
    # Figures, not targets; the runs must have listed what was built.
    assert figures["completion_now"][2000]["names"] == 3 + 2000
    assert figures["completion_before"][10]["names"] == 3 + 10 + 10  # and each table's column
