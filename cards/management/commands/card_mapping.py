"""`manage.py card_mapping export FILE.json` / `card_mapping import FILE.json` (a stable interface).

The whole category and attribute mapping as JSON (format in cards/services/mapping.py). Import
is all-or-nothing and replaces the mapping of the categories the file names; every problem of a
refused file is listed and the command exits non-zero.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from cards.services.mapping import MappingFileError, export_mapping, import_mapping


class Command(BaseCommand):
    help = "Export or import the Kaspi card mapping (categories and attributes) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("file", metavar="FILE.json")

    def handle(self, *args, action, file, **options):
        if action == "export":
            data = export_mapping()
            try:
                with open(file, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, ensure_ascii=False, indent=2)
                    fh.write("\n")
            except OSError as exc:
                raise CommandError(_("Cannot write %(file)s: %(error)s") % {"file": file, "error": exc}) from None
            self.stdout.write(
                _("Exported to %(file)s: category mappings %(n)d.") % {"n": len(data["categories"]), "file": file}
            )
            return
        try:
            with open(file, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc}) from None
        except ValueError as exc:
            raise CommandError(_("%(file)s is not valid JSON: %(error)s") % {"file": file, "error": exc}) from None
        try:
            counts = import_mapping(data, user="manage.py")
        except MappingFileError as exc:
            for problem in exc.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(
                _("Nothing was imported: problems in the file %(n)d.") % {"n": len(exc.problems)}
            ) from None
        self.stdout.write(_("Imported: category mappings %(categories)d, attributes %(attributes)d.") % counts)
