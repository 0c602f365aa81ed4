"""Sign-in pages beyond Django's login: second-factor enrolment and verification, password
change (DOMAIN §8)."""

from base64 import b32encode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import two_factor


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("验证码"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
    )


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@login_required
def two_factor_enrol(request):
    user = request.user
    if two_factor.confirmed_totp_device(user):
        if not user.is_verified():
            return redirect(f"{resolve_url('two_factor_verify')}?{request.GET.urlencode()}")
        return render(
            request,
            "registration/two_factor_enrol.html",
            {"enrolled": True, "codes_left": two_factor.recovery_codes_left(user)},
        )
    device = two_factor.totp_device_for_enrolment(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.second_factor_enrol(
                user=user, token=form.cleaned_data["token"], request=request
            )
        except ValidationError as error:
            form.add_error("token", error)
        else:
            # Shown this once; afterwards only their count is visible.
            return render(
                request,
                "registration/two_factor_recovery_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
    return render(
        request,
        "registration/two_factor_enrol.html",
        {
            "form": form,
            "secret": _grouped(b32encode(device.bin_key).decode()),
            "qr_svg": two_factor.qr_code_svg(device.config_url),
            "next": _next_url(request),
            "required": two_factor.second_factor_required(user),
        },
    )


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
def two_factor_verify(request):
    user = request.user
    if not two_factor.confirmed_totp_device(user):
        return redirect(f"{resolve_url('two_factor_enrol')}?{request.GET.urlencode()}")
    if user.is_verified():
        return redirect(_next_url(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.second_factor_verify(
                user=user, token=form.cleaned_data["token"], request=request
            )
        except ValidationError as error:
            form.add_error("token", error)
        else:
            if device.persistent_id.startswith("otp_static."):
                messages.warning(
                    request,
                    _("已使用一个恢复码，剩余 %(n)d 个。恢复码用完前请联系管理员重置双因素认证。")
                    % {"n": two_factor.recovery_codes_left(user)},
                )
            return redirect(_next_url(request))
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"
