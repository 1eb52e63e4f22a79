"""The thin client on its own: bad --server values, an engine that is not there, the
console refused rather than opened on a database of its own (README, "Shared site")."""

from __future__ import annotations

import os

from engine.cli.main import main


def test_client_errors_without_a_server(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("SADEEM_DATA_DIR", str(data))
    assert main(["--server", "tcp://x", "workspace", "list"]) == 2  # README: invalid input
    assert "unix:/path" in capsys.readouterr().err
    gone = tmp_path / "nobody.sock"
    assert main(["--server", f"unix:{gone}", "workspace", "list"]) == 7  # README: unreachable
    assert "cannot reach the engine" in capsys.readouterr().err
    assert main(["--server", f"unix:{gone}"]) == 7  # the console too: no embedded fallback
    assert "cannot reach the engine" in capsys.readouterr().err
    assert main(["--server", f"unix:{gone}", "--login", "boss", "user", "whoami"]) == 2
    assert not os.path.exists(data)  # nothing opened or created a database here
