from __future__ import annotations

from pathlib import Path

import pytest

from rig import paths
from rig.build import qemu_build
from rig.progress import Progress
from tests import locations

DATA = locations.DATA
GOLDEN = locations.GOLDEN


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def rig_qemu() -> qemu_build.BuiltQemu:
    """The rig's QEMU with the MMU-500 model and its qtest: cached after the first
    `make bench`, built here otherwise (minutes)."""
    return qemu_build.build(paths.cache_root(), Progress(quiet=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests first (in their files' order): under make test's workers the
    long files start at once instead of after the quick ones."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
