"""The roles staff are given: three auth groups, kept by the portal.

- «Наблюдатели» (viewers): every list and page of the portal read-only (every `view_*`
  permission of the project's apps), never customer personal data, no action.
- «Менеджеры цен» (price managers): a viewer's view, plus pricing rules, commissions, manual
  prices, feed exclusions, price list settings, building and publishing the price list, product
  cards (what catalog, feeds and cards register: `kaspisync.registry.role_permissions`).
- «Менеджеры заказов» (order managers): a viewer's view, plus customer data and the order
  actions (accept, cancel, complete, assemble, pull, purchases, auto-accept: what orders registers).
- Both managers may send a failed alert again (alerts registers it).

Created by a migration (kaspisync 0005) and brought up to date after every `migrate` (a new
model's view permission joins the roles): the groups' permissions are the portal's; give a
person more by adding permissions to the person, or make your own group.
Not in any role: users and groups, login lockouts (django-axes), the plumbing's locks.
"""

from django.apps import apps as global_apps
from django.conf import settings

from . import registry

EXCLUDED_APPS = {"admin", "auth", "contenttypes", "sessions", "axes"}
EXCLUDED_VIEWS = {"kaspisync.view_rateslot"}


def _project_apps(apps) -> set[str]:
    base = str(settings.BASE_DIR)
    return {
        config.label
        for config in apps.get_app_configs()
        if config.label not in EXCLUDED_APPS and str(config.path).startswith(base)
    }


def role_permissions(role: str, apps=global_apps) -> set[tuple[str, str]]:
    """(app_label, codename) of the permissions a role holds."""
    Permission = apps.get_model("auth", "Permission")
    personal = {p.permission for p in registry._personal_data.values()}
    views = {
        (app_label, codename)
        for app_label, codename in Permission.objects.filter(
            content_type__app_label__in=_project_apps(apps), codename__startswith="view_"
        ).values_list("content_type__app_label", "codename")
        if f"{app_label}.{codename}" not in personal | EXCLUDED_VIEWS
    }
    extra = {tuple(name.split(".", 1)) for name in registry.granted(role)}
    return views | extra


def sync_roles(apps=global_apps, **kwargs) -> None:
    """Create the role groups if missing and set their permissions (those that exist)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    by_name = {
        (app_label, codename): pk
        for pk, app_label, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }
    for role in registry.ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = {by_name[key] for key in role_permissions(role, apps) if key in by_name}
        group.permissions.set(wanted)
