"""The monthly cross checks split by person range over the workers (core.chunked, queue `checks`).

The checks whose findings are per person — uninsured, duplicate_enrollment,
subsidy_without_identity, roster_unconfirmed (cut by persons) and benefit_after_coverage,
missed_reimbursement (cut by the year's settlements) — are each written as a part
`part(ctx, rng)` that finds the alerts of the persons whose ID number lies in `rng` = [lo, hi),
syncs them, and closes only the alerts of that range it did not find. out_of_catalog is per
institution and month, not per person: it stays one process.

`by_person_range` runs a part once over everyone, in the check's own process, when the table
it is cut by has fewer than `CROSS_CHECK_CHUNK_MIN_ROWS` rows; else it cuts the ID numbers
into `CROSS_CHECK_CHUNKS` ranges of about equal rows (quantiles, as the high-cost scan does)
and the chunks are taken by any `checks` worker, the run's own process working too. Since
alerts are keyed by ID number, the chunks' upserts and closes touch disjoint alerts, and their
union is what one process does; the run's counters are the sum of the chunks' (each chunk
returns its counters and the policies it used), the one `CheckRun` shows chunks done as they
finish, and what follows the sync (benefit_after_coverage links recovery cases) runs once,
after the last chunk.

A chunk is one transaction with its result (`Job.atomic`): a worker killed mid-chunk leaves
nothing, its chunk goes back to pending (the sweep, or the waiting run itself) and is redone
with the same counts. Run again after a crash, a check resumes its unfinished chunked run,
keeping the done chunks, as long as nothing it reads has changed (`_stamp`) and the reference
date is the same; else a new chunked run starts over every range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils.translation import gettext as _

from core import chunked
from core.models import ChunkedRun, RunChunk
from monitoring.checks import CheckContext, check_names, parse_period, register
from monitoring.checks.scope import EVERYONE, CertnoRange
from monitoring.models import CheckRun
from monitoring.scan_chunks import SAMPLE_ROWS, certno_boundaries

KIND = "cross_check"
COUNTERS = ("rows_scanned", "alerts_created", "alerts_updated", "alerts_closed")
PERSONS, SETTLEMENTS = "beneficiaries_person", "monitoring_settlement"

Part = Callable[[CheckContext, CertnoRange], None]


@dataclass(frozen=True)
class PersonCheck:
    """A per-person check: its part, the table its ranges are cut by, what runs after it."""

    part: Part
    cut_by: str = PERSONS
    after: Callable[[CheckContext], None] | None = None


PARTS: dict[str, PersonCheck] = {}


def per_person(name: str, *, cut_by: str = PERSONS, after=None):
    """Register check `name` as a per-person part, run through `by_person_range`."""

    def wrap(part: Part) -> Part:
        PARTS[name] = PersonCheck(part, cut_by, after)

        def check(ctx: CheckContext) -> None:
            by_person_range(ctx, name)

        check.__name__, check.__doc__ = part.__name__, part.__doc__
        register(name)(check)
        return part

    return wrap


def _settings() -> tuple[int, int]:
    chunks = int(getattr(settings, "CROSS_CHECK_CHUNKS", 8))
    min_rows = int(getattr(settings, "CROSS_CHECK_CHUNK_MIN_ROWS", 200_000))
    return chunks, min_rows


def _table_rows(table: str) -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
                [table],
            )
        else:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cursor.fetchone()[0])


def person_boundaries(area_prefix: str, chunks: int, table_rows: int) -> list[str]:
    """Cuts of the ID numbers of the area's persons into `chunks` ranges of about equal persons
    (on PostgreSQL from a block sample of about SAMPLE_ROWS persons)."""
    sample = ""
    if connection.vendor == "postgresql" and table_rows > SAMPLE_ROWS:
        sample = f"TABLESAMPLE SYSTEM ({max(0.01, 100.0 * SAMPLE_ROWS / table_rows):.4f})"
    sql = f"SELECT id_number FROM {PERSONS} {sample} WHERE region_id LIKE %s"
    return chunked.quantile_boundaries(sql, [f"{area_prefix}%"], chunks)


def ranges_for(ctx: CheckContext, cut_by: str) -> list[CertnoRange]:
    """The person ranges of a run: one (everyone) for a small table."""
    chunks, min_rows = _settings()
    rows = _table_rows(cut_by) if chunks > 1 else 0
    if chunks <= 1 or rows < min_rows:
        return [EVERYONE]
    if cut_by == SETTLEMENTS:
        bounds = certno_boundaries(ctx.period.year, chunks, rows)
    else:
        bounds = person_boundaries(ctx.area_prefix, chunks, rows)
    return chunked.ranges_of(bounds)


def by_person_range(ctx: CheckContext, name: str) -> None:
    """Run the per-person check `name`: in this process, or over the workers by range."""
    check = PARTS[name]
    ranges = ranges_for(ctx, check.cut_by)
    if len(ranges) <= 1:
        check.part(ctx, EVERYONE)
    else:
        _over_workers(ctx, name, ranges)
    if check.after is not None:
        check.after(ctx)


def _stamp() -> list:
    """What a resumed run must not have missed: the newest change (history id, else row id)
    of everything the per-person checks read."""
    stamp = []
    for label in (
        "beneficiaries.Person",
        "beneficiaries.Identity",
        "beneficiaries.Enrollment",
        "beneficiaries.Subsidy",
        "beneficiaries.RosterBatch",
        "monitoring.Settlement",
        "claims.Application",
        "claims.Bill",
    ):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        table = model.history if hasattr(model, "history") else model.objects
        stamp.append(table.aggregate(m=Max("pk"))["m"])
    roster = apps.get_model("beneficiaries.RosterBatch")
    stamp.append(roster.objects.filter(status=roster.Status.APPLIED).count())
    return stamp


def _over_workers(ctx: CheckContext, name: str, ranges: list[CertnoRange]) -> None:
    params = {
        "check": name,
        "period": ctx.period.text,
        "area": ctx.area,
        "reference": ctx.reference_date().isoformat(),
        "stamp": _stamp(),
    }
    run = chunked.start(
        KIND, key=f"{name}:{ctx.period.text}:{ctx.area}", params=params, ranges=ranges
    )
    _report(run, ctx.run.pk)
    chunked.dispatch(run)
    results = chunked.wait(run)
    for result in results:
        for counter in COUNTERS:
            setattr(ctx.run, counter, getattr(ctx.run, counter) + result[counter])
        ctx.policies_used.update(result["policies"])
    ctx.run.chunks_done = ctx.run.chunks_total = len(results)
    chunked.complete(run)


class ChunkContext(CheckContext):
    """The context of one chunk: its counters start at zero and go in the chunk's result; the
    chunk's own heartbeat (core.chunked) shows it is alive, so nothing is saved on the run."""

    def save_progress(self) -> None:
        pass


def check_chunk(params: dict, lo: str | None, hi: str | None) -> dict:
    """One person range of a check run: its alerts synced, its counters and policies used."""
    check_names()  # the check modules register their parts
    name, period, area = params["check"], params["period"], params["area"]
    run = CheckRun.objects.filter(check_name=name, period=period, area=area).order_by("-pk").first()
    if run is None:
        raise ValueError(
            _("找不到检查 %(check)s（%(period)s）的运行记录。") % {"check": name, "period": period}
        )
    for counter in COUNTERS:
        setattr(run, counter, 0)  # this chunk's own counts; the run row is not saved here
    ctx = ChunkContext(
        run=run,
        period=parse_period(period),
        area=area,
        options={},
        today=date.fromisoformat(params["reference"]),
    )
    PARTS[name].part(ctx, (lo, hi))
    return {**{c: getattr(run, c) for c in COUNTERS}, "policies": sorted(ctx.policies_used)}


def _report(run: ChunkedRun, check_run_id: int | None = None) -> None:
    """Chunks done and the done chunks' counters so far, on the running CheckRun."""
    done = list(run.chunks.filter(status=RunChunk.Status.DONE).values_list("result", flat=True))
    sums = {c: sum(r[c] for r in done) for c in COUNTERS}
    runs = CheckRun.objects.filter(outcome=CheckRun.Outcome.RUNNING)
    if check_run_id is not None:
        runs = runs.filter(pk=check_run_id)
    else:
        p = run.params
        runs = runs.filter(check_name=p["check"], period=p["period"], area=p["area"])
    runs.update(chunks_done=len(done), chunks_total=run.chunks_total, **sums)


chunked.register(
    chunked.Job(
        kind=KIND,
        queue="checks",
        work=check_chunk,
        progress=lambda run, done, total: _report(run),
        atomic=True,
    )
)
