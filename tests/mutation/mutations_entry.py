"""Entry-point mutations: the README's first command and what CI runs (issue 12).
The pty test needs the installed `sadeem` to carry the `sadeem.console` entry point."""

T_PTY = "tests/test_entry_point.py::test_sadeem_demo_opens_the_console_on_the_demo_tables"
T_CI = "tests/test_entry_point.py::test_ci_runs_the_readmes_test_command_after_the_gates"

MUTATIONS = [
    {
        # The flag the README's first command passes, no longer defined (as it once was).
        "name": "cli-demo-flag-undefined",
        "path": "engine/cli/main.py",
        "old": '"--demo",',
        "new": '"--no-such-flag",',
        "tests": [T_PTY],
    },
    {
        # The console looked up under another group: `sadeem` would say it is not installed.
        "name": "cli-console-entry-point-lost",
        "path": "engine/cli/runtime.py",
        "old": 'CONSOLE_ENTRY_POINTS = "sadeem.console"',
        "new": 'CONSOLE_ENTRY_POINTS = "sadeem.consoles"',
        "tests": [T_PTY],
    },
    {
        # CI skipping a gate while the README says it runs.
        "name": "ci-mypy-gate-dropped",
        "path": ".ci/run",
        "old": "python3 -m mypy ",
        "new": "true ",
        "tests": [T_CI],
    },
]
