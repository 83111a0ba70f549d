"""The client's address of a request, trusting X-Forwarded-For only from our own proxies; and
what a successful login forgets of the login throttle (django-axes)."""

from django.conf import settings


def client_ip(request, trusted_proxies) -> str | None:
    """REMOTE_ADDR, or behind our own reverse proxies (`trusted_proxies`) the right-most
    X-Forwarded-For address that is not one of them (left of it anyone can write anything)."""
    remote = request.META.get("REMOTE_ADDR")
    if remote not in trusted_proxies:
        return remote
    for address in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = address.strip()
        if address and address not in trusted_proxies:
            return address
    return remote


def request_client_ip(request) -> str | None:
    """The login throttle's view of the client (AXES_CLIENT_IP_CALLABLE): behind TRUSTED_PROXIES."""
    return client_ip(request, settings.TRUSTED_PROXIES)


def forget_own_failures(sender, request, user, **kwargs):
    """After a successful login (user_logged_in): the failures of this user name from this address
    are forgotten, one's own typing mistakes; never those of other user names from the address
    nor this user name's from elsewhere (settings: AXES_RESET_ON_SUCCESS is off for that)."""
    from axes.models import AccessAttempt

    address = request_client_ip(request) if request is not None else None
    AccessAttempt.objects.filter(username=user.get_username(), ip_address=address).delete()
