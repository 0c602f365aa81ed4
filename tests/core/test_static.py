from django.core.management import call_command


def test_collectstatic_builds_the_manifest(tmp_path, settings):
    """`make run` collects static files with the hashed manifest; every reference must resolve."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
