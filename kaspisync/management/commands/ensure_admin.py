"""Create the admin login (from DJANGO_ADMIN_USER / DJANGO_ADMIN_PASSWORD, or generated)."""

import os

from django.core.management.base import BaseCommand

from kaspisync.accounts import ensure_admin


class Command(BaseCommand):
    help = "Create the admin login if missing; a generated password is printed this once only."

    def handle(self, *args, **options):
        login = ensure_admin(os.environ.get("DJANGO_ADMIN_USER", ""), os.environ.get("DJANGO_ADMIN_PASSWORD", ""))
        if login is None:
            self.stdout.write("A superuser exists already: nothing to do.")
        elif login.generated_password:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Admin login created: {login.username} / {login.generated_password}  (shown this once)"
                )
            )
        elif login.created:
            self.stdout.write(self.style.SUCCESS(f"Admin login created: {login.username}"))
        else:
            self.stdout.write(f"Admin login {login.username} exists.")
