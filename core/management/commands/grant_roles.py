"""`python manage.py grant_roles USERNAME --region CODE --role caseworker [--role supervisor …]`

Gives a user (e.g. one `createsuperuser` made, with neither) a region and roles through
`core.user_services.user_grant_roles`, so the change is in the user's history. Prints one JSON
object; exit 2 (message on stderr) for an unknown user, region or role.
"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.models import User
from core.roles import Role
from core.user_services import user_grant_roles


class Command(BaseCommand):
    help = "Give a user a region and roles (caseworker, supervisor, accountant, admin)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--region", help="region code, e.g. 150302 (GB/T 2260)")
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=Role.values,
            dest="roles",
            help="a role to add; repeat for several",
        )

    def handle(self, *args, username, region, roles, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("用户 %(name)s 不存在。") % {"name": username}, returncode=2)
        try:
            user = user_grant_roles(
                user=user, roles=roles, region=region, by=None, reason="grant_roles"
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=2) from exc
        held = {label: value for value, label in Role.choices}
        result = {
            "username": user.username,
            "region": user.region_id,
            "roles": sorted(
                held[name] for name in user.groups.values_list("name", flat=True) if name in held
            ),
            "is_staff": user.is_staff,
        }
        self.stdout.write(json.dumps(result, ensure_ascii=False))
