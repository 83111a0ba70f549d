"""The three role groups (kaspisync.roles): «Менеджеры цен», «Менеджеры заказов», «Наблюдатели».

Permissions are created first (Django creates them only after all migrations), then the groups
are set from what the apps register; after every later migrate a post_migrate handler brings
them up to date (new models' view permissions).
"""

from django.db import migrations


def create_roles(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from kaspisync.roles import sync_roles

    for config in global_apps.get_app_configs():
        create_permissions(config, verbosity=0, using=schema_editor.connection.alias)
    sync_roles(global_apps)


def remove_roles(apps, schema_editor):
    from kaspisync.registry import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("kaspisync", "0004_joblock_run"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
