"""Writes on persons and identities. Every change goes through one of these functions."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from beneficiaries.models import Identity, Person
from core import idnumber
from core.choices import Department


def person_register(
    *,
    id_number: str,
    name: str,
    region,
    by=None,
    phone: str = "",
    residence: str = Person.Residence.URBAN,
    household=None,
    relation: str = "",
) -> Person:
    """Register a person; sex and birth date come from the ID number (DOMAIN §8).

    Invariant: one person per ID number (a duplicate is refused, not merged).
    """
    try:
        number = idnumber.validate(id_number)
    except idnumber.InvalidIdNumber as exc:
        raise ValidationError({"id_number": str(exc)}) from exc
    if Person.objects.filter(id_number=number).exists():
        raise ValidationError({"id_number": _("该身份证号码已登记。")})
    person = Person(
        id_number=number,
        name=name.strip(),
        sex=idnumber.sex(number),
        birth_date=idnumber.birth_date(number),
        region=region,
        phone=phone.strip(),
        residence=residence,
        household=household,
        relation=relation,
    )
    person.full_clean()
    person._history_user = by
    person.save()
    return person


def _overlapping(person: Person, category: str, start: date, end: date | None, exclude=None):
    clash = Identity.objects.filter(person=person, category=category)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    clash = clash.filter(Q(end__isnull=True) | Q(end__gte=start))
    if end is not None:
        clash = clash.filter(start__lte=end)
    return clash


def identity_grant(
    *,
    person: Person,
    category: str,
    start: date,
    region,
    by=None,
    end: date | None = None,
    department: str = Department.CIVIL_AFFAIRS,
    document: str = "",
) -> Identity:
    """Grant an identity. Invariant (DOMAIN §3): no two overlapping identities of one category."""
    if end is not None and end < start:
        raise ValidationError({"end": _("终止日期不能早于认定日期。")})
    with transaction.atomic():
        # Lock the person so two grants for one person cannot both pass the overlap check.
        Person.objects.select_for_update().get(pk=person.pk)
        if _overlapping(person, category, start, end).exists():
            raise ValidationError({"start": _("该人员已有同一类别且期间重叠的救助身份。")})
        identity = Identity(
            person=person,
            category=category,
            start=start,
            end=end,
            region=region,
            department=department,
            document=document,
            created_by=by,
        )
        identity.full_clean()
        identity._history_user = by
        identity.save()
    return identity


def identity_terminate(*, identity: Identity, end: date, reason: str, by=None) -> Identity:
    """End an identity; coverage runs to the end of that month (P §15)."""
    if not reason.strip():
        raise ValidationError({"end_reason": _("请填写终止原因。")})
    if end < identity.start:
        raise ValidationError({"end": _("终止日期不能早于认定日期。")})
    with transaction.atomic():
        identity = Identity.objects.select_for_update().get(pk=identity.pk)
        if identity.end is not None and identity.end <= end:
            raise ValidationError({"end": _("该身份已于 %(end)s 终止。") % {"end": identity.end}})
        identity.end = end
        identity.end_reason = reason.strip()
        identity._history_user = by
        identity.save(update_fields=["end", "end_reason"])
    return identity


def day_before(day: date) -> date:
    return day - timedelta(days=1)
