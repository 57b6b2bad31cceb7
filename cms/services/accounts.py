"""Accounts: creation, password policy and hashing, sign-in with throttling."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select

from cms.config import ROLES, SecurityConfig
from cms.errors import Conflict, InvalidCredentials, LoginThrottled, NotFound, ValidationFailed, WeakPassword
from cms.extensions import db
from cms.models import LoginAttempt, User
from cms.models.types import utcnow
from cms.services.audit import Actor, record

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# argon2id with the library's defaults (t=3, m=64 MiB, p=4): OWASP's recommended family.
_hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, so a missing
# account takes as long to refuse as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class NewAccount:
    email: str
    role: str
    password: str
    display_name: str = ""


def normalise_email(email: str) -> str:
    return email.strip().lower()


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, email: str, policy: SecurityConfig) -> None:
    """Refuse short, common or guessable passwords, with a reason a person understands."""
    if len(password) < policy.password_min_length:
        raise WeakPassword(
            "The password must have at least %(min)d characters.", code="password_too_short", min=policy.password_min_length
        )
    lowered = password.lower()
    core = lowered.strip("0123456789!@#$%^&*()_-+=.,;:?~ ")
    local_part = normalise_email(email).split("@")[0]
    # The e-mail name inside the password is the first thing an attacker tries.
    if lowered in _common_passwords() or core in _common_passwords() or (len(local_part) >= 4 and local_part in lowered):
        raise WeakPassword("This password is too common or too easy to guess.", code="password_common")
    from zxcvbn import zxcvbn

    if zxcvbn(password[:72], user_inputs=[email, local_part])["score"] < 3:  # it refuses longer input
        raise WeakPassword("This password is too common or too easy to guess.", code="password_common")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def generate_password() -> str:
    """A password that passes the policy, for new accounts and the demo admin."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def create_user(account: NewAccount, policy: SecurityConfig, actor: Actor) -> User:
    email = normalise_email(account.email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationFailed("%(email)s is not an e-mail address.", code="email_invalid", email=account.email)
    if account.role not in ROLES:
        raise ValidationFailed("Unknown role %(role)s; use one of %(roles)s.", code="role_invalid", role=account.role, roles=", ".join(ROLES))
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict("An account for %(email)s already exists.", code="email_taken", email=email)
    check_password(account.password, email, policy)
    user = User(email=email, role=account.role, password_hash=hash_password(account.password), display_name=account.display_name.strip())
    db.session.add(user)
    db.session.flush()
    record(actor, "user.create", "user", user.id, email=email, role=account.role)
    return user


def set_password(user: User, password: str, policy: SecurityConfig, actor: Actor) -> None:
    check_password(password, user.email, policy)
    user.password_hash = hash_password(password)
    user.session_generation += 1  # signs out every other session of this account
    record(actor, "user.password", "user", user.id, email=user.email)


def change_password(user: User, current: str, new: str, policy: SecurityConfig) -> None:
    if not _verify(user.password_hash, current):
        raise ValidationFailed("The current password is not right.", code="password_wrong")
    set_password(user, new, policy, Actor.of(user))


def set_role(user: User, role: str, actor: Actor) -> None:
    if role not in ROLES:
        raise ValidationFailed("Unknown role %(role)s; use one of %(roles)s.", code="role_invalid", role=role, roles=", ".join(ROLES))
    if user.id == actor.user_id and role != "admin":
        raise ValidationFailed("You cannot remove your own admin role.", code="own_role")
    if user.role != role:
        record(actor, "user.role", "user", user.id, email=user.email, before=user.role, after=role)
        user.role = role
        user.session_generation += 1


def set_active(user: User, active: bool, actor: Actor) -> None:
    if user.id == actor.user_id and not active:
        raise ValidationFailed("You cannot deactivate your own account.", code="own_account")
    if user.active != active:
        user.active = active
        user.session_generation += 1
        record(actor, "user.activate" if active else "user.deactivate", "user", user.id, email=user.email)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such account.", code="user_not_found")
    return user


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def describe_user(user: User) -> dict[str, object]:
    return {"id": user.id, "email": user.email, "display_name": user.display_name, "role": user.role, "active": user.active}


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _recent_failures(column: object, value: str, since: datetime, forgiven_by_success: bool) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.at >= since, LoginAttempt.success.is_(False)
    )
    if forgiven_by_success:
        last_success = db.session.scalar(
            select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.success.is_(True))
        )
        if last_success is not None:
            query = query.where(LoginAttempt.at > last_success)
    return db.session.scalar(query) or 0


def authenticate(email: str, password: str, ip: str, policy: SecurityConfig, now: datetime | None = None) -> User:
    """The account for these credentials, or an error that never tells whether it exists.

    Failures are counted per typed e-mail (existing or not) and per client IP; past
    the limits every attempt is refused with the same message until the window passes.
    """
    now = now or utcnow()
    key = normalise_email(email)[:254]
    since = now - timedelta(minutes=policy.login_window_minutes)
    # An account's owner signing in forgives that account's failures; an address's
    # failures stand, or one valid account would let it guess at all the others.
    throttled = (
        _recent_failures(LoginAttempt.account_key, key, since, True) >= policy.login_max_failures_per_account
        or _recent_failures(LoginAttempt.ip, ip, since, False) >= policy.login_max_failures_per_ip
    )
    if throttled:
        db.session.add(LoginAttempt(at=now, account_key=key, ip=ip, success=False))
        db.session.commit()
        raise LoginThrottled("Too many sign-in attempts. Wait %(minutes)d minutes and try again.", minutes=policy.login_window_minutes)
    user = find_user(key)
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None and user.active
    db.session.add(LoginAttempt(at=now, account_key=key, ip=ip, success=ok))
    if not ok or user is None:
        db.session.commit()
        raise InvalidCredentials("The e-mail or password is not right.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    record(Actor.of(user), "user.login", "user", user.id, ip=ip)
    db.session.commit()
    return user
