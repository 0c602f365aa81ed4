"""A draft roster's preview at 1366 px: every column in its card, in Chinese and in English.

Long names (Mongolian names written in Chinese characters run long), ID numbers and the row
errors' messages wrap inside their cells instead of pushing the table out of its card.
"""

from datetime import date
from pathlib import Path

import pytest

from beneficiaries.roster_services import roster_batch_create
from core import idnumber
from core.models import Region

pytestmark = pytest.mark.django_db(transaction=True)

DEMO = Path(__file__).resolve().parents[2] / "beneficiaries" / "demo_data"
SHOTS = Path("/work/shots/ux2")
LONG_NAMES = ("额尔敦巴雅尔·乌力吉图门格日勒其其格", "阿拉坦仓·巴特尔宝力高图雅")
BAD_ROWS = (
    "孟和,1503021980,低保对象,2023-01-01,,150302,\n"
    "那仁高娃,150302199001011234,不存在的类别,2023/13/01,2022-01-01,999999,\n"
)

# The widest thing in a card past the card's own right edge, in px (0: nothing sticks out),
# and whether a scrolling wrapper hides columns (scrollWidth beyond clientWidth).
OVERFLOW = """() => {
  let out = 0;
  for (const card of document.querySelectorAll("main .card")) {
    const right = card.getBoundingClientRect().right;
    for (const el of card.querySelectorAll("table, .table-responsive")) {
      out = Math.max(out, el.getBoundingClientRect().right - right);
      out = Math.max(out, el.scrollWidth - el.clientWidth);
    }
  }
  return out;
}"""


def _draft(by, *, bad: bool):
    csv = next(DEMO.glob("roster_*.csv")).read_bytes()
    rows = "".join(
        f"{name},{idnumber.make('150302', date(1980, 1, 1 + n), 11 + n)},低保对象,2023-01-01,"
        f"2023-12-31,150302,13904730000\n"
        for n, name in enumerate(LONG_NAMES)
    )
    data = csv.rstrip(b"\r\n") + b"\n" + (rows + (BAD_ROWS if bad else "")).encode()
    return roster_batch_create(
        name="民政局_海勃湾区_低保特困名单_2023年7月1日报送（第二批更正版）.csv",
        data=data,
        department="civil_affairs",
        region=Region.objects.get(code="150302"),
        as_of=date(2023, 7, 1),
        by=by,
    )


def _look(journey, path, name):
    journey.goto(path)
    shot = journey.shot(name)
    if SHOTS.is_dir():
        (SHOTS / f"{name}.png").write_bytes(shot.read_bytes())
    assert journey.page.evaluate(OVERFLOW) <= 1, name


def test_roster_preview_fits_its_cards_at_1366(journey, caseworker_haibowan):
    good = f"/beneficiaries/rosters/{_draft(caseworker_haibowan, bad=False).pk}/"
    bad = f"/beneficiaries/rosters/{_draft(caseworker_haibowan, bad=True).pk}/"
    page = journey.sign_in(caseworker_haibowan)
    for language in ("zh", "en"):
        if language == "en":
            with page.expect_navigation():
                page.select_option("select[name=language]", "en")
        _look(journey, good, f"roster-preview-{language}")
        _look(journey, bad + "?effect=errors", f"roster-errors-{language}")
        _look(journey, bad + "?effect=", f"roster-errors-all-{language}")
