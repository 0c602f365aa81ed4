"""Named users, the way healthchecks has alice/bob/charlie.

- caseworker_haibowan: 经办员 in 海勃湾区 (150302)
- caseworker_wuda:     经办员 in 乌达区 (150304)
- supervisor_city:     审核员 in 乌海市 (150300)
- accountant_city:     财务 in 乌海市
- admin_city:          管理员 in 乌海市 (staff)
- regional_viewer:     审核员 at 内蒙古自治区 level (reads everything, changes nothing)
"""

import pytest
from django.http import HttpRequest
from django.test import Client

from core.models import Region
from core.roles import Role, grant_role


def pytest_collection_modifyitems(items):
    """Every transactional test restores the migrated data (regions, policy, roles).

    A transactional test ends with a flush; without serialized rollback the next one would find
    the regions of the data migrations gone, and a flush's post_migrate would re-create the role
    groups under the next test's restored copy of them.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            item.add_marker(
                pytest.mark.django_db(**{**marker.kwargs, "serialized_rollback": True}),
                append=False,
            )


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process in tests, whatever the broker; `celery_worker_process` opts out."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = True


class SecondFactorClient(Client):
    """The test client, with privileged users' sessions already past the second factor.

    Enforcement stays on in tests: `force_login`/`login` of a supervisor, accountant or admin
    also verifies a confirmed TOTP device in the session, the way the verify page would, so a
    test about something else need not sign in twice. Tests of the second factor itself use
    `unverified_client`.
    """

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        self._verify_second_factor(user)

    def login(self, **credentials):
        # django-axes needs the request the credentials came with.
        credentials.setdefault("request", HttpRequest())
        if not super().login(**credentials):
            return False
        from django.contrib.auth import get_user_model

        self._verify_second_factor(get_user_model().objects.get(pk=self.session["_auth_user_id"]))
        return True

    def _verify_second_factor(self, user):
        from core.two_factor import verify_test_client_session

        verify_test_client_session(self, user)


@pytest.fixture
def client():
    return SecondFactorClient()


@pytest.fixture
def unverified_client():
    """A plain test client: force_login leaves the second factor to be done."""
    return Client()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic in tests: plain storage instead of the hashed manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _user(django_user_model, username, region_code, role, **extra):
    user = django_user_model.objects.create_user(
        username=username,
        password="secret-pass-123",
        name=username,
        region=Region.objects.get(code=region_code),
        **extra,
    )
    grant_role(user, role)
    return user


@pytest.fixture
def caseworker_haibowan(db, django_user_model):
    return _user(django_user_model, "cw_hbw", "150302", Role.CASEWORKER)


@pytest.fixture
def caseworker_wuda(db, django_user_model):
    return _user(django_user_model, "cw_wuda", "150304", Role.CASEWORKER)


@pytest.fixture
def supervisor_city(db, django_user_model):
    return _user(django_user_model, "sup_city", "150300", Role.SUPERVISOR)


@pytest.fixture
def accountant_city(db, django_user_model):
    return _user(django_user_model, "acc_city", "150300", Role.ACCOUNTANT)


@pytest.fixture
def admin_city(db, django_user_model):
    return _user(django_user_model, "adm_city", "150300", Role.ADMIN, is_staff=True)


@pytest.fixture
def regional_viewer(db, django_user_model):
    return _user(django_user_model, "sup_region", "150000", Role.SUPERVISOR)


@pytest.fixture
def wuhai(db):
    return Region.objects.get(code="150300")


@pytest.fixture
def haibowan(db):
    return Region.objects.get(code="150302")


@pytest.fixture
def wuda(db):
    return Region.objects.get(code="150304")


@pytest.fixture
def celery_worker_process(django_db_serialized_rollback, transactional_db):
    """A real `celery worker` process on the Redis broker, using the test database.

    Skipped on the embedded defaults (no broker): CI runs these on PostgreSQL + Redis.
    """
    from worker_processes import real_workers

    with real_workers(1, name="ci") as workers:
        yield workers[0]


@pytest.fixture(autouse=True)
def _one_worker_test_per_broker(request):
    """Tests with real workers share the broker (and purge it, `bench_region`'s workers): under
    pytest-xdist two of them at once would take or drop each other's tasks and hang. They take
    turns on a lock file per broker URL."""
    if request.node.get_closest_marker("celery_worker") is None:
        yield
        return
    import fcntl
    import hashlib
    import tempfile
    from pathlib import Path

    from django.conf import settings

    name = hashlib.sha1(settings.CELERY_BROKER_URL.encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"medaid-celery-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(autouse=True)
def _fresh_region_codes():
    """core.regions caches the code map; a test's rolled-back regions must not outlive it."""
    from core.regions import clear_cache

    clear_cache()
    yield
    clear_cache()
