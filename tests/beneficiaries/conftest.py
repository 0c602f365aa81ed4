import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded rosters go to a temporary media root."""
    settings.MEDIA_ROOT = tmp_path / "media"
