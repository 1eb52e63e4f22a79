"""Benchmark: `sadeem --help` wall time against `python -c pass` (target: under 150 ms).

Run: python tests/bench/bench_cli_startup.py [--runs 30]
Also collected by `pytest -m bench` (tests/bench/test_bench_cli.py).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def measure(cmd: list[str], runs: int) -> list[float]:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(runs: int = 30) -> dict[str, float]:
    sadeem = shutil.which("sadeem")
    help_cmd = [sadeem, "--help"] if sadeem else [sys.executable, "-m", "engine.cli.main", "--help"]
    base = measure([sys.executable, "-c", "pass"], runs)
    cli = measure(help_cmd, runs)
    figures = {
        "python_pass_median_ms": statistics.median(base),
        "sadeem_help_median_ms": statistics.median(cli),
        "sadeem_help_p90_ms": sorted(cli)[int(0.9 * (runs - 1))],
    }
    figures["overhead_ms"] = figures["sadeem_help_median_ms"] - figures["python_pass_median_ms"]
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    result = report(parser.parse_args().runs)
    for key, value in result.items():
        print(f"{key:28s} {value:8.1f}")
    print(
        "target: sadeem --help median < 150 ms:",
        "met" if result["sadeem_help_median_ms"] < 150 else "NOT met",
    )
