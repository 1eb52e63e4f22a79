"""Console fixtures: a real engine on a temp data dir with the demo workspace built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.app import open_engine
from engine.context import Actor
from engine.settings import Settings

ANA = Actor("ana", "tui")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo-template")
    svc = open_engine(Settings(data_dir=path))
    svc.users.register(ANA)
    svc.demo.run(ANA, "demo")
    svc.close()
    return path


@pytest.fixture
def services(demo_template, tmp_path):
    """A private copy of the demo data dir (tests change it)."""
    data = tmp_path / "data"
    shutil.copytree(demo_template, data)
    svc = open_engine(Settings(data_dir=data))
    yield svc
    svc.close()


@pytest.fixture
def make_app(services):
    from tui.app import SadeemApp

    def make(**kwargs):
        return SadeemApp(services, ANA, kwargs.pop("workspace", "demo"), **kwargs)

    return make
