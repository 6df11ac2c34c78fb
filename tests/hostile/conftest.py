"""Fixtures of the hostile-input tests: a loopback listener, a watched sentinel file and the
200 MB-class files (generated once per session into a temporary folder, never into git)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.hostile import corpus
from tests.hostile.helpers import ConnectionCounter, OpenWatch

# 8165 x 8165 x 3 bytes: a 200 MB file, as the largest design files are.
LARGE_SIDE = 8165


@pytest.fixture
def listener() -> Iterator[ConnectionCounter]:
    with ConnectionCounter() as counter:
        yield counter


@dataclass(frozen=True)
class Sentinel:
    """A red PNG outside any bucket; `watch` reports every open or read of it."""

    path: Path
    watch: OpenWatch


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[Sentinel]:
    path = tmp_path / "secret.png"
    Image.new("RGB", (64, 64), (255, 0, 0)).save(path)
    watch = OpenWatch(path)
    yield Sentinel(path, watch)
    watch.close()


@pytest.fixture(scope="session")
def large_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 200 MB noise PNG (stored deflate) and a 200 MB uncompressed TIFF."""
    folder = tmp_path_factory.mktemp("large")
    paths = {"png": folder / "poster-200mb.png", "tiff": folder / "print-master-200mb.tif"}
    with paths["png"].open("wb") as out:
        corpus.write_png_noise(out, LARGE_SIDE, LARGE_SIDE, seed=1)
    with paths["tiff"].open("wb") as out:
        corpus.write_tiff_rgb(out, LARGE_SIDE, LARGE_SIDE, seed=2)
    return paths
