"""Settings defaults, read in a fresh interpreter with a clean environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "debug": settings.DEBUG,
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "tz": settings.TIME_ZONE,
    "lang": settings.LANGUAGE_CODE,
    "languages": [code for code, _ in settings.LANGUAGES],
    "hosts": settings.ALLOWED_HOSTS,
    "beat": settings.CELERY_BEAT_SCHEDULER,
}))
"""


def _run(env_extra, tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Ignore a developer's .env: only the variables below count.
        "ENV_FILE": str(tmp_path / "absent.env"),
        **env_extra,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_defaults_are_sqlite_eager_celery_chinese_and_shanghai_time(tmp_path):
    result = _run({"SECRET_KEY": "k"}, tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["debug"] is False
    assert values["eager"] is True
    assert values["tz"] == "Asia/Shanghai"
    assert values["lang"] == "zh-hans"
    assert values["languages"] == ["zh-hans", "en"]
    assert "127.0.0.1" in values["hosts"]
    assert values["beat"] == "django_celery_beat.schedulers:DatabaseScheduler"


def test_redis_broker_turns_off_eager_mode(tmp_path):
    result = _run({"SECRET_KEY": "k", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}, tmp_path)
    assert json.loads(result.stdout)["eager"] is False


def test_database_url_selects_postgresql(tmp_path):
    result = _run(
        {"SECRET_KEY": "k", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"}, tmp_path
    )
    assert json.loads(result.stdout)["engine"] == "django.db.backends.postgresql"


def test_missing_secret_key_fails_loudly_outside_debug(tmp_path):
    result = _run({}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_runs_without_a_secret_key(tmp_path):
    result = _run({"DEBUG": "true"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is True
