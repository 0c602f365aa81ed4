"""The roster check of DOMAIN §7, §9.1: identities the latest department roster did not confirm."""

from __future__ import annotations

from django.utils.translation import gettext as _

from beneficiaries.models import Identity, RosterBatch
from monitoring.alerting import Finding, sync_findings
from monitoring.check_chunks import per_person
from monitoring.checks import CheckContext
from monitoring.checks.scope import (
    CHUNK,
    CertnoRange,
    area_alerts,
    persons_in_area,
)
from monitoring.models import Alert

# --- Rosters ------------------------------------------------------------------------------


@per_person("roster_unconfirmed")
def roster_unconfirmed(ctx: CheckContext, rng: CertnoRange) -> None:
    """Identities open on the reference date that the latest roster of their department for
    their region did not confirm (DOMAIN §7, §9.1)."""
    day = ctx.reference_date()
    rosters = list(
        RosterBatch.objects.filter(status=RosterBatch.Status.APPLIED, as_of__lte=day)
        .select_related("region")
        .order_by("-as_of", "-id")
    )
    identities = (
        Identity.objects.open_on(day)
        .filter(person__in=persons_in_area(ctx, rng))
        .select_related("person")
        .order_by("person__id_number", "id")
    )
    ctx.run.rows_scanned = 0

    def latest_roster(identity):
        for roster in rosters:  # newest first
            if roster.department == identity.department and roster.region.contains(
                identity.region_id
            ):
                return roster
        return None

    def findings():
        for identity in identities.iterator(chunk_size=CHUNK):
            ctx.run.rows_scanned += 1
            roster = latest_roster(identity)
            if roster is None or identity.last_roster_id == roster.pk:
                continue
            if identity.start > roster.as_of:
                continue  # recognised after the roster: the next roster will say
            person = identity.person
            yield Finding(
                certno=person.id_number,
                subject=f"identity:{identity.pk}",
                name=person.name,
                person_id=person.pk,
                region_id=person.region_id,
                message=_("%(category)s 身份未出现在%(department)s %(as_of)s 的最新名单中")
                % {
                    "category": identity.get_category_display(),
                    "department": roster.get_department_display(),
                    "as_of": roster.as_of,
                },
                evidence={
                    "identity": identity.pk,
                    "roster": roster.pk,
                    "detail": _("认定日期 %(start)s；最新名单：%(roster)s")
                    % {"start": identity.start, "roster": str(roster)},
                },
            )

    sync_findings(
        ctx,
        kind=Alert.Kind.ROSTER_UNCONFIRMED,
        year=ctx.period.year,
        findings=findings(),
        close_missing=area_alerts(ctx, rng=rng),
    )
