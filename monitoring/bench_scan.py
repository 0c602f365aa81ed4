"""`bench_region`'s phases after the full scans: the incremental scan and the person list.

Called from `bench_region.Command.handle` (the command keeps generation, the bare GROUP BY,
the scans over workers and the 测算); each phase returns its figures for the JSON.

- `incremental_scan`: `new_rows` settlements of the scan year are added server-side (copies
  of rows spread over the year's persons, new `setl_id`s; not timed), then the high-cost scan
  runs as the next beat run would — incremental from the watermark of the last full scan —
  timed against its 5 s target.
- `person_list`: every person of the settlements is registered in `beneficiaries_person`
  server-side (one `INSERT … SELECT`, names of common surnames and given-name characters),
  then the person list page (pages 1, 2, 3, 10) and its search (a surname, a two-character
  name prefix, a full name, an ID number, of persons sampled in the user's scope) are
  requested `requests` times each through the view (Django's test client, so middleware,
  scoping, the filter form and the template are in the time) as a district caseworker and as
  a regional (自治区) user; p50/p95 per case against 150 ms.
"""

from __future__ import annotations

import random
import statistics
import time

from django.conf import settings
from django.db import connection

from monitoring import settlement_keys

SCAN_YEAR = 2023
INCREMENTAL_TARGET_SECONDS = 5.0
LIST_TARGET_MS = 150.0
DISTRICT = "150302"  # 海勃湾区, one of the bench's Wuhai districts
REGION = "150000"
PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华飞鹏辉玉萍红娥玲芬建国文斌宇浩凯健俊帆"
    "帅旭宁龙林欣佳雪琳晶婷倩颖慧莉燕琴云莲真环凤洁梅琼荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧"
    "璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园"
    "艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽秀"
)


def _log(log, message):
    if log is not None:
        log(message)


# --- The incremental scan -------------------------------------------------------------------


def add_settlements(new_rows: int, tag: str) -> int:
    """Copies of `new_rows` rows of the scan year spread over its persons (new ids and
    `setl_id`s), as a month's import would add them. Returns the rows added."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM monitoring_settlement WHERE year = %s", [SCAN_YEAR])
        step = max(1, cursor.fetchone()[0] // max(1, new_rows))
        # The rows and their setl_id keys in one statement, as the import writes them.
        cursor.execute(
            "WITH new AS (INSERT INTO monitoring_settlement (setl_id, psn_name, certno, psn_cert_type, "
            "insutype, med_type, visit_type, begndate, enddate, year, setl_time, fixmedins_code, "
            "fixmedins_name, insu_admdvs, medfee_sumamt, inscp_scp_amt, fulamt_ownpay_amt, "
            "hifp_pay, hifmi_pay, maf_pay, fund_pay_sumamt, psn_part_amt, hosp_part_amt, "
            "refd_setl_flag, init_setl_id, batch_id) "
            "SELECT %s || id, psn_name, certno, psn_cert_type, insutype, med_type, visit_type, "
            "begndate, enddate, year, setl_time, fixmedins_code, fixmedins_name, insu_admdvs, "
            "medfee_sumamt, inscp_scp_amt, fulamt_ownpay_amt, hifp_pay, hifmi_pay, maf_pay, "
            "fund_pay_sumamt, psn_part_amt, hosp_part_amt, false, '', NULL "
            "FROM monitoring_settlement WHERE year = %s AND refd_setl_flag = false "
            "AND id %% %s = 0 ORDER BY id LIMIT %s RETURNING setl_id, year, id) "
            f"INSERT INTO {settlement_keys.KEY_TABLE} (setl_id, year, settlement_id) "
            "SELECT setl_id, year, id FROM new",
            [f"{tag}-", SCAN_YEAR, step, new_rows],
        )
        return cursor.rowcount


def incremental_scan(new_rows: int, log=None) -> dict:
    """Add `new_rows` rows, then time the scan that follows (incremental)."""
    from monitoring.checks import check_run

    with connection.cursor() as cursor:  # new setl_ids on every run of the benchmark
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM monitoring_settlement")
        added = add_settlements(new_rows, f"INC{cursor.fetchone()[0]}")
    _log(log, f"added {added:,} settlements for the incremental scan")
    run = check_run(name="high_cost", period=str(SCAN_YEAR))
    if run.outcome != "success":
        raise RuntimeError(run.error)
    _log(log, f"incremental scan ({run.mode}): {run.seconds:.2f} s")
    return {
        "new_rows": added,
        "mode": run.mode,
        "seconds": round(run.seconds, 2),
        "rows_scanned": run.rows_scanned,
        "alerts": [run.alerts_created, run.alerts_updated, run.alerts_closed],
        "target_seconds": INCREMENTAL_TARGET_SECONDS,
        "met": run.mode == "incremental" and run.seconds <= INCREMENTAL_TARGET_SECONDS,
    }


# --- The person list ------------------------------------------------------------------------

_REGISTER = """
INSERT INTO beneficiaries_person (id_number, name, sex, birth_date, phone, region_id,
    residence, relation, created_at, updated_at)
SELECT certno,
       substr(%(surnames)s, 1 + (n %% char_length(%(surnames)s))::int, 1)
       || substr(%(given)s, 1 + ((n / 97) %% char_length(%(given)s))::int, 1)
       || CASE WHEN n %% 3 = 0 THEN ''
               ELSE substr(%(given)s, 1 + ((n / 7) %% char_length(%(given)s))::int, 1) END,
       CASE WHEN n %% 2 = 0 THEN 'M' ELSE 'F' END, date '1960-01-01' + (n %% 20000)::int,
       '13' || lpad((n %% 1000000000)::text, 9, '0'), region,
       CASE WHEN n %% 2 = 0 THEN 'rural' ELSE 'urban' END, '', now(), now()
FROM (SELECT certno, MIN(insu_admdvs) AS region, row_number() OVER (ORDER BY certno) AS n
      FROM monitoring_settlement WHERE year = %(year)s GROUP BY certno) AS s
ON CONFLICT (id_number) DO UPDATE SET name = EXCLUDED.name
WHERE beneficiaries_person.name LIKE '测试%%'
"""


def register_persons(log=None) -> dict:
    """Every person of the scan year's settlements in the register (not timed as a figure).

    Wuhai's persons, registered by bench_region as 测试<n>, get a name of the same kind too:
    171,000 persons of one city sharing "测试" in one block of ids would make every
    one-character search of theirs walk the id index past all newer persons (0.8 s at
    4,000,000, see monitoring/README.md)."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(_REGISTER, {"surnames": _SURNAMES, "given": _GIVEN, "year": SCAN_YEAR})
        added = cursor.rowcount
        # As autovacuum would after a bulk load: the GIN indexes' pending lists merged.
        cursor.execute("VACUUM ANALYZE beneficiaries_person")
        cursor.execute("SELECT COUNT(*) FROM beneficiaries_person")
        total = cursor.fetchone()[0]
    seconds = round(time.monotonic() - started, 1)
    _log(log, f"registered or renamed {added:,} persons ({total:,} in the register) in {seconds} s")
    return {"registered": added, "persons_in_register": total, "register_seconds": seconds}


def _bench_user(username: str, region: str):
    from core.models import Region, User
    from core.roles import Role, grant_role

    user, created = User.objects.get_or_create(
        username=username, defaults={"name": username, "region": Region.objects.get(code=region)}
    )
    if created:
        grant_role(user, Role.CASEWORKER)
    return user


def _samples(region_prefix: str, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(ID number, name) of `count` registered persons of the subtree, spread over it."""
    sql = (
        "SELECT id_number, name FROM beneficiaries_person {} WHERE region_id LIKE %s "
        "ORDER BY random() LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.format("TABLESAMPLE SYSTEM (1)"), [f"{region_prefix}%", count * 4])
        rows = cursor.fetchall()
        if len(rows) < count:  # a small register: all of it
            cursor.execute(sql.format(""), [f"{region_prefix}%", count * 4])
            rows = cursor.fetchall()
    rng.shuffle(rows)
    return rows[:count] or [("", "")]


def _timed(client, url: str, params: dict) -> float:
    started = time.monotonic()
    response = client.get(url, params)
    elapsed = (time.monotonic() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params}: HTTP {response.status_code}")
    return elapsed


def _percentiles(times: list[float]) -> dict:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "met": p95 <= LIST_TARGET_MS,
    }


def _cases(samples: list[tuple[str, str]]) -> dict:
    """Query strings per case: pages of the list, and searches for sampled persons."""
    pages = [1, 2, 3, 10]
    return {
        "list": [{"page": page} for page in pages],
        "surname": [{"q": name[:1]} for _id, name in samples],
        "name_prefix": [{"q": name[:2]} for _id, name in samples],
        "full_name": [{"q": name} for _id, name in samples],
        "id_number": [{"q": id_number} for id_number, _name in samples],
    }


def person_list(requests: int, log=None, *, seed: int = 16) -> dict:
    """p50/p95 of the person list and its searches, per user and case, through the view."""
    from django.test.utils import override_settings
    from django.urls import reverse

    with override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        # No collectstatic for a benchmark: plain storage instead of the hashed manifest.
        STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC}},
    ):
        return _person_list(
            requests, log, random.Random(seed), reverse("beneficiaries:person_list")
        )


def _person_list(requests: int, log, rng: random.Random, url: str) -> dict:
    from django.test import Client

    figures: dict = {"requests_per_case": requests, "target_ms": LIST_TARGET_MS}
    for label, username, region in (
        ("district", "bench_cw_district", DISTRICT),
        ("regional", "bench_cw_region", REGION),
    ):
        client = Client()
        client.force_login(_bench_user(username, region))
        samples = _samples("15" if region == REGION else region, requests, rng)
        _timed(client, url, {})  # warm the session and the templates
        for case, queries in _cases(samples).items():
            times = [_timed(client, url, queries[i % len(queries)]) for i in range(requests)]
            figures[f"{label}_{case}"] = _percentiles(times)
            _log(log, f"person list {label} {case}: {figures[f'{label}_{case}']}")
    return figures
