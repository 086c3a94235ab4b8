"""Temporal's default JWT claim mapper: a bearer token's ``permissions`` become roles."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from frontend.auth.access import Role

logger = logging.getLogger(__name__)

SYSTEM_SCOPE = "temporal-system"
"""The namespace part of a permission that grants a role in every namespace and cluster-wide
(Temporal's system namespace name: ``temporal-system:admin``)."""

SUPPORTED_ALGORITHMS = ("RS256", "ES256")
"""Temporal's default key provider verifies RSA and P-256 ECDSA signatures, nothing else."""

_ROLES = {"read": Role.READER, "write": Role.WRITER, "worker": Role.WORKER, "admin": Role.ADMIN}
_FETCH_TIMEOUT_S = 10.0


class InvalidTokenError(Exception):
    """The authorization header holds no valid token; the caller sees only "unauthorized"."""


@dataclass
class Claims:
    """Who calls and with which roles.

    Attributes:
        subject: The token's ``sub``.
        system: Roles in every namespace and cluster-wide.
        namespaces: Roles per namespace name.
    """

    subject: str
    system: Role = Role.NONE
    namespaces: dict[str, Role] = field(default_factory=dict)

    def role_in(self, namespace: str) -> Role:
        """The roles that count in ``namespace``: its own and the system ones."""
        return self.system | self.namespaces.get(namespace, Role.NONE)


def permissions_to_claims(subject: str, permissions: Any) -> Claims:
    """Maps a ``permissions`` claim (``["default:write", "temporal-system:admin"]``) to roles.

    Entries that are not strings, lack a colon or name an unknown role add nothing, as in
    Temporal (which logs and ignores them); roles are case-insensitive, namespaces are not.
    """
    claims = Claims(subject)
    if not isinstance(permissions, list):
        return claims
    for permission in permissions:
        if not isinstance(permission, str) or ":" not in permission:
            logger.warning("ignoring permission in unexpected format: %r", permission)
            continue
        namespace, role_name = permission.split(":", 1)
        role = _ROLES.get(role_name.lower(), Role.NONE)
        if namespace == SYSTEM_SCOPE:
            claims.system |= role
        else:
            claims.namespaces[namespace] = claims.namespaces.get(namespace, Role.NONE) | role
    return claims


class JwksKeys:
    """Public keys from JWKS documents (files or URLs), re-read every ``refresh_s`` seconds.

    Args:
        sources: Paths, ``file://`` URIs or ``http(s)://`` URLs of JWKS documents.
        refresh_s: Age after which the next lookup re-reads the sources first; 0 never.
    """

    def __init__(self, sources: Sequence[str], refresh_s: float = 60.0) -> None:
        if not sources:
            raise ValueError("the authorizer needs at least one JWKS source")
        self.sources = tuple(sources)
        self.refresh_s = refresh_s
        self._keys: dict[str, rsa.RSAPublicKey | ec.EllipticCurvePublicKey] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def load(self) -> None:
        """Reads every source and swaps the key set in; blocking.

        Raises:
            OSError: A source cannot be read.
            ValueError: A source is not a JWKS document.
        """
        keys: dict[str, rsa.RSAPublicKey | ec.EllipticCurvePublicKey] = {}
        for source in self.sources:
            keys.update(_read_jwks(source))
        self._keys = keys
        self._loaded_at = time.monotonic()

    async def key(self, kid: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey | None:
        """The key with this id, re-reading the sources first when they are stale."""
        if self.refresh_s > 0 and time.monotonic() - self._loaded_at >= self.refresh_s:
            async with self._lock:
                if time.monotonic() - self._loaded_at >= self.refresh_s:
                    try:
                        await asyncio.to_thread(self.load)
                    except (OSError, ValueError) as exc:
                        # Keep the old keys, as Temporal does, and try again next interval.
                        self._loaded_at = time.monotonic()
                        logger.error("cannot refresh the JWKS keys: %s", exc)
        return self._keys.get(kid)


def _read_jwks(source: str) -> dict[str, rsa.RSAPublicKey | ec.EllipticCurvePublicKey]:
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https"):
        with urllib.request.urlopen(source, timeout=_FETCH_TIMEOUT_S) as response:
            text = response.read().decode("utf-8")
    elif parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file URI with remote host is not supported: {source}")
        text = Path(urllib.parse.unquote(parsed.path)).read_text("utf-8")
    else:
        text = Path(source).read_text("utf-8")
    try:
        document = json.loads(text)
        entries = document["keys"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{source} is not a JWKS document (an object with 'keys')") from exc
    keys: dict[str, rsa.RSAPublicKey | ec.EllipticCurvePublicKey] = {}
    for entry in entries if isinstance(entries, list) else ():
        try:
            key = jwt.PyJWK(entry).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError) as exc:
            logger.warning("ignoring a JWKS key of %s: %s", source, exc)
            continue
        if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) and "kid" in entry:
            keys[str(entry["kid"])] = key
        else:
            logger.warning("ignoring a JWKS key of %s that is not a public RSA/EC key", source)
    return keys


class JwtClaimMapper:
    """Turns an ``authorization`` header into claims, like Temporal's default claim mapper.

    Args:
        keys: The verification keys.
        audience: When set, a token's ``aud`` must hold it.
        permissions_claim: Name of the claim listing the permissions.
    """

    def __init__(
        self, keys: JwksKeys, audience: str | None = None, permissions_claim: str = "permissions"
    ) -> None:
        self.keys = keys
        self.audience = audience.strip() if audience and audience.strip() else None
        self.permissions_claim = permissions_claim

    async def claims(self, header: str) -> Claims:
        """The claims of a ``Bearer <jwt>`` header.

        Raises:
            InvalidTokenError: Not a bearer token, a bad signature, an unknown key, expired,
                not yet valid, the wrong audience or no string ``sub``.
        """
        scheme, _, token = header.partition(" ")
        if not token:
            raise InvalidTokenError("unexpected authorization token format")
        if scheme.lower() != "bearer":
            raise InvalidTokenError("unexpected name in authorization token")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if not isinstance(kid, str):
                raise InvalidTokenError('malformed token - no "kid" header')
            key = await self.keys.key(kid)
            if key is None:
                raise InvalidTokenError(f"no key for key ID: {kid}")
            payload = jwt.decode(
                token,
                key,
                algorithms=list(SUPPORTED_ALGORITHMS),
                audience=self.audience,
                options={"verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(str(exc)) from exc
        subject = payload.get("sub")
        if not isinstance(subject, str):
            raise InvalidTokenError('unexpected value type of "sub" claim')
        return permissions_to_claims(subject, payload.get(self.permissions_claim))
