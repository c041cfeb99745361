"""Re-encrypt every stored API key under the newest PLAYGROUND_ENCRYPTION_KEYS key.

Rotation: put a new key first in PLAYGROUND_ENCRYPTION_KEYS (keep the old ones after
it), run this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from playground.billing import crypto
from playground.billing.models import ApiKey


class Command(BaseCommand):
    help = "Re-encrypt every stored API key under the newest encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        done = 0
        with transaction.atomic():
            for key in (
                ApiKey.objects.select_for_update().order_by("pk").only("pk", "secret_encrypted")
            ):
                try:
                    rotated = crypto.reencrypt(key.secret_encrypted)
                except crypto.InvalidToken as error:
                    raise CommandError(
                        f"API key #{key.pk} cannot be decrypted with any configured key; "
                        "nothing was changed."
                    ) from error
                ApiKey.objects.filter(pk=key.pk).update(secret_encrypted=rotated)
                done += 1
        self.stdout.write(f"Re-encrypted {done} API key(s) under the newest key.")
