"""Sign-in lockout (DOMAIN §8): django-axes counts the failures; this module adds the audit
row and the Chinese lockout page."""

from django.conf import settings
from django.shortcuts import render

from core.audit import audit_event


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets (AXES_LOCKOUT_CALLABLE), in the portal layout."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "registration/lockout.html", context, status=429)


def record_lockout(sender, request, username, ip_address, **kwargs):
    """One audit row when a failure starts a lockout (axes' user_locked_out signal).

    Axes also sends the signal for every refused attempt during the lockout; those carry no
    new failure count (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is off) and are not
    repeated in the audit trail.
    """
    from core.models import AuditEvent, User

    if getattr(request, "axes_failures_since_start", None) is None:
        return
    user = User.objects.filter(username=username).first() if username else None
    audit_event(
        by=None,
        action=AuditEvent.Action.LOGIN_LOCKOUT,
        obj=user,
        request=request,
        username=username or "",
        failures=request.axes_failures_since_start,
        minutes=int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    )


def connect_signals() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(record_lockout, dispatch_uid="core.signin.record_lockout")
