"""Console fixtures: a real engine on a temp data dir with the demo workspace built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.context import Actor
from engine.settings import Settings
from engine.wiring import open_services

ANA = Actor("ana", "tui")


@pytest.fixture(scope="session")
def demo_paths(tmp_path_factory) -> tuple[Path, Path]:
    """(live, pristine): the demo is built at `live` and kept as `pristine`. Each test gets
    `live` back as it was: the catalog holds absolute file paths, and the embedded engine
    reads only files under the workspace's own prefix, so a copy elsewhere would not do."""
    base = tmp_path_factory.mktemp("demo")
    live, pristine = base / "live", base / "pristine"
    svc = open_services(Settings(data_dir=live))
    svc.users.register(ANA)
    svc.demo.run(ANA, "demo")
    svc.close()
    shutil.copytree(live, pristine)
    return live, pristine


@pytest.fixture
def services(demo_paths):
    """The demo data dir as it was built (tests change it)."""
    live, pristine = demo_paths
    shutil.rmtree(live)
    shutil.copytree(pristine, live)
    svc = open_services(Settings(data_dir=live))
    yield svc
    svc.close()


@pytest.fixture
def make_app(services):
    from tui.app import SadeemApp

    def make(**kwargs):
        return SadeemApp(services, ANA, kwargs.pop("workspace", "demo"), **kwargs)

    return make
