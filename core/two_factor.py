"""The second sign-in factor (DOMAIN §8, 等保2.0 level 3): TOTP app plus recovery codes.

Also the service module of the second factor: enrolling (`second_factor_enrol`), verifying
and resetting (`second_factor_reset`) a user's devices and recovery codes are written only here.

Supervisors, fund accountants and admins (and any staff or superuser account) must verify a
second factor in each session before any page other than enrolment, verification and logout
(core.middleware.SecondFactorMiddleware; Django admin through core.admin_site); everyone else
may enrol. Devices are django-otp's: one confirmed TOTPDevice (the authenticator app) and one
StaticDevice whose tokens are the one-time recovery codes.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit import audit_event
from core.roles import GROUP_NAMES, Role

PRIVILEGED_ROLES = (Role.SUPERVISOR, Role.ACCOUNTANT, Role.ADMIN)
RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery"


def second_factor_required(user) -> bool:
    """Whether this account may not work without a verified second factor."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_second_factor_required", None)
    if cached is None:
        # asked by the middleware and the navigation of one request: one query
        names = [GROUP_NAMES[role] for role in PRIVILEGED_ROLES]
        cached = user.groups.filter(name__in=names).exists()
        user._second_factor_required = cached
    return cached


def demo_user_exempt(user) -> bool:
    """The seed_demo accounts skip the second factor, and only while DEMO_MODE is set."""
    if not settings.DEMO_MODE:
        return False
    from core.management.commands.seed_demo import DEMO_USERNAMES

    return user.get_username() in DEMO_USERNAMES


def second_factor_satisfied(user) -> bool:
    if not second_factor_required(user):
        return True
    if getattr(user, "is_verified", None) and user.is_verified():
        return True
    return demo_user_exempt(user)


def confirmed_totp_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def totp_device_for_enrolment(user) -> TOTPDevice:
    """The unconfirmed device whose secret the enrolment page shows (made on first visit)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def second_factor_enrol(*, user, token: str, request) -> list[str]:
    """Confirm the user's new authenticator with a code from it; return fresh recovery codes.

    The codes are returned once, for the page to show; afterwards only django-otp's static
    device can check them, and each works once. A user who already has a confirmed
    authenticator cannot enrol another one here (an admin resets it first).
    """
    with transaction.atomic():
        if TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).exists():
            raise ValidationError(_("您已启用双因素认证；如需更换手机，请联系管理员重置。"))
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not device.verify_token(token.strip()):
            raise ValidationError(_("验证码不正确，请确认手机时间准确后重新输入。"))
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        StaticDevice.objects.filter(user=user).delete()
        recovery = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
    otp_login(request, device)
    return codes


def second_factor_verify(*, user, token: str, request):
    """Check a code from the authenticator or a recovery code; mark the session verified.

    Returns the device that accepted it. A recovery code is used up. Wrong codes are
    throttled by django-otp (each failure doubles the wait before the next try).
    """
    token = token.strip().replace(" ", "").lower()
    # A 6-digit code is the authenticator's, anything else a recovery code: trying one kind
    # against the other's device would only add to that device's throttle.
    if token.isdigit() and len(token) == 6:
        devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    else:
        devices = list(StaticDevice.objects.filter(user=user, confirmed=True))
    throttled = False
    for device in devices:
        if not device.verify_is_allowed()[0]:
            throttled = True
            continue
        if verify_token(user, device.persistent_id, token) is not None:
            otp_login(request, device)
            return device
    if throttled:
        raise ValidationError(_("验证码错误次数过多，请稍等片刻再试。"))
    raise ValidationError(_("验证码不正确，请重新输入。"))


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def second_factor_reset(*, user, by, request=None) -> None:
    """Remove a user's authenticator and recovery codes (a lost phone), with an audit row.

    The user enrols again at their next sign-in. Only this function removes devices: the
    django-otp device models are not editable in Django admin.
    """
    from core.models import AuditEvent

    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).count()
        removed += StaticDevice.objects.filter(user=user).count()
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_event(
            by=by,
            action=AuditEvent.Action.SECOND_FACTOR_RESET,
            obj=user,
            request=request,
            username=user.get_username(),
            devices_removed=removed,
        )


def qr_code_svg(data: str) -> str:
    """The enrolment QR code as inline SVG markup (no inline style, so CSP-safe)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=8)
    return image.to_string(encoding="unicode")


def verify_test_client_session(client, user) -> None:
    """Mark a django.test.Client session as past the second factor (tests and benchmarks).

    What the verify page does for a person, for code that signs in with `force_login`:
    a confirmed authenticator for the user, and its id in the session.
    """
    from django_otp import DEVICE_ID_SESSION_KEY

    user.__dict__.pop("_second_factor_required", None)  # roles may have changed since
    if not second_factor_required(user):
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test-client", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
