from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def demo_mode_check(app_configs, **kwargs):
    """`check --deploy` warns when the demo's second-factor exemption is on."""
    if settings.DEMO_MODE:
        return [
            Warning(
                "DEMO_MODE is set: the seed_demo accounts sign in without a second factor.",
                hint="Never set DEMO_MODE in production (remove it from the environment/.env).",
                id="core.W001",
            )
        ]
    return []
