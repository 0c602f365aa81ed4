from datetime import date

import factory

from beneficiaries.models import Identity, Person
from core import idnumber
from core.choices import Category, Department
from core.models import Region


def _id_number(n):
    return idnumber.make("150302", date(1960 + n % 40, 1 + n % 12, 1 + n % 28), n % 1000)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    id_number = factory.Sequence(_id_number)
    name = factory.Sequence(lambda n: f"测试{n}")
    sex = factory.LazyAttribute(lambda o: idnumber.sex(o.id_number))
    birth_date = factory.LazyAttribute(lambda o: idnumber.birth_date(o.id_number))
    region = factory.LazyFunction(lambda: Region.objects.get(code="150302"))


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    person = factory.SubFactory(PersonFactory)
    category = Category.SUBSISTENCE
    start = date(2023, 1, 1)
    end = None
    department = Department.CIVIL_AFFAIRS
    region = factory.LazyAttribute(lambda o: o.person.region)
