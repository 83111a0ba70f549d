"""The client's address of a request, trusting X-Forwarded-For only from our own proxies."""

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
