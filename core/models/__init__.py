from .audit import AuditEvent, HistoricalAuditBase
from .policy import Policy, PolicyCategory
from .regions import Region, RegionAlias
from .users import User

__all__ = [
    "AuditEvent",
    "HistoricalAuditBase",
    "Policy",
    "PolicyCategory",
    "Region",
    "RegionAlias",
    "User",
]
