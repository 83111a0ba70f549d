"""After an admin form, staff are sent back only within the portal: a `next` naming another
site (a link crafted to look like the portal's) is ignored."""

import pytest
from django.urls import reverse

from tests.factories import make_staff

pytestmark = pytest.mark.django_db

ELSEWHERE = ("https://evil.example/admin/", "//evil.example/", "javascript:alert(1)")


@pytest.mark.parametrize("next_url", ELSEWHERE)
def test_the_kill_switch_never_sends_staff_to_another_site(client, next_url):
    client.force_login(make_staff("boss", superuser=True))
    answer = client.post(reverse("admin:orders_autoaccept_switch"), {"on": "0", "next": next_url})
    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:index")


def test_the_kill_switch_goes_back_to_the_page_it_was_pressed_on(client):
    client.force_login(make_staff("boss", superuser=True))
    back = reverse("admin:orders_order_changelist") + "?status__exact=APPROVED_BY_BANK"
    answer = client.post(reverse("admin:orders_autoaccept_switch"), {"on": "0", "next": back})
    assert answer["Location"] == back
