"""Function-based views of the beneficiaries app, split by noun."""

from .identities import enrollment_create, identity_change, identity_create, identity_terminate
from .persons import (
    household_edit,
    person_create,
    person_detail,
    person_edit,
    person_list,
    person_reveal,
)
from .rosters import roster_apply, roster_demo_file, roster_detail, roster_list, roster_upload
from .subsidies import (
    subsidy_batch_confirm,
    subsidy_batch_create,
    subsidy_batch_detail,
    subsidy_batch_export,
    subsidy_batch_list,
)

__all__ = [
    "enrollment_create",
    "household_edit",
    "identity_change",
    "identity_create",
    "identity_terminate",
    "person_create",
    "person_detail",
    "person_edit",
    "person_list",
    "person_reveal",
    "roster_apply",
    "roster_demo_file",
    "roster_detail",
    "roster_list",
    "roster_upload",
    "subsidy_batch_confirm",
    "subsidy_batch_create",
    "subsidy_batch_detail",
    "subsidy_batch_export",
    "subsidy_batch_list",
]
