"""Fixtures of the monitoring tests (helpers live in monitoring_helpers.py)."""

import pytest
from monitoring_helpers import write_csv

from monitoring.settlements import settlement_import


@pytest.fixture
def settlement_file(tmp_path):
    counter = iter(range(1000))

    def make(rows, header=None, encoding="utf-8", name=None):
        return write_csv(tmp_path / (name or f"s{next(counter)}.csv"), rows, header, encoding)

    return make


@pytest.fixture
def import_rows(settlement_file):
    """Import rows through the real service; fails the test when any row is refused."""

    def run(rows, **kwargs):
        result = settlement_import(path=settlement_file(rows), **kwargs)
        assert not result.errors, result.errors
        return result

    return run


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
