"""One headless Chromium per test module and a fresh tab per test, for the status-page and report tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pagekit import Chromium, Page


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    browser = Chromium()
    yield browser
    browser.close()


@pytest.fixture
def page(chromium: Chromium) -> Iterator[Page]:
    tab = chromium.page()
    yield tab
    tab.close()
