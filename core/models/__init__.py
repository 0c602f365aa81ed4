from .audit import AuditEvent, HistoricalAuditBase
from .jobs import ChunkedRun, RunChunk
from .policy import Policy, PolicyCategory
from .regions import Region, RegionAlias
from .users import User

__all__ = [
    "AuditEvent",
    "ChunkedRun",
    "HistoricalAuditBase",
    "RunChunk",
    "Policy",
    "PolicyCategory",
    "Region",
    "RegionAlias",
    "User",
]
