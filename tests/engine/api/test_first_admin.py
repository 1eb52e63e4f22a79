"""On a fresh shared site the platform admin is the engine's own OS account, never whoever
connects first (a shell user on the bastion racing the operator after install)."""

from __future__ import annotations

import json
import sqlite3


def test_the_engine_account_is_the_admin_before_anyone_connects(server):
    # Nobody has called the engine yet (this test asks for no client): the users it knows
    # are read from its database.
    with sqlite3.connect(server.data_dir / "sadeem.db") as db:
        users = dict(db.execute("SELECT username, platform_role FROM users"))
    assert users == {"root": "admin"}  # root runs the engine in this test


def test_a_later_account_is_a_plain_user(server, client_as, second_user):
    code, out, err = client_as(second_user, "user", "whoami", "--json")
    assert code == 0, err
    assert json.loads(out)["platform_role"] == "user"
    code, out, err = client_as(second_user, "workspace", "create", "mine")
    assert code == 4, (code, out, err)  # refused: creating a workspace is an admin's
