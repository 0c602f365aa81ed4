"""The staging statuses have names (StageStatus); the import's bare numbers are the same values."""

from monitoring import importing, pgcopy
from monitoring.models import StageStatus


def test_stage_status_values_are_the_ones_the_import_writes():
    assert [
        importing.NEW,
        importing.INVALID,
        importing.REPEATED,
        importing.CONFLICT,
        importing.SAME,
        importing.NO_TARGET,
        pgcopy.IGNORED,
    ] == [
        StageStatus.NEW,
        StageStatus.INVALID,
        StageStatus.REPEATED,
        StageStatus.CONFLICT,
        StageStatus.SAME,
        StageStatus.NO_TARGET,
        StageStatus.IGNORED,
    ]
