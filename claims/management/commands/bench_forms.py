"""`python manage.py bench_forms` — time the approval-form PDF (target: one form ≤ 0.5 s warm).

Prints the time to render one form warm (median of --repeat runs, after a first cold render
that loads the fonts) and one batch of --count forms as a single PDF, plus a baseline measured
in the same run (a one-line Chinese PDF) so figures from a busy machine can be compared.
Uses the approved or paid applications in the database (run `seed_demo` first); a batch
cycles through them. Nothing is written.
"""

import json
import statistics
import time

from django.core.management.base import BaseCommand, CommandError

from claims.models import Application


class Command(BaseCommand):
    help = "Benchmark the approval-form PDF: one form warm, and a batch as one document."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=100, help="forms in the batch")
        parser.add_argument("--repeat", type=int, default=5, help="warm single-form runs")

    def handle(self, *args, count, repeat, **options):
        applications = list(
            Application.objects.filter(status__in=Application.DECIDED_STATUSES)
            .select_related("person", "person__region", "prepared_by", "decided_by")
            .order_by("id")[:count]
        )
        if not applications:
            raise CommandError("没有已审批的申请：请先运行 seed_demo。", returncode=2)

        started = time.perf_counter()
        from claims import pdf
        from core.pdf import render_pdf

        imported = time.perf_counter() - started

        def baseline_once():
            render_pdf("<p style=\"font-family: 'Noto Sans CJK SC'\">医疗救助</p>")

        cold = _timed(lambda: pdf.render_forms(applications[:1]))
        baseline_once()
        baseline = statistics.median(_timed(baseline_once) for _ in range(repeat))
        singles = [_timed(lambda: pdf.render_forms(applications[:1])) for _ in range(repeat)]
        warm = statistics.median(singles)
        batch_apps = [applications[i % len(applications)] for i in range(count)]
        size = {}

        def batch_once():
            size["bytes"] = len(pdf.render_forms(batch_apps))

        batch = _timed(batch_once)
        result = {
            "import_seconds": round(imported, 3),
            "cold_first_form_seconds": round(cold, 3),
            "one_form_warm_seconds": round(warm, 3),
            "one_form_warm_runs": [round(s, 3) for s in singles],
            "batch_forms": count,
            "batch_seconds": round(batch, 3),
            "batch_seconds_per_form": round(batch / count, 3),
            "batch_pdf_bytes": size["bytes"],
            "baseline_seconds": round(baseline, 4),
            "one_form_vs_baseline": round(warm / baseline, 1) if baseline else None,
            "target_one_form_seconds": 0.5,
            "within_target": warm <= 0.5,
        }
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))


def _timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started
