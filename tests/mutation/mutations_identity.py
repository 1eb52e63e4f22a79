"""Deliberate breakages of identity (issue 13, item 5); each must make the named tests fail."""

T = "tests/engine/test_identity.py"

MUTATIONS: list[dict] = [
    {
        "name": "identity-os-user-from-logname",
        "path": "engine/context.py",
        "old": "        return pwd.getpwuid(uid).pw_name",
        "new": "        return os.environ.get('LOGNAME') or pwd.getpwuid(uid).pw_name",
        "tests": [
            f"{T}::test_os_identity_is_the_real_uid_whatever_the_environment_says",
            f"{T}::test_logname_does_not_make_a_non_admin_an_admin",
            f"{T}::test_the_console_acts_as_the_real_uid",
        ],
    },
    {
        "name": "identity-user-may-set-security-settings",
        "path": "engine/settings.py",
        "old": "        if key in SECURITY_SETTINGS:",
        "new": "        if False:",
        "tests": [
            f"{T}::test_user_config_env_and_flags_cannot_set_security_settings",
            f"{T}::test_password_mode_cannot_be_turned_off_by_the_user",
        ],
    },
    {
        "name": "identity-system-config-follows-sadeem-config",
        "path": "engine/settings.py",
        "old": "    path = SYSTEM_CONFIG_PATH\n",
        "new": "    path = Path(os.environ.get('SADEEM_CONFIG') or SYSTEM_CONFIG_PATH)\n",
        "tests": [f"{T}::test_password_mode_cannot_be_turned_off_by_the_user"],
    },
    {
        "name": "identity-system-config-owner-unchecked",
        "path": "engine/settings.py",
        "old": "if st.st_uid != SYSTEM_CONFIG_OWNER or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):",
        "new": "if False:",
        "tests": [f"{T}::test_a_system_config_a_user_could_change_is_refused"],
    },
    {
        "name": "identity-system-config-link-dir-unchecked",
        "path": "engine/settings.py",
        "old": "    for item in dict.fromkeys((real, real.parent, path.parent)):",
        "new": "    for item in dict.fromkeys((real, real.parent)):",
        "tests": [
            f"{T}::test_a_system_config_a_user_could_change_is_refused[symlink in a writable dir]"
        ],
    },
    {
        "name": "identity-dangling-system-config-ignored",
        "path": "engine/settings.py",
        "old": "        if path.is_symlink():",
        "new": "        if False:",
        "tests": [f"{T}::test_an_unreadable_or_odd_system_config_is_refused_not_skipped"],
    },
    {
        "name": "identity-no-dummy-scrypt",
        "path": "engine/passwords.py",
        "old": "        _scrypt(password, _DUMMY_SALT, _N, _R, _P, 32)\n",
        "new": "",
        "tests": [
            f"{T}::test_every_failed_login_costs_one_scrypt",
            f"{T}::test_unknown_user_and_wrong_password_take_about_as_long",
        ],
    },
    {
        "name": "identity-no-lockout",
        "path": "engine/services/users.py",
        "old": "            if len(failures) >= settings.login_max_failures:",
        "new": "            if False:",
        "tests": [
            f"{T}::test_repeated_failures_lock_the_name_even_for_the_right_password",
            f"{T}::test_unknown_names_lock_out_like_real_ones",
        ],
    },
    {
        "name": "identity-success-keeps-failure-count",
        "path": "engine/services/users.py",
        "old": "    if last_ok is not None:",
        "new": "    if False:",
        "tests": [f"{T}::test_a_success_starts_the_count_again"],
    },
    {
        "name": "identity-lockout-window-never-passes",
        "path": "engine/services/users.py",
        "old": "                AuditEvent.at > since,",
        "new": "                AuditEvent.at > since - timedelta(days=365),",
        "tests": [f"{T}::test_repeated_failures_lock_the_name_even_for_the_right_password"],
    },
    {
        "name": "identity-invalid-login-name-audited",
        "path": "engine/services/users.py",
        "old": "        name = username if USERNAME.fullmatch(username) else INVALID_NAME",
        "new": "        name = username",
        "tests": [f"{T}::test_a_name_that_cannot_exist_is_never_written_to_the_trail"],
    },
    {
        "name": "identity-bootstrap-any-uid",
        "path": "engine/services/users.py",
        "old": "        if uid not in (0, owner):",
        "new": "        if False:",
        "tests": [f"{T}::test_bootstrap_needs_a_password_site_root_or_the_data_dir_owner"],
    },
    {
        "name": "identity-bootstrap-after-admin",
        "path": "engine/services/users.py",
        "old": "            if _admin_can_log_in(s):\n                raise Conflict(",
        "new": "            if False:\n                raise Conflict(",
        "tests": [
            f"{T}::test_bootstrap_needs_a_password_site_root_or_the_data_dir_owner",
            f"{T}::test_bootstrap_a_fresh_password_site_from_the_cli",
        ],
    },
    {
        "name": "identity-no-tty-login-falls-back",
        "path": "engine/cli/runtime.py",
        "old": '            os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))',
        "new": "            pass",
        "tests": [
            f"{T}::test_password_mode_cannot_be_turned_off_by_the_user",
            f"{T}::test_bootstrap_a_fresh_password_site_from_the_cli",
        ],
    },
]
