from django.contrib.auth.models import Permission, User


def make_staff(username, *perms, superuser=False):
    """A staff user with these permissions ("app.codename"), read fresh (no cached permissions)."""
    user = User.objects.create_user(username, password="pw", is_staff=True, is_superuser=superuser)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)
