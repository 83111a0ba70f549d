from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0002_product_import_fields"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="importrun",
            options={
                "ordering": ["-started_at"],
                "permissions": [("run_import", "Can start a catalog import")],
                "verbose_name": "import run",
                "verbose_name_plural": "import runs",
            },
        ),
    ]
