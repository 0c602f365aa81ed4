"""Writes on persons, households, identities and enrollments. Every change goes through one of
these functions (`by=` is the acting user); rosters live in `roster.py`, subsidies in
`subsidies.py`."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from beneficiaries.models import Enrollment, Household, Identity, Person
from claims import corrections
from core import idnumber
from core.audit import audit_event
from core.choices import Department
from core.models import AuditEvent
from core.scoping import can_write, check_allowed, scoped

# `by` is required on every write here. A user is checked by the service itself (role and
# writable region, DOMAIN §8), whatever the view checked; `by=None` is the system (the
# `import_roster` command and the demo seed, run from the server's shell) and is always
# passed explicitly.


def _check(by, perm: str, *region_codes: str | None) -> None:
    if by is None:
        return
    codes = [code for code in region_codes if code is not None]
    check_allowed(by, perm, codes[0] if codes else None)
    for code in codes[1:]:
        check_allowed(by, perm, code)


def _code(region) -> str | None:
    return None if region is None else getattr(region, "code", region)


def id_number_message(exc: idnumber.InvalidIdNumber) -> str:
    """The translatable message for an invalid ID number (core.idnumber gives plain Chinese)."""
    if exc.message == idnumber.MESSAGES["birth_date_future"]:
        return _("出生日期晚于今天")
    messages = {
        "length": _("身份证号码应为18位"),
        "chars": _("身份证号码只能包含数字，最后一位可以是X"),
        "birth_date": _("出生日期无效"),
        "check_digit": _("校验码错误"),
    }
    return messages.get(exc.code, exc.message)


def person_register(
    *,
    id_number: str,
    name: str,
    region,
    by,
    phone: str = "",
    residence: str = Person.Residence.URBAN,
    household=None,
    relation: str = "",
) -> Person:
    """Register a person; sex and birth date come from the ID number (DOMAIN §8).

    Invariant: one person per ID number (a duplicate is refused, not merged).
    """
    _check(by, "beneficiaries.add_person", _code(region))
    try:
        number = idnumber.validate(id_number)
    except idnumber.InvalidIdNumber as exc:
        raise ValidationError({"id_number": id_number_message(exc)}) from exc
    if not name or not name.strip():
        raise ValidationError({"name": _("请填写姓名。")})
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


def person_update(
    *,
    person: Person,
    by,
    reason: str = "",
    **changes,
) -> Person:
    """Change a person's name, phone, household region, residence, household or relation.

    The ID number (and so sex and birth date) is not changed here: a wrong number is a
    different person.
    """
    allowed = {"name", "phone", "region", "residence", "household", "relation"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"person_update cannot change {sorted(unknown)}")
    # The person's region now, and the one they move to.
    _check(by, "beneficiaries.change_person", person.region_id, _code(changes.get("region")))

    def differs(field, value) -> bool:
        if field in ("region", "household"):  # compare keys: no query per person
            return getattr(person, f"{field}_id") != (value.pk if value is not None else None)
        return getattr(person, field) != value

    fields = [field for field, value in changes.items() if differs(field, value)]
    if not fields:
        return person
    for field in fields:
        value = changes[field]
        setattr(person, field, value.strip() if isinstance(value, str) else value)
    person.full_clean(exclude=["id_number"])
    person._history_user = by
    if reason:
        person._change_reason = reason[:100]
    person.save(update_fields=[*fields, "updated_at"])
    return person


def household_create(
    *, region, by, address: str = "", members_count: int = 1, annual_income=None
) -> Household:
    _check(by, "beneficiaries.add_household", _code(region))
    household = Household(
        region=region,
        address=address.strip(),
        members_count=members_count,
        annual_income=annual_income,
    )
    household.full_clean()
    household._history_user = by
    household.save()
    return household


def household_update(*, household: Household, by, **changes) -> Household:
    """Change a household's address, size or income (history keeps the old values)."""
    _check(by, "beneficiaries.change_household", household.region_id)
    allowed = {"address", "members_count", "annual_income"}
    if set(changes) - allowed:
        raise ValueError(f"household_update cannot change {sorted(set(changes) - allowed)}")
    fields = [f for f, v in changes.items() if getattr(household, f) != v]
    if not fields:
        return household
    for field in fields:
        setattr(household, field, changes[field])
    household.full_clean()
    household._history_user = by
    household.save(update_fields=fields)
    return household


def household_add_member(*, household: Household, person: Person, by, relation: str = "") -> Person:
    """Put `person` into `household`; the member count grows to at least the members known."""
    _check(by, "beneficiaries.change_household", household.region_id)
    with transaction.atomic():
        household = Household.objects.select_for_update().get(pk=household.pk)
        person_update(person=person, household=household, relation=relation, by=by)
        known = household.members.count()
        if household.members_count < known:
            household.members_count = known
            household._history_user = by
            household.save(update_fields=["members_count"])
    return person


def _person_by_id_number(by, text: str, field: str) -> Person | None:
    """The registered person with ID number `text` that `by` may see (None: not found)."""
    try:
        number = idnumber.validate(text)
    except idnumber.InvalidIdNumber as exc:
        raise ValidationError({field: id_number_message(exc)}) from exc
    people = Person.objects.select_related("household")
    if by is not None:
        people = scoped(people, by)
    return people.filter(id_number=number).first()


def _household_of(by, text: str) -> Household:
    """The household of the registered person with ID number `text` (created if needed)."""
    member = _person_by_id_number(by, text, "household_of")
    if member is None:
        raise ValidationError({"household_of": _("本辖区未登记该身份证号码的人员。")})
    if member.household is None:
        household = household_create(region=member.region, by=by)
        household_add_member(household=household, person=member, relation=_("户主"), by=by)
        member.refresh_from_db()
    return member.household


def person_register_with_household(
    *, by, household_of: str = "", relation: str = "", **person_fields
) -> Person:
    """Register a person and, if `household_of` is the ID number of a registered person of
    the user's region, put them into that person's household (created, with that person as
    户主, if they have none).

    Invariant: one transaction: a refused household leaves no person (and no household) behind.
    """
    _check(by, "beneficiaries.add_person", _code(person_fields.get("region")))
    with transaction.atomic():
        household = _household_of(by, household_of) if household_of else None
        person = person_register(by=by, **person_fields)
        if household is not None:
            household_add_member(household=household, person=person, relation=relation, by=by)
    return person


def household_save(
    *, person: Person, by, add_member: str = "", add_member_relation: str = "", **fields
) -> Household:
    """Create `person`'s household (they become 户主) or change its address, size and income;
    and, if `add_member` is the ID number of a person `by` may change, add them to it.

    Invariant: one transaction: a refused member leaves the household as it was.
    """
    _check(by, "beneficiaries.change_household", person.region_id)
    with transaction.atomic():
        household = person.household
        if household is None:
            household = household_create(region=person.region, by=by, **fields)
            household_add_member(household=household, person=person, relation=_("户主"), by=by)
        else:
            household = household_update(household=household, by=by, **fields)
        if add_member:
            member = _person_by_id_number(by, add_member, "add_member")
            if member is None or (by is not None and not can_write(by, member.region_id)):
                raise ValidationError({"add_member": _("本辖区未登记该身份证号码的人员。")})
            household_add_member(
                household=household, person=member, relation=add_member_relation, by=by
            )
    return household


def _overlapping(person: Person, category: str, start: date, end: date | None, exclude=None):
    clash = Identity.objects.filter(person=person, category=category).overlapping(start, end)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    return clash


def identity_grant(
    *,
    person: Person,
    category: str,
    start: date,
    region,
    by,
    end: date | None = None,
    department: str = Department.CIVIL_AFFAIRS,
    document: str = "",
    reason: str = "",
) -> Identity:
    """Grant an identity. Invariant (DOMAIN §3): no two overlapping identities of one category."""
    _check(by, "beneficiaries.add_identity", person.region_id, _code(region))
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
        if reason:
            identity._change_reason = reason[:100]
        identity.save()
        corrections.note_identity_change(
            person.pk, None, (category, start, end), identity_id=identity.pk
        )
    return identity


def identity_change(
    *,
    identity: Identity,
    by,
    reason: str,
    start: date | None = None,
    end: date | None = None,
    clear_end: bool = False,
    region=None,
    document: str | None = None,
) -> Identity:
    """Correct an identity's dates, region or document, keeping history with the reason.

    Invariant (DOMAIN §3): the new period overlaps no other identity of the same category.
    """
    _check(by, "beneficiaries.change_identity", identity.person.region_id, _code(region))
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("请填写变更原因。")})
    with transaction.atomic():
        Person.objects.select_for_update().get(pk=identity.person_id)
        identity = Identity.objects.select_for_update().get(pk=identity.pk)
        new = {
            "start": start if start is not None else identity.start,
            "end": None if clear_end else (end if end is not None else identity.end),
            "region": region if region is not None else identity.region,
            "document": document if document is not None else identity.document,
        }
        if new["end"] is not None and new["end"] < new["start"]:
            raise ValidationError({"end": _("终止日期不能早于认定日期。")})
        if _overlapping(
            identity.person, identity.category, new["start"], new["end"], exclude=identity
        ).exists():
            raise ValidationError({"start": _("该人员已有同一类别且期间重叠的救助身份。")})
        fields = [field for field, value in new.items() if getattr(identity, field) != value]
        if not fields:
            return identity
        corrections.note_identity_change(
            identity.person_id,
            (identity.category, identity.start, identity.end),
            (identity.category, new["start"], new["end"]),
            identity_id=identity.pk,
        )
        for field in fields:
            setattr(identity, field, new[field])
        identity._history_user = by
        identity._change_reason = reason.strip()[:100]
        identity.save(update_fields=fields)
    return identity


def identity_terminate(*, identity: Identity, end: date, reason: str, by) -> Identity:
    """End an identity; coverage runs to the end of that month (P §15)."""
    _check(by, "beneficiaries.change_identity", identity.person.region_id)
    if not reason.strip():
        raise ValidationError({"end_reason": _("请填写终止原因。")})
    if end < identity.start:
        raise ValidationError({"end": _("终止日期不能早于认定日期。")})
    with transaction.atomic():
        identity = Identity.objects.select_for_update().get(pk=identity.pk)
        if identity.end is not None and identity.end <= end:
            raise ValidationError({"end": _("该身份已于 %(end)s 终止。") % {"end": identity.end}})
        corrections.note_identity_change(
            identity.person_id,
            (identity.category, identity.start, identity.end),
            (identity.category, identity.start, end),
            identity_id=identity.pk,
        )
        identity.end = end
        identity.end_reason = reason.strip()
        identity._history_user = by
        identity._change_reason = reason.strip()[:100]
        identity.save(update_fields=["end", "end_reason"])
    return identity


def enrollment_record(
    *,
    person: Person,
    year: int,
    scheme: str,
    area,
    by,
    paid_how: str = Enrollment.PaidHow.SELF,
    paid_date: date | None = None,
    benefit_start: date | None = None,
    note: str = "",
) -> Enrollment:
    """Record an insurance enrollment of a person for a year (DOMAIN §5).

    A second enrollment for the same year is recorded, not refused: it is the duplicate
    enrollment (重复参保) the monthly check reports.
    """
    _check(by, "beneficiaries.add_enrollment", person.region_id)
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": _("参保年度无效。")})
    if benefit_start is not None and benefit_start.year not in (year - 1, year):
        raise ValidationError({"benefit_start": _("待遇享受期起始日应在参保年度内。")})
    enrollment = Enrollment(
        person=person,
        year=year,
        scheme=scheme,
        area=area,
        paid_how=paid_how,
        paid_date=paid_date,
        benefit_start=benefit_start,
        note=note.strip(),
        created_by=by,
    )
    enrollment.full_clean()
    enrollment._history_user = by
    enrollment.save()
    return enrollment


def id_number_reveal(*, person: Person, by, request=None) -> str:
    """The full ID number of `person`; every reveal is logged (DOMAIN §8)."""
    audit_event(by=by, action=AuditEvent.Action.REVEAL_ID, obj=person, request=request)
    return person.id_number


def day_before(day: date) -> date:
    return day - timedelta(days=1)
