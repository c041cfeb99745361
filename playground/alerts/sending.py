"""Sending one delivery: an e-mail through Django's e-mail backend, or a webhook POST.

A webhook gets Slack-compatible JSON (`{"text": …}`, plus the alert's figures under
"playground", which Slack ignores), signed: `X-Playground-Signature: sha256=<hex>`, the
HMAC-SHA256 of the exact body with the team's secret. `X-Playground-Delivery` carries
the delivery's id, the same on every attempt, so a receiver can drop a repeat (a
worker that dies after the POST and before writing the outcome sends again).

Failures say whether trying again may help (`SendError.permanent`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _

from playground.alerts.models import AlertSettings, Channel, Delivery, SpendAlert

TIMEOUT = httpx.Timeout(10.0)
SIGNATURE_HEADER = "X-Playground-Signature"
DELIVERY_HEADER = "X-Playground-Delivery"
# Asked again later: a timeout, a rate limit, a server error.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(alert: SpendAlert) -> dict[str, object]:
    return {
        "text": alert.text,
        "playground": {
            "alert": alert.pk,
            "kind": alert.kind,
            "team": alert.team.slug if alert.team else None,
            "member": alert.member.get_username() if alert.member else None,
            "key": alert.key_id,
            "month": alert.month.isoformat(),
            "threshold": alert.threshold,
            "spent": None if alert.spent is None else str(alert.spent),
            "limit": None if alert.limit is None else str(alert.limit),
        },
    }


def send(delivery: Delivery) -> None:
    """Send once; raise SendError if it did not arrive."""
    if delivery.channel == Channel.EMAIL:
        send_email(delivery)
    else:
        send_webhook(delivery)


def send_email(delivery: Delivery) -> None:
    alert = delivery.alert
    subject = _("Spend alert: %(what)s") % {"what": alert.get_kind_display()}
    try:
        send_mail(
            subject,
            alert.text,
            None,
            [address.strip() for address in delivery.target.split(",")],
        )
    except OSError as error:  # smtplib's errors are OSErrors too
        raise SendError(_("E-mail not sent: %(error)s") % {"error": error}) from error


def check_address(url: str) -> None:
    """Refuse a webhook that points into the server's own network (loopback, private,
    link-local addresses), unless ALERTS_WEBHOOK_ALLOW_PRIVATE says that is intended:
    an admin's URL must not make the server probe what only it can reach."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SendError(_("The webhook URL must start with https:// or http://."), permanent=True)
    if settings.ALERTS_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise SendError(
            _("The webhook's host name does not resolve: %(error)s") % {"error": error}
        ) from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise SendError(
                _("The webhook points to a private address (%(address)s); refused.")
                % {"address": address},
                permanent=True,
            )


def send_webhook(delivery: Delivery) -> None:
    alert = delivery.alert
    check_address(delivery.target)
    body = json.dumps(payload(alert), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: str(delivery.pk)}
    secret = AlertSettings.of(alert.team).secret() if alert.team else ""
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    try:
        # No redirects: a signed body goes only where the admin said.
        response = httpx.post(
            delivery.target, content=body, headers=headers, timeout=TIMEOUT, follow_redirects=False
        )
    except httpx.HTTPError as error:
        raise SendError(
            _("No answer: %(error)s") % {"error": str(error) or type(error).__name__}
        ) from error
    if response.is_success:
        return
    status = response.status_code
    raise SendError(
        _("HTTP %(status)s: %(body)s") % {"status": status, "body": response.text[:200]},
        permanent=400 <= status < 500 and status not in RETRYABLE_STATUSES,
    )
