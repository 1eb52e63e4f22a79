"""The demo's Kubernetes path, checked offline: the script parses, the job compiles."""

import py_compile
import subprocess
from pathlib import Path

K8S = Path(__file__).resolve().parents[2] / "demo" / "k8s"


def test_run_demo_script_parses():
    result = subprocess.run(
        ["bash", "-n", str(K8S / "run-demo.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_bronze_ingest_compiles(tmp_path):
    py_compile.compile(str(K8S / "bronze_ingest.py"), cfile=str(tmp_path / "x.pyc"), doraise=True)
