"""`{% quick_result_list cl %}`: Django's `{% result_list cl %}` (same template, same context), whose
rows an admin with `quick_rows` (kaspisync.admin.QuickRows) writes by kaspisync.admin.quick_rows."""

from django import template
from django.contrib.admin.templatetags.admin_list import result_headers, result_hidden_fields, result_list
from django.contrib.admin.templatetags.base import InclusionAdminNode

register = template.Library()


def quick_result_list(cl):
    from kaspisync.admin import quick_rows

    rows = quick_rows(cl) if getattr(cl.model_admin, "quick_rows", False) else None
    if rows is None:
        return result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
    }


@register.tag(name="quick_result_list")
def quick_result_list_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=quick_result_list, template_name="change_list_results.html", takes_context=False
    )
