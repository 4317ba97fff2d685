"""Secrets at rest: each workspace's Origami key, encrypted with ``SECRETS_KEY``.

cryptography's Fernet (AES-128-CBC with an HMAC-SHA256 tag) through ``MultiFernet``:
the first key encrypts, every key decrypts, so keys rotate by putting a new one first and
dropping the old one once ``SecretBox.rotate`` has re-encrypted what it sealed.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretUnreadable(Exception):
    """A stored secret none of the keys opens (a key dropped too soon, or tampering)."""


class SecretBox:
    def __init__(self, keys: str) -> None:
        """``keys``: Fernet keys, comma-separated, newest first (``SECRETS_KEY``)."""
        self._fernet = MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise SecretUnreadable("no key of SECRETS_KEY opens this secret") from None

    def rotate(self, sealed: bytes) -> bytes:
        """``sealed`` encrypted again under the newest key."""
        try:
            return self._fernet.rotate(sealed)
        except InvalidToken:
            raise SecretUnreadable("no key of SECRETS_KEY opens this secret") from None
