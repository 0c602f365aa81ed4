"""Claims pages: intake, bills, assessment, approval queue, payment, approval-form PDFs.

Each view opens with one access helper (another region's record is a 404) and calls a service
for every change; a service's ValidationError is shown on the form, in Chinese.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from beneficiaries.models import Person
from beneficiaries.selectors import cheap_page, visible_regions
from claims import bills, selectors, services
from claims.confirmations import application_confirmations
from claims.forms import (
    ApplicationForm,
    AttachmentForm,
    BillForm,
    DecisionForm,
    PaymentForm,
    StartForm,
    WithdrawForm,
)
from claims.models import Application, Attachment, Bill
from claims.pdfscan import pdf_has_active_content
from core import idnumber
from core.listing import Column, Listing
from core.scoping import can_write, scoped


def _get_application(request, pk: int) -> Application:
    return get_object_or_404(selectors.applications_for(request.user), pk=pk)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = name if name in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def _flash_error(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- Lists ----------------------------------------------------------------------------------


APPLICATION_COLUMNS = [
    Column("number", _l("编号"), ("form_number",), lambda a: a.form_number or f"#{a.pk}"),
    Column("person", _l("申请人"), ("person__name",), lambda a: a.person.name),
    Column("id_number", _l("公民身份号码"), (), lambda a: idnumber.mask(a.person.id_number)),
    Column("region", _l("区划"), ("person__region_id",), lambda a: a.person.region.name),
    Column("kind", _l("类型 / 渠道"), ("kind", "channel"), lambda a: a.get_kind_display()),
    Column("channel", _l("受理渠道"), (), lambda a: a.get_channel_display()),
    Column("received", _l("受理日期"), ("received_on",), lambda a: a.received_on),
    Column("days", _l("已办理（工作日）"), (), lambda a: a.days_open, "text-end"),
    Column("status", _l("状态"), ("status",), lambda a: a.get_status_display()),
    Column("total", _l("救助金额（元）"), ("total",), lambda a: a.total, "text-end"),
    Column("prepared_by", _l("经办人"), ("prepared_by__name",), lambda a: str(a.prepared_by)),
]


def _list(request, *, queue: bool):
    params = request.GET.copy()
    if queue:
        params["status"] = Application.Status.SUBMITTED
    listing = Listing(request.GET, APPLICATION_COLUMNS)
    rows = listing.sort(selectors.application_list(request.user, params))
    if listing.exporting:
        return listing.export(
            rows,
            filename="queue" if queue else "applications",
            sheet_title=_("待审批申请") if queue else _("救助申请"),
            by=request.user,
            request=request,
            prepare=selectors.annotate_processing,
        )
    page = cheap_page(rows, request.GET.get("page"), per_page=30)
    selectors.annotate_processing(page.object_list)
    return render(
        request,
        "claims/index.html",
        {
            "page": page,
            "queue": queue,
            "params": params,
            "listing": listing,
            "query": listing.query,
            "counts": selectors.status_counts(request.user),
            "statuses": Application.Status.choices,
            "channels": Application.Channel.choices,
            "regions": visible_regions(request.user),
            "start_form": StartForm(),
        },
    )


@login_required
@permission_required("claims.view_application", raise_exception=True)
def index(request):
    return _list(request, queue=False)


@login_required
@permission_required("claims.view_application", raise_exception=True)
def queue(request):
    """Applications awaiting approval, oldest first (the supervisor's queue)."""
    return _list(request, queue=True)


# --- Intake ---------------------------------------------------------------------------------


@login_required
@permission_required("claims.add_application", raise_exception=True)
def start(request):
    """Find the applicant by ID number, then open the intake form for them."""
    form = StartForm(request.GET or None)
    if form.is_valid():
        try:
            number = idnumber.validate(form.cleaned_data["id_number"])
        except idnumber.InvalidIdNumber:
            form.add_error("id_number", _("身份证号码无效。"))
        else:
            person = scoped(Person.objects, request.user).filter(id_number=number).first()
            if person is None:
                form.add_error("id_number", _("本辖区未登记该人员，请先在“救助对象”中登记。"))
            else:
                return redirect("claims:application_create", person.pk)
    return render(request, "claims/start.html", {"form": form})


@login_required
@permission_required("claims.add_application", raise_exception=True)
def application_create(request, person_pk: int):
    person = get_object_or_404(
        scoped(Person.objects.select_related("region"), request.user), pk=person_pk
    )
    if not can_write(request.user, person.region_id):
        raise PermissionDenied
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(
                person=person, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已受理申请，请录入票据。"))
            return redirect("claims:application_detail", application.pk)
    return render(
        request,
        "claims/form.html",
        {"form": form, "person": person, "title": _("受理救助申请")},
    )


@login_required
@permission_required("claims.change_application", raise_exception=True)
def application_edit(request, pk: int):
    application = _get_application(request, pk)
    initial = {name: getattr(application, name) for name in services.APPLICATION_FIELDS}
    form = ApplicationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.application_update(
                application=application, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("claims:application_detail", application.pk)
    return render(
        request,
        "claims/form.html",
        {
            "form": form,
            "person": application.person,
            "application": application,
            "title": _("修改申请信息"),
        },
    )


@login_required
@permission_required("claims.view_application", raise_exception=True)
def application_detail(request, pk: int):
    application = _get_application(request, pk)
    selectors.annotate_processing([application])
    preview = preview_error = None
    if application.status in Application.OPEN_STATUSES and application.bills.exists():
        try:
            preview = selectors.assess_application(application)
        except ValidationError as exc:
            preview_error = " ".join(exc.messages)
    bills = list(application.bills.select_related("institution").order_by("id"))
    preview_by_bill = {}
    if preview is not None:
        preview_by_bill = {bill.pk: result for bill, result in preview.results}
        for bill in bills:
            result = preview_by_bill.get(bill.pk)
            bill.preview = result
            bill.preview_steps = result.step_lines(_) if result else []
    user = request.user
    writable = can_write(user, application.person.region_id)
    return render(
        request,
        "claims/detail.html",
        {
            "application": application,
            "person": application.person,
            "bills": bills,
            "preview": preview,
            "preview_error": preview_error,
            "transitions": application.transitions.select_related("by"),
            "attachments": application.attachments.select_related("uploaded_by"),
            "writable": writable,
            "can_edit": writable
            and application.is_editable
            and user.has_perm("claims.change_application"),
            "can_decide": writable
            and application.status == Application.Status.SUBMITTED
            and user.has_perm("claims.approve_application")
            and services.decide_refusal(application, user) is None,
            "own_application": application.prepared_by_id == user.pk,
            "can_pay": writable
            and application.status == Application.Status.APPROVED
            and user.has_perm("claims.record_payment")
            and services.pay_refusal(application, user) is None,
            "can_withdraw": writable
            and application.status == Application.Status.SUBMITTED
            and user.has_perm("claims.change_application"),
            "withdraw_form": WithdrawForm(),
            "can_print": application.status in Application.DECIDED_STATUSES
            and user.has_perm("claims.print_application"),
            "decision_form": DecisionForm(),
            "confirm": application_confirmations(application, bills, preview),
            "payment_form": PaymentForm(),
            "attachment_form": AttachmentForm(),
        },
    )


# --- Bills ----------------------------------------------------------------------------------


def _bill_form_page(request, application, form, title, bill=None):
    return render(
        request,
        "claims/bill_form.html",
        {
            "form": form,
            "application": application,
            "person": application.person,
            "bill": bill,
            "title": title,
        },
    )


@login_required
@permission_required("claims.add_bill", raise_exception=True)
def bill_create(request, pk: int):
    application = _get_application(request, pk)
    form = BillForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            bills.bill_add(application=application, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已录入票据。"))
            if "another" in request.POST:
                return redirect("claims:bill_create", application.pk)
            return redirect("claims:application_detail", application.pk)
    return _bill_form_page(request, application, form, _("录入票据"))


def _get_bill(request, pk: int) -> Bill:
    return get_object_or_404(
        scoped(Bill.objects.select_related("application", "application__person"), request.user),
        pk=pk,
    )


@login_required
@permission_required("claims.change_bill", raise_exception=True)
def bill_edit(request, pk: int):
    bill = _get_bill(request, pk)
    application = bill.application
    form = BillForm(request.POST or None, instance=bill)
    if request.method == "POST" and form.is_valid():
        try:
            bills.bill_update(bill=bill, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已保存票据。"))
            return redirect("claims:application_detail", application.pk)
    return _bill_form_page(request, application, form, _("修改票据"), bill)


@login_required
@permission_required("claims.delete_bill", raise_exception=True)
@require_POST
def bill_delete(request, pk: int):
    bill = _get_bill(request, pk)
    try:
        bills.bill_delete(bill=bill, by=request.user)
    except ValidationError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, _("已删除票据。"))
    return redirect("claims:application_detail", bill.application_id)


# --- Attachments ----------------------------------------------------------------------------


@login_required
@permission_required("claims.change_application", raise_exception=True)
@require_POST
def attachment_upload(request, pk: int):
    application = _get_application(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            bills.attachment_add(
                application=application,
                upload=form.cleaned_data["file"],
                description=form.cleaned_data["description"],
                by=request.user,
            )
        except ValidationError as exc:
            _flash_error(request, exc)
        else:
            messages.success(request, _("已上传材料。"))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("claims:application_detail", application.pk)


@login_required
@permission_required("claims.view_application", raise_exception=True)
def attachment_download(request, pk: int):
    """Scans are served only here: permission-checked and region-scoped, never from /media/."""
    attachment = get_object_or_404(
        scoped(Attachment.objects.select_related("application__person"), request.user), pk=pk
    )
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    # A PDF with active content (JavaScript, actions, embedded files) is only downloaded.
    download = False
    if attachment.content_type == "application/pdf":
        download = attachment.active_content
        if download is None:  # stored before uploads were inspected
            download = pdf_has_active_content(handle.read())
            handle.seek(0)
            Attachment.objects.filter(pk=attachment.pk).update(active_content=download)
    response = FileResponse(
        handle,
        content_type=attachment.content_type,
        filename=attachment.original_name,
        as_attachment=download,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Workflow -------------------------------------------------------------------------------


@login_required
@permission_required("claims.change_application", raise_exception=True)
@require_POST
def application_submit(request, pk: int):
    application = _get_application(request, pk)
    try:
        services.application_submit(application=application, by=request.user)
    except ValidationError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, _("已提交审批。"))
    return redirect("claims:application_detail", application.pk)


@login_required
@permission_required("claims.change_application", raise_exception=True)
@require_POST
def application_withdraw(request, pk: int):
    """Submitted → draft (撤回), with the reason; the service checks status, role and region."""
    application = _get_application(request, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写撤回的理由。"))
        return redirect("claims:application_detail", application.pk)
    try:
        services.application_withdraw(
            application=application, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, _("已撤回，申请回到草稿状态。"))
    return redirect("claims:application_detail", application.pk)


@login_required
@permission_required("claims.approve_application", raise_exception=True)
@require_POST
def application_decide(request, pk: int):
    """Approve or reject (the button pressed decides), with a comment."""
    application = _get_application(request, pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("decision") == "reject":
                services.application_reject(
                    application=application, by=request.user, comment=data["comment"]
                )
                messages.success(request, _("已作出不予救助决定。"))
            else:
                application = services.application_approve(
                    application=application,
                    by=request.user,
                    comment=data["comment"],
                    approver_name=data["approver_name"],
                )
                messages.success(
                    request,
                    _("已审批，审批表编号 %(number)s。") % {"number": application.form_number},
                )
        except ValidationError as exc:
            _flash_error(request, exc)
    return redirect("claims:application_detail", application.pk)


@login_required
@permission_required("claims.record_payment", raise_exception=True)
@require_POST
def application_pay(request, pk: int):
    application = _get_application(request, pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.application_pay(
                application=application,
                by=request.user,
                reference=form.cleaned_data["reference"],
                paid_on=form.cleaned_data["paid_on"],
            )
        except ValidationError as exc:
            _flash_error(request, exc)
        else:
            messages.success(request, _("已登记支付并记入医疗救助基金支出。"))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("claims:application_detail", application.pk)


# --- Approval forms -------------------------------------------------------------------------


def _pdf_response(request, applications, filename: str) -> HttpResponse:
    from claims import pdf  # WeasyPrint and its font scan load with the first print only

    content = pdf.render_forms(applications)
    services.application_printed(applications=applications, by=request.user, request=request)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
@permission_required("claims.print_application", raise_exception=True)
def application_pdf(request, pk: int):
    application = _get_application(request, pk)
    if application.status not in Application.DECIDED_STATUSES:
        raise Http404
    return _pdf_response(request, [application], f"{application.form_number}.pdf")


@login_required
@permission_required("claims.print_application", raise_exception=True)
@require_POST
def application_pdf_batch(request):
    """Several approved applications printed as one PDF (one form per page)."""
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    applications = list(
        selectors.applications_for(request.user)
        .filter(pk__in=ids, status__in=Application.DECIDED_STATUSES)
        .select_related("decided_by")
        .order_by("form_number")
    )
    if not applications:
        messages.error(request, _("请选择已审批的申请。"))
        return redirect("claims:index")
    return _pdf_response(request, applications, "approval-forms.pdf")
