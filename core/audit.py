"""Audit trail: who changed what, when and from where (DOMAIN §8).

Model changes are kept by django-simple-history (`history = case_history()` on each case
model); this module adds the client IP to each historical row and records the actions that
change no model (ID reveals, exports, prints) as AuditEvent rows.
"""

from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record


def case_history(**kwargs) -> HistoricalRecords:
    """The history descriptor every model holding case data uses."""
    from core.models import HistoricalAuditBase

    return HistoricalRecords(bases=[HistoricalAuditBase], **kwargs)


def client_ip(request) -> str | None:
    if request is None:
        return None
    # Behind the reverse proxy of the deployment (README) the client is the first hop.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def _add_ip(sender, instance, history_instance, **kwargs):
    request = getattr(HistoricalRecords.context, "request", None)
    if hasattr(history_instance, "ip_address"):
        history_instance.ip_address = client_ip(request)


def connect_signals() -> None:
    pre_create_historical_record.connect(_add_ip, dispatch_uid="core.audit.add_ip")


def audit_event(*, by, action: str, obj=None, request=None, **detail):
    """Record an action that changes no model (e.g. revealing a full ID number)."""
    from core.models import AuditEvent

    return AuditEvent.objects.create(
        user=by,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail,
        ip_address=client_ip(request),
    )
