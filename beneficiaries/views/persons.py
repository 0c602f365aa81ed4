from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from beneficiaries import services
from beneficiaries.forms import HouseholdForm, PersonEditForm, PersonForm
from beneficiaries.models import Person
from beneficiaries.selectors import (
    person_detail_context,
    person_list_page,
    person_list_rows,
    with_current_category,
)
from beneficiaries.views.access import form_errors, get_person, get_writable
from core import idnumber
from core.listing import Column, Listing
from core.scoping import can_write

PERSON_COLUMNS = [
    Column("name", gettext_lazy("姓名"), ("name",), lambda p: p.name),
    Column("id_number", gettext_lazy("公民身份号码"), (), lambda p: idnumber.mask(p.id_number)),
    Column("sex", gettext_lazy("性别"), ("sex",), lambda p: p.get_sex_display()),
    Column("birth_date", gettext_lazy("出生日期"), ("birth_date",), lambda p: p.birth_date),
    Column("region", gettext_lazy("户籍所在区划"), ("region_id",), lambda p: p.region.name),
    Column(
        "residence", gettext_lazy("城乡属性"), ("residence",), lambda p: p.get_residence_display()
    ),
    Column("category", gettext_lazy("现行身份"), (), lambda p: p.current_category),
    Column("phone", gettext_lazy("联系电话"), ("phone",), lambda p: p.phone),
]


@login_required
@permission_required("beneficiaries.view_person", raise_exception=True)
def person_list(request):
    listing = Listing(request.GET, PERSON_COLUMNS)
    if listing.exporting:
        _filter, rows = person_list_rows(request.user, request.GET, listing)
        return listing.export(
            rows,
            filename="persons",
            sheet_title=_("救助对象"),
            by=request.user,
            request=request,
            prepare=with_current_category,
        )
    person_filter, page = person_list_page(
        request.user, request.GET, request.GET.get("page"), listing=listing
    )
    return render(
        request,
        "beneficiaries/person_list.html",
        {"filter": person_filter, "page": page, "listing": listing, "query": listing.query},
    )


@login_required
@permission_required("beneficiaries.view_person", raise_exception=True)
def person_detail(request, pk: int):
    person = get_person(request, pk)
    context = person_detail_context(person, request.user)
    context["can_write"] = can_write(request.user, person.region_id)
    return render(request, "beneficiaries/person_detail.html", context)


@login_required
@permission_required("beneficiaries.reveal_id_number", raise_exception=True)
@require_POST
def person_reveal(request, pk: int):
    """Show the full ID number once, logged (DOMAIN §8); never in a GET URL."""
    person = get_person(request, pk)
    context = person_detail_context(person, request.user)
    context["can_write"] = can_write(request.user, person.region_id)
    context["revealed_id_number"] = services.id_number_reveal(
        person=person, by=request.user, request=request
    )
    return render(request, "beneficiaries/person_detail.html", context)


@login_required
@permission_required("beneficiaries.add_person", raise_exception=True)
def person_create(request):
    form = PersonForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = services.person_register_with_household(
                id_number=data["id_number"],
                name=data["name"],
                region=data["region"],
                residence=data["residence"],
                phone=data["phone"],
                household_of=data["household_of"],
                relation=data["relation"],
                by=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已登记 %(name)s。") % {"name": person.name})
            return redirect("beneficiaries:person_detail", person.pk)
    return render(
        request,
        "beneficiaries/form.html",
        {"form": form, "title": _("登记人员"), "multipart": False},
    )


@login_required
@permission_required("beneficiaries.change_person", raise_exception=True)
def person_edit(request, pk: int):
    person = get_writable(request, Person.objects.select_related("region"), pk)
    initial = {
        "name": person.name,
        "region": person.region,
        "residence": person.residence,
        "phone": person.phone,
        "relation": person.relation,
    }
    form = PersonEditForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        try:
            services.person_update(person=person, by=request.user, reason=reason, **data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("beneficiaries:person_detail", person.pk)
    return render(
        request,
        "beneficiaries/form.html",
        {"form": form, "title": _("修改人员信息"), "person": person},
    )


@login_required
@permission_required("beneficiaries.change_household", raise_exception=True)
def household_edit(request, pk: int):
    """Create the person's household, or edit its address, size and income."""
    person = get_writable(request, Person.objects.select_related("household"), pk)
    household = person.household
    initial = (
        {
            "address": household.address,
            "members_count": household.members_count,
            "annual_income": household.annual_income,
        }
        if household
        else {"members_count": 1}
    )
    form = HouseholdForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.household_save(person=person, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已保存家庭信息。"))
            return redirect("beneficiaries:person_detail", person.pk)
    return render(
        request,
        "beneficiaries/form.html",
        {"form": form, "title": _("家庭信息"), "person": person},
    )
