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
    cfg.write_text('[sadeem]\nlog_level = "warning"\nmax_concurrent_runs = 2\nread_only = true\n')
    env = {"SADEEM_LOG_LEVEL": "debug", "SADEEM_MAX_CONCURRENT_RUNS": "3"}
    s = load_settings(environ=env, config_file=cfg)
    assert (s.log_level, s.max_concurrent_runs, s.read_only) == ("debug", 3, True)
    s = load_settings({"max_concurrent_runs": 7}, environ=env, config_file=cfg)
    assert s.max_concurrent_runs == 7
    assert s.log_level == "debug"


def test_bad_values_name_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
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
    system = tmp_path / "system.toml"  # security settings live in the system config only
    system.write_text('auth = "ldap"\n')
    system.chmod(0o644)
    monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_PATH", system)
    with pytest.raises(ValidationError, match="auth"):
        load_settings(environ={}, config_file=tmp_path / "none.toml")


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


def test_a_keymap_table_beside_sadeem_rebinds_console_keys(tmp_path):
    """README "Configuration": `[keymap]` gives a binding id other keys."""
    config = tmp_path / "config.toml"
    config.write_text('[sadeem]\nlog_level = "info"\n\n[keymap]\n"jobs.run" = "ctrl+r"\n')
    settings = load_settings(environ={}, config_file=config)
    assert dict(settings.keymap) == {"jobs.run": "ctrl+r"}
    env = load_settings(environ={"SADEEM_KEYMAP": "runs.cancel=C;jobs.run=x"}, config_file=config)
    assert dict(env.keymap) == {"runs.cancel": "C", "jobs.run": "x"}


def test_a_keymap_that_is_not_a_table_of_keys_is_refused_by_name(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[sadeem]\nlog_level = "info"\n\n[keymap]\n"jobs.run" = 3\n')
    with pytest.raises(ValidationError) as refused:
        load_settings(environ={}, config_file=config)
    assert refused.value.field == "keymap"


def _config_show_as_other_account(env: dict[str, str]) -> tuple[int, str, str]:
    """`sadeem config show` as an account the file modes apply to: this one unless it is
    root (whom no mode stops), else `nobody` in a forked child (imports warmed up first)."""
    import contextlib
    import io
    import os

    from engine.cli.main import main

    if os.geteuid() != 0:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["config", "show"])
        return code, out.getvalue(), err.getvalue()
    import pwd

    from tests.engine.api.conftest import OsUser, _in_process, as_user

    _in_process(main, ["config", "show"])  # warm-up: argparse, gettext, output modules
    nobody = pwd.getpwnam("nobody")
    user = OsUser("nobody", nobody.pw_uid, nobody.pw_gid)
    return as_user(user, lambda: main(["config", "show"]), env)


def test_an_unreadable_config_is_one_line_exit_2_not_an_internal_error():
    """README (CLI exit codes): a config.toml the user cannot read, or whose directory they
    cannot enter, is invalid input (exit 2) named in one line; never the defaults instead."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="sadeem-cfg-", dir="/tmp"))
    try:
        base.chmod(0o755)
        conf_dir = base / "config" / "sadeem"
        conf_dir.mkdir(parents=True)
        (base / "config").chmod(0o755)
        conf = conf_dir / "config.toml"
        conf.write_text('[sadeem]\nlog_level = "warning"\n')
        env = {"XDG_CONFIG_HOME": str(base / "config"), "SADEEM_DATA_DIR": str(base / "d")}

        conf_dir.chmod(0o755)
        conf.chmod(0o644)
        code, out, err = _config_show_as_other_account(env)
        assert code == 0 and "warning" in out, err  # readable: read

        conf.chmod(0o000)  # the file
        code, out, err = _config_show_as_other_account(env)
        assert code == 2, err
        assert err.strip().splitlines() == [err.strip()]
        assert str(conf) in err and "cannot read the config" in err and "internal" not in err

        conf.chmod(0o644)
        conf_dir.chmod(0o000)  # its directory, which nobody may enter
        code, out, err = _config_show_as_other_account(env)
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and "cannot read the config" in err
        assert out == ""
    finally:
        for p in (base / "config" / "sadeem",):
            p.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
