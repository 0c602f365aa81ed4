"""`setl_id` → settlement, the narrow table that keeps `setl_id` unique (DOMAIN §9.2).

On PostgreSQL `monitoring_settlement` is partitioned by year (`monitoring.partitions`), and a
unique index there would have to include the year; so uniqueness lives here instead, in a
table of three columns whose primary key is `setl_id`. Every write of a settlement writes its
key: the import's merge in one statement (`settlements.staging.merge`), the ORM through
`Settlement.save()` and `SettlementQuerySet.bulk_create()` below. Every read by `setl_id`
(reversal targets, bills, claims, admin search) goes through it too, so it touches one row
of one partition instead of probing every partition. SQLite keeps the same table, so the
Python path is the same on both databases.
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

KEY_TABLE = "monitoring_settlement_key"


class SettlementKey(models.Model):
    """One settlement's `setl_id`, with the year and id that find its row (a partition's
    primary key is `(id, year)`)."""

    setl_id = models.CharField(_("结算ID"), max_length=40, primary_key=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    settlement_id = models.BigIntegerField(_("结算明细"))

    class Meta:
        db_table = KEY_TABLE
        verbose_name = _("结算ID")
        verbose_name_plural = _("结算ID")

    def __str__(self):
        return self.setl_id


def fill_from_settlements(cursor) -> None:
    """The keys of every settlement (rows written by SQL that bypassed them: the migration,
    the benchmark generators), in `setl_id` order."""
    cursor.execute(
        f"INSERT INTO {KEY_TABLE} (setl_id, year, settlement_id) "
        "SELECT setl_id, year, id FROM monitoring_settlement ORDER BY setl_id"
    )


def ids_of(setl_ids) -> models.QuerySet:
    """The settlement ids of these `setl_id`s, as a subquery (`id__in=ids_of(…)`)."""
    return SettlementKey.objects.filter(setl_id__in=list(setl_ids)).values("settlement_id")


def exists_sql(setl_id_column: str) -> str:
    """SQL: some settlement carries the settlement ID in `setl_id_column`."""
    return f"EXISTS (SELECT 1 FROM {KEY_TABLE} k WHERE k.setl_id = {setl_id_column})"


class SettlementQuerySet(models.QuerySet):
    """Settlements; writes keep `SettlementKey` in step, reads by `setl_id` go through it."""

    def by_setl_ids(self, setl_ids):
        return self.filter(id__in=ids_of(setl_ids))

    def by_setl_id(self, setl_id: str):
        return self.by_setl_ids([setl_id])

    def bulk_create(self, objs, *args, **kwargs):
        from . import partitions

        objs = list(objs)
        with transaction.atomic(using=self.db):
            partitions.ensure_years({o.year for o in objs}, using=self.db)
            created = super().bulk_create(objs, *args, **kwargs)
            SettlementKey.objects.using(self.db).bulk_create(
                SettlementKey(setl_id=o.setl_id, year=o.year, settlement_id=o.pk) for o in created
            )
        return created

    def delete(self):
        with transaction.atomic(using=self.db):
            ids = list(self.values_list("id", flat=True))
            SettlementKey.objects.using(self.db).filter(settlement_id__in=ids).delete()
            return super(SettlementQuerySet, self.model.objects.filter(id__in=ids)).delete()

    delete.alters_data = True
