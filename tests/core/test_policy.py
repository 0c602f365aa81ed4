from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.models import Policy, PolicyCategory

pytestmark = pytest.mark.django_db


@pytest.fixture
def wuhai_2023():
    return Policy.objects.get(area_id="150300", valid_from=date(2023, 1, 1))


def _messages(exc: ValidationError) -> str:
    return " ".join(m for msgs in exc.message_dict.values() for m in msgs)


def test_wuhai_2023_is_seeded_with_the_city_parameters(wuhai_2023):
    rules = wuhai_2023.category_rules()
    assert wuhai_2023.annual_cap == Decimal("80000.00")
    assert wuhai_2023.tilted_deductible == Decimal("7000.00")
    assert wuhai_2023.tilted_ratio == Decimal("0.6")
    assert rules["destitute"].ratio == Decimal("1")
    assert rules["subsistence"].ratio == Decimal("0.75")
    assert rules["near_subsistence"].ratio == Decimal("0.7")
    assert rules["destitute"].deductible == Decimal("0")
    assert wuhai_2023.rank()[:3] == ["destitute", "subsistence", "poverty_risk"]


def test_policy_in_force_is_found_for_a_date(wuhai_2023):
    assert Policy.objects.in_force("150300", date(2023, 7, 1)) == wuhai_2023
    assert Policy.objects.in_force("150300", date(2022, 12, 31)) is None
    assert Policy.objects.in_force("150200", date(2023, 7, 1)) is None


def test_a_later_policy_takes_over_after_the_earlier_one_ends(wuhai_2023):
    wuhai_2023.valid_to = date(2023, 12, 31)
    wuhai_2023.save()
    later = Policy.objects.create(
        area_id="150300",
        name="2024",
        valid_from=date(2024, 1, 1),
        all_resident_income=Decimal("52000"),
        rural_income=Decimal("23000"),
        min_living_standard=Decimal("11000"),
        annual_cap=Decimal("80000"),
        tilted_deductible=Decimal("7000"),
        tilted_ratio=Decimal("0.6"),
        contribution_standard=Decimal("400"),
    )
    assert Policy.objects.in_force("150300", date(2023, 12, 31)) == wuhai_2023
    assert Policy.objects.in_force("150300", date(2024, 1, 1)) == later


def test_overlapping_periods_of_one_area_are_rejected(wuhai_2023):
    clash = Policy(
        area_id="150300",
        name="重叠",
        valid_from=date(2024, 1, 1),
        all_resident_income=Decimal("1"),
        rural_income=Decimal("1"),
        min_living_standard=Decimal("1"),
        tilted_deductible=Decimal("0"),
        tilted_ratio=Decimal("0.6"),
        contribution_standard=Decimal("380"),
    )
    with pytest.raises(ValidationError) as exc:
        clash.full_clean()
    assert "期间重叠" in _messages(exc.value)


def test_ratio_above_100_percent_is_rejected(wuhai_2023):
    wuhai_2023.tilted_ratio = Decimal("1.2")
    with pytest.raises(ValidationError) as exc:
        wuhai_2023.full_clean()
    assert "比例应在 0 到 1 之间" in " ".join(exc.value.message_dict["tilted_ratio"])


def test_negative_amount_is_rejected(wuhai_2023):
    wuhai_2023.annual_cap = Decimal("-1")
    with pytest.raises(ValidationError) as exc:
        wuhai_2023.full_clean()
    assert "金额不能为负数" in " ".join(exc.value.message_dict["annual_cap"])


def test_fixed_subsidy_below_45_percent_of_the_standard_is_rejected(wuhai_2023):
    rule = PolicyCategory(
        policy=wuhai_2023,
        category="poverty_risk",
        rank=9,
        deductible=Decimal("0"),
        ratio=Decimal("0.7"),
        subsidy=PolicyCategory.Subsidy.FIXED,
        subsidy_amount=Decimal("170.99"),
    )
    with pytest.raises(ValidationError) as exc:
        rule.clean()
    assert "不得低于居民医保个人缴费标准的45%（171.00 元）" in _messages(exc.value)


def test_fixed_subsidy_at_45_percent_is_accepted(wuhai_2023):
    rule = wuhai_2023.categories.get(category="subsistence")
    rule.subsidy_amount = Decimal("171.00")
    rule.clean()


def test_admin_shows_the_overlap_message_in_chinese(client, admin_city, wuhai_2023):
    admin_city.is_superuser = True
    admin_city.save()
    client.force_login(admin_city)
    data = {
        "area": "150300",
        "name": "重叠政策",
        "valid_from": "2023-06-01",
        "all_resident_income": "50000",
        "rural_income": "22000",
        "min_living_standard": "10800",
        "annual_cap": "80000",
        "tilted_deductible": "7000",
        "tilted_ratio": "0.6",
        "contribution_standard": "380",
        "impoverishment_threshold": "1",
        "poverty_return_threshold": "0.5",
        "out_of_catalog_limit_level2": "0.05",
        "out_of_catalog_limit_level3": "0.10",
        "processing_days_limit": "20",
        "categories-TOTAL_FORMS": "1",
        "categories-INITIAL_FORMS": "0",
        "categories-MIN_NUM_FORMS": "1",
        "categories-MAX_NUM_FORMS": "1000",
        "categories-0-category": "destitute",
        "categories-0-rank": "1",
        "categories-0-deductible": "0",
        "categories-0-ratio": "1",
        "categories-0-subsidy": "full",
    }
    response = client.post(reverse("admin:core_policy_add"), data)
    assert response.status_code == 200
    assert "期间重叠" in response.content.decode()
    assert Policy.objects.count() == 1
