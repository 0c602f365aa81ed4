"""Audit trail: who changed what, when and from where (DOMAIN §8).

Model changes are kept by django-simple-history (`history = case_history()` on each case
model); this module adds the client IP to each historical row and records the actions that
change no model (ID reveals, exports, prints) as AuditEvent rows. `audit_event` is called by
the services and views that make those actions, inside their transaction; it checks no role.
"""

import ipaddress

from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record


def case_history(**kwargs) -> HistoricalRecords:
    """The history descriptor every model holding case data uses."""
    from core.models.audit import HistoricalAuditBase  # the module, not the package: no circle

    return HistoricalRecords(bases=[HistoricalAuditBase], **kwargs)


def client_ip(request) -> str | None:
    """The client's address, trusting X-Forwarded-For only through our own proxies.

    Each of the TRUSTED_PROXY_COUNT reverse proxies in front of the portal appends the address
    it received the request from, so the client is the N-th address from the right; anything
    further left was written by the client and is ignored. With 0 proxies (the default) the
    header is ignored entirely and REMOTE_ADDR is the client. The sign-in lockout (axes) uses
    this same function.
    """
    from django.conf import settings

    if request is None:
        return None
    remote = _valid_ip(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies <= 0 or not forwarded:
        return remote
    # Fewer entries than proxies: every entry came from a trusted proxy; the leftmost is the
    # farthest hop they saw.
    return _valid_ip(forwarded[-min(proxies, len(forwarded))]) or remote


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _add_ip(sender, instance, history_instance, **kwargs):
    request = getattr(HistoricalRecords.context, "request", None)
    if hasattr(history_instance, "ip_address"):
        history_instance.ip_address = client_ip(request)


def connect_signals() -> None:
    pre_create_historical_record.connect(_add_ip, dispatch_uid="core.audit.add_ip")


def audit_event(*, by, action: str, obj=None, request=None, **detail):
    """Record an action that changes no model (e.g. revealing a full ID number)."""
    from core.models.audit import AuditEvent

    return AuditEvent.objects.create(
        user=by,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail,
        ip_address=client_ip(request),
    )
