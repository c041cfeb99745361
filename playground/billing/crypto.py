"""Encryption of stored API keys: Fernet under keys that can be rotated.

PLAYGROUND_ENCRYPTION_KEYS holds one or more Fernet keys, comma-separated, newest
first (make one with `python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"`). New secrets are encrypted under the first;
every listed key can still decrypt, so a new key is put in front, then
`manage.py reencrypt_api_keys` rewrites every stored secret under it, then the old
key can be dropped. Without the variable (a zero-configuration run) one key is derived
from SECRET_KEY, so nothing needs setting; production should set its own.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac

__all__ = ["InvalidToken", "decrypt", "encrypt", "reencrypt"]


def _keys() -> list[Fernet]:
    configured = [k.strip() for k in settings.PLAYGROUND_ENCRYPTION_KEYS if k.strip()]
    if not configured:
        derived = salted_hmac("playground.billing.encryption", "v1", algorithm="sha256").digest()
        configured = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return [Fernet(key) for key in configured]
    except ValueError as error:
        raise ImproperlyConfigured(
            "PLAYGROUND_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes), "
            "comma-separated, newest first."
        ) from error


def _fernet() -> MultiFernet:
    return MultiFernet(_keys())


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """Only the worker calls this, just before it talks to EvoLink."""
    return _fernet().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same secret under the newest key."""
    return _fernet().rotate(token.encode()).decode()
