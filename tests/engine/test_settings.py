from pathlib import Path

import pytest

from engine.errors import ValidationError
from engine.settings import load_settings, mask_url


def test_defaults_use_xdg_data_dir(tmp_path: Path):
    settings = load_settings(environ={"XDG_DATA_HOME": str(tmp_path)}, config_file=tmp_path / "x")
    # XDG_DATA_HOME comes from the real environment (autouse fixture), not `environ`.
    assert settings.data_dir.name == "sadeem"
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.is_embedded_db


def test_precedence_flag_over_env_over_file(tmp_path: Path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[sadeem]\nlog_level = "warning"\nmax_concurrent_runs = 2\nauth = "password"\n')
    env = {"SADEEM_LOG_LEVEL": "debug", "SADEEM_MAX_CONCURRENT_RUNS": "3"}
    s = load_settings(environ=env, config_file=cfg)
    assert (s.log_level, s.max_concurrent_runs, s.auth) == ("debug", 3, "password")
    s = load_settings({"max_concurrent_runs": 7}, environ=env, config_file=cfg)
    assert s.max_concurrent_runs == 7
    assert s.log_level == "debug"


def test_bad_values_name_the_setting(tmp_path: Path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("max_concurrent_runs = 'many'\n")
    with pytest.raises(ValidationError, match="max_concurrent_runs"):
        load_settings(environ={}, config_file=cfg)
    cfg.write_text("no_such_setting = 1\n")
    with pytest.raises(ValidationError, match="no_such_setting"):
        load_settings(environ={}, config_file=cfg)
    cfg.write_text("this is [ not toml")
    with pytest.raises(ValidationError, match="invalid TOML"):
        load_settings(environ={}, config_file=cfg)
    with pytest.raises(ValidationError, match="auth"):
        load_settings({"auth": "ldap"}, environ={}, config_file=tmp_path / "none.toml")


def test_masked_hides_secret_key_and_url_password(tmp_path: Path):
    s = load_settings(
        {"secret_key": "k" * 44, "database_url": "postgresql://sadeem:hunter22@db:5432/meta"},
        environ={},
        config_file=tmp_path / "none.toml",
    )
    shown = s.masked()
    assert shown["secret_key"] == "***"
    assert "hunter22" not in str(shown)
    assert shown["database_url"] == "postgresql://sadeem:***@db:5432/meta"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
