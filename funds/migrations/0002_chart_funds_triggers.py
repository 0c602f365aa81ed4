"""The chart of subjects of P §24, one fund per city-level area, and on PostgreSQL the
ledger's database guards: legs of a transaction sum to zero (checked at commit), legs are
never updated or deleted."""

from django.db import migrations

from core.regions_data import CITIES

LEVELS = [("central", "中央"), ("regional", "自治区"), ("city", "市"), ("county", "县")]

# code, name, kind, parent, level, postable
CHART = [
    ("1003", "财政专户存款", "account", None, "", True),
    ("1004", "支出户存款", "account", None, "", True),
    ("4002", "财政补贴收入", "income", None, "", False),
    *[(f"40020{i}", name, "income", "4002", level, True) for i, (level, name) in enumerate(LEVELS, 1)],
    ("4003", "专项福彩公益金收入", "income", None, "", False),
    *[(f"40030{i}", name, "income", "4003", level, True) for i, (level, name) in enumerate(LEVELS, 1)],
    ("4004", "利息收入", "income", None, "", True),
    ("4005", "上级补助收入", "income", None, "", True),
    ("4006", "下级上解收入", "income", None, "", True),
    ("4009", "其他收入", "income", None, "", False),
    ("400901", "跨年度追回待遇", "income", "4009", "", True),
    ("400902", "其他", "income", "4009", "", True),
    ("5001", "社会保险待遇支出", "expense", None, "", False),
    ("500101", "住院救助支出", "expense", "5001", "", True),
    ("500102", "门诊救助支出", "expense", "5001", "", True),
    ("500103", "资助参保支出", "expense", "5001", "", True),
    ("5002", "上解上级支出", "expense", None, "", True),
    ("5003", "补助下级支出", "expense", None, "", True),
    ("5009", "其他支出", "expense", None, "", True),
]

PG_TRIGGERS = """
CREATE OR REPLACE FUNCTION funds_leg_balanced() RETURNS trigger AS $$
DECLARE total numeric;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total FROM funds_leg WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'funds: legs of transaction % do not balance (sum %)', NEW.transaction_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER funds_leg_balanced
    AFTER INSERT ON funds_leg DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION funds_leg_balanced();

CREATE OR REPLACE FUNCTION funds_leg_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'funds: ledger legs are append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER funds_leg_append_only
    BEFORE UPDATE OR DELETE ON funds_leg
    FOR EACH ROW EXECUTE FUNCTION funds_leg_append_only();
"""

PG_TRIGGERS_DROP = """
DROP TRIGGER IF EXISTS funds_leg_append_only ON funds_leg;
DROP FUNCTION IF EXISTS funds_leg_append_only();
DROP TRIGGER IF EXISTS funds_leg_balanced ON funds_leg;
DROP FUNCTION IF EXISTS funds_leg_balanced();
"""


def load(apps, schema_editor):
    Subject = apps.get_model("funds", "Subject")
    Fund = apps.get_model("funds", "Fund")
    Region = apps.get_model("core", "Region")
    for code, name, kind, parent, level, postable in CHART:
        Subject.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "parent_id": parent,
                "level": level,
                "postable": postable,
            },
        )
    for code, name in CITIES:
        region = Region.objects.filter(code=code).first()
        if region is not None:
            Fund.objects.get_or_create(area=region, defaults={"name": f"{name}医疗救助基金"})


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_TRIGGERS, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_TRIGGERS_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("funds", "0001_initial"), ("core", "0002_regions")]
    operations = [
        migrations.RunPython(load, migrations.RunPython.noop),
        migrations.RunPython(triggers, drop_triggers),
    ]
