"""Beneficiary data: persons and households, identities, enrollments and subsidies, rosters."""

from .enrollments import Enrollment, Subsidy, SubsidyBatch
from .identities import Identity, IdentityQuerySet, coverage_end
from .persons import Household, Person
from .rosters import RosterBatch, RosterLine, RosterPreviewRow

__all__ = [
    "Enrollment",
    "Household",
    "Identity",
    "IdentityQuerySet",
    "Person",
    "RosterBatch",
    "RosterLine",
    "RosterPreviewRow",
    "Subsidy",
    "SubsidyBatch",
    "coverage_end",
]
