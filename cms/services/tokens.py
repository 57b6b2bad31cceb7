"""Per-user API tokens: shown once, stored as a sha256 hash, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select

from cms.errors import NotFound, ValidationFailed
from cms.extensions import db
from cms.models import ApiToken, User
from cms.models.types import utcnow
from cms.services.audit import Actor, record

TOKEN_PREFIX = "pnl_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str, actor: Actor) -> tuple[ApiToken, str]:
    """A new token for `user`; the plain token is returned once and never stored."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationFailed("Give the token a name of 1 to 100 characters.", code="token_name_invalid")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_digest(plain), prefix=plain[: len(TOKEN_PREFIX) + 6])
    db.session.add(token)
    db.session.flush()
    record(actor, "token.create", "api_token", token.id, user=user.email, name=name)
    return token, plain


def revoke_token(token_id: int, owner: User | None, actor: Actor) -> ApiToken:
    """Revoke a token; `owner` limits it to that user's tokens (None: any, for admins)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise NotFound("No such API token.", code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(actor, "token.revoke", "api_token", token.id, user=token.user.email, name=token.name)
    return token


def user_for_token(authorization: str, now: datetime | None = None) -> User | None:
    scheme, _, plain = authorization.partition(" ")
    if scheme.lower() != "bearer" or not plain.strip().startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plain.strip())))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    token.last_used_at = now or utcnow()
    db.session.commit()
    return token.user
