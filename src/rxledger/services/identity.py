"""People and their access: users with argon2 passwords, roles granted per site, web sessions,
API tokens, and throttling of repeated failed sign-ins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from rxledger.adapters import repository as repo
from rxledger.adapters import security
from rxledger.adapters import tables as t
from rxledger.adapters.tables import UtcDateTime
from rxledger.domain import errors
from rxledger.domain.permissions import Actor, Grant, Permission, Role
from rxledger.services import audit
from rxledger.services.runtime import Runtime

THROTTLE_PER_CLIENT = 20


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    full_name: str
    active: bool
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True)
class SessionInfo:
    actor: Actor
    csrf_token: str
    site_id: int | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    name: str
    prefix: str
    user_id: int
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


# --- users and roles ----------------------------------------------------------------------------


def create_user(
    rt: Runtime,
    actor: Actor,
    *,
    username: str,
    full_name: str,
    password: str,
    grants: Sequence[Grant] = (),
) -> UserView:
    """Add a person; whoever grants a role must manage users at that site (or everywhere)."""
    actor.require_anywhere(Permission.MANAGE_USERS)
    if not grants and not actor.is_organization_admin:
        raise errors.Forbidden("a site administrator creates users with a role at their site")
    name = username.strip().lower()
    if not name or len(name) > 80 or not all(c.isalnum() or c in "._-@" for c in name):
        raise errors.ValidationFailed(
            "a user name is 1-80 letters, digits or . _ - @", field="username"
        )
    _check_password(rt, password)
    for grant in grants:
        _require_grantable(actor, grant)
    hashed = security.hash_password(password)
    with rt.uow() as uow:
        conn = uow.connection
        try:
            user_id = conn.execute(
                insert(t.users)
                .values(
                    organization_id=actor.organization_id,
                    username=name,
                    full_name=full_name.strip() or name,
                    password_hash=hashed,
                    active=True,
                    created_at=rt.clock.now(),
                )
                .returning(t.users.c.id)
            ).scalar_one()
        except IntegrityError as exc:
            raise errors.DuplicateCode(f"user {name} exists", username=name) from exc
        for grant in dict.fromkeys(grants):
            _insert_grant(conn, actor.organization_id, user_id, grant)
        after = {"username": name, "full_name": full_name.strip() or name, "active": True}
        _audit(rt, conn, actor, "create user", user_id, None, after | _granted(grants))
        uow.commit()
    return get_user(rt, actor, user_id)


def _check_password(rt: Runtime, password: str) -> None:
    if len(password) < rt.security.min_password_length:
        raise errors.ValidationFailed(
            f"a password has at least {rt.security.min_password_length} characters",
            field="password",
        )


def _granted(grants: Sequence[Grant]) -> dict[str, Any]:
    unique = sorted(dict.fromkeys(grants), key=lambda g: (g.role.value, g.site_id or 0))
    return {"grants": [[g.role.value, g.site_id] for g in unique]}


def _audit(
    rt: Runtime,
    conn: Connection,
    actor: Actor,
    action: str,
    subject_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    subject_type: str = "user",
) -> None:
    audit.record(
        conn,
        actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        site_id=None,
        before=before,
        after=after,
        at=rt.clock.now(),
    )


def _require_grantable(actor: Actor, grant: Grant) -> None:
    if grant.site_id is None:
        if not actor.is_organization_admin:
            raise errors.Forbidden("only an organization-wide administrator grants org-wide roles")
    else:
        actor.require(Permission.MANAGE_USERS, grant.site_id)


def _require_manages(actor: Actor, grants: Sequence[Grant]) -> None:
    """An organization-wide admin manages everyone; a site admin manages only people whose every
    role is at sites they administer."""
    if actor.is_organization_admin:
        return
    if not grants or any(g.site_id is None for g in grants):
        raise errors.Forbidden("only an organization-wide administrator manages this user")
    for grant in grants:
        assert grant.site_id is not None
        actor.require(Permission.MANAGE_USERS, grant.site_id)


def _managed(actor: Actor, conn: Connection, user_id: int) -> Any:
    """The user row, after checking the actor manages that user."""
    row = _user_row(conn, actor, user_id)
    _require_manages(actor, _grants(conn, [user_id]).get(user_id, ()))
    return row


def _insert_grant(conn: Connection, org_id: int, user_id: int, grant: Grant) -> None:
    if grant.site_id is not None and repo.site_by_id(conn, org_id, grant.site_id) is None:
        raise errors.SiteNotFound(f"no site {grant.site_id}", site_id=grant.site_id)
    existing = conn.execute(
        select(t.role_grants.c.id).where(
            t.role_grants.c.user_id == user_id,
            t.role_grants.c.role == grant.role.value,
            t.role_grants.c.site_id.is_(None)
            if grant.site_id is None
            else t.role_grants.c.site_id == grant.site_id,
        )
    ).first()
    if existing is None:
        conn.execute(
            insert(t.role_grants).values(
                organization_id=org_id,
                user_id=user_id,
                role=grant.role.value,
                site_id=grant.site_id,
            )
        )


def grant_role(rt: Runtime, actor: Actor, user_id: int, grant: Grant) -> UserView:
    _require_grantable(actor, grant)
    with rt.uow() as uow:
        row = _user_row(uow.connection, actor, user_id)
        before = _grants(uow.connection, [user_id]).get(user_id, ())
        _insert_grant(uow.connection, actor.organization_id, user_id, grant)
        view = _view(row, _grants(uow.connection, [user_id]).get(user_id, ()))
        _audit(
            rt,
            uow.connection,
            actor,
            "grant role",
            user_id,
            _granted(before),
            _granted(view.grants),
        )
        uow.commit()
    return view


def revoke_role(rt: Runtime, actor: Actor, user_id: int, grant: Grant) -> UserView:
    _require_grantable(actor, grant)
    with rt.uow() as uow:
        row = _user_row(uow.connection, actor, user_id)
        before = _grants(uow.connection, [user_id]).get(user_id, ())
        g = t.role_grants
        site = g.c.site_id.is_(None) if grant.site_id is None else g.c.site_id == grant.site_id
        uow.connection.execute(
            delete(g).where(g.c.user_id == user_id, g.c.role == grant.role.value, site)
        )
        view = _view(row, _grants(uow.connection, [user_id]).get(user_id, ()))
        _audit(
            rt,
            uow.connection,
            actor,
            "revoke role",
            user_id,
            _granted(before),
            _granted(view.grants),
        )
        uow.commit()
    return view


def set_active(rt: Runtime, actor: Actor, user_id: int, active: bool) -> UserView:
    """Deactivate (or reactivate) a user; a deactivated user's sessions and tokens stop working."""
    actor.require_anywhere(Permission.MANAGE_USERS)
    with rt.uow() as uow:
        row = _managed(actor, uow.connection, user_id)
        uow.connection.execute(update(t.users).where(t.users.c.id == user_id).values(active=active))
        view = _view(row, _grants(uow.connection, [user_id]).get(user_id, ()))
        change = "activate user" if active else "deactivate user"
        _audit(
            rt, uow.connection, actor, change, user_id, {"active": row.active}, {"active": active}
        )
        uow.commit()
    return UserView(view.id, view.username, view.full_name, active, view.grants)


def set_password(rt: Runtime, actor: Actor, user_id: int, password: str) -> None:
    """Users change their own password; user managers reset others'."""
    if actor.user_id != user_id:
        actor.require_anywhere(Permission.MANAGE_USERS)
    _check_password(rt, password)
    with rt.uow() as uow:
        if actor.user_id == user_id:
            _user_row(uow.connection, actor, user_id)
        else:
            _managed(actor, uow.connection, user_id)
        uow.connection.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(password_hash=security.hash_password(password))
        )
        _audit(rt, uow.connection, actor, "change password", user_id, None, None)
        uow.commit()


def get_user(rt: Runtime, actor: Actor, user_id: int) -> UserView:
    if actor.user_id != user_id:
        actor.require_anywhere(Permission.MANAGE_USERS)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        row = (
            _user_row(conn, actor, user_id)
            if actor.user_id == user_id
            else _managed(actor, conn, user_id)
        )
        return _view(row, _grants(conn, [user_id]).get(user_id, ()))


def list_users(rt: Runtime, actor: Actor) -> list[UserView]:
    """The people the actor manages: everyone for an organization-wide admin, else those whose
    every role is at the actor's sites."""
    actor.require_anywhere(Permission.MANAGE_USERS)
    with rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(t.users)
            .where(t.users.c.organization_id == actor.organization_id)
            .order_by(t.users.c.username)
        ).all()
        grants = _grants(uow.connection, [r.id for r in rows])
    return [_view(r, grants.get(r.id, ())) for r in rows if _manages(actor, grants.get(r.id, ()))]


def _manages(actor: Actor, grants: Sequence[Grant]) -> bool:
    try:
        _require_manages(actor, grants)
    except errors.Forbidden:
        return False
    return True


def _user_row(conn: Connection, actor: Actor, user_id: int) -> Any:
    row = conn.execute(
        select(t.users).where(
            t.users.c.organization_id == actor.organization_id, t.users.c.id == user_id
        )
    ).first()
    if row is None:
        raise errors.NotFound(f"no user {user_id}", user_id=user_id)
    return row


def _grants(conn: Connection, user_ids: Sequence[int]) -> dict[int, tuple[Grant, ...]]:
    found: dict[int, list[Grant]] = {}
    if not user_ids:
        return {}
    rows = conn.execute(
        select(t.role_grants)
        .where(t.role_grants.c.user_id.in_(user_ids))
        .order_by(t.role_grants.c.id)
    )
    for r in rows:
        found.setdefault(r.user_id, []).append(Grant(Role(r.role), r.site_id))
    return {k: tuple(v) for k, v in found.items()}


def _view(row: Any, grants: tuple[Grant, ...]) -> UserView:
    return UserView(row.id, row.username, row.full_name, bool(row.active), grants)


def _actor(row: Any, grants: tuple[Grant, ...]) -> Actor:
    return Actor(row.organization_id, row.username, row.id, grants)


# --- signing in ---------------------------------------------------------------------------------


def authenticate(
    rt: Runtime, organization_id: int, username: str, password: str, client: str
) -> Actor:
    """Check a password; after too many failures in the window, refuse without checking."""
    name = username.strip().lower()
    now = rt.clock.now()
    with rt.uow() as uow:
        conn = uow.connection
        _throttle(rt, conn, organization_id, name, client, now)
        row = conn.execute(
            select(t.users).where(
                t.users.c.organization_id == organization_id, t.users.c.username == name
            )
        ).first()
        ok = security.verify_password(row.password_hash if row else None, password)
        ok = ok and row is not None and bool(row.active)
        conn.execute(
            insert(t.sign_in_attempts).values(
                organization_id=organization_id,
                username=name,
                client=client[:64],
                succeeded=ok,
                at=now,
            )
        )
        uow.commit()
    if not ok or row is None:
        raise errors.Unauthenticated("user name or password is wrong, or the user is inactive")
    with rt.uow(read_only=True) as uow:
        grants = _grants(uow.connection, [row.id]).get(row.id, ())
    return _actor(row, grants)


def _throttle(
    rt: Runtime, conn: Connection, org_id: int, name: str, client: str, now: datetime
) -> None:
    since = now - rt.security.failed_sign_in_window
    a = t.sign_in_attempts
    recent = and_(a.c.at >= since, a.c.succeeded.is_(False))
    by_user = conn.execute(
        select(func.count(), func.min(a.c.at)).where(
            recent, a.c.organization_id == org_id, a.c.username == name
        )
    ).one()
    by_client = conn.execute(
        select(func.count()).where(recent, a.c.client == client[:64])
    ).scalar_one()
    if by_user[0] >= rt.security.max_failed_sign_ins or by_client >= THROTTLE_PER_CLIENT:
        oldest = by_user[1] or now
        retry = max(1, int((oldest + rt.security.failed_sign_in_window - now).total_seconds()))
        raise errors.TooManyAttempts(
            "too many failed sign-ins; try again later", retry_after_seconds=retry
        )


def start_session(rt: Runtime, actor: Actor, site_id: int | None = None) -> tuple[str, SessionInfo]:
    """Open a server-side web session; the cookie holds a random token, the table its keyed hash."""
    if actor.user_id is None:
        raise errors.Unauthenticated("only a signed-in user has a web session")
    token = security.new_token("rxs")
    csrf = security.new_csrf_token()
    now = rt.clock.now()
    expires = now + rt.security.session_lifetime
    with rt.uow() as uow:
        uow.connection.execute(
            insert(t.web_sessions).values(
                organization_id=actor.organization_id,
                user_id=actor.user_id,
                token_hash=security.token_hash(rt.security.secret_key, token),
                csrf_token=csrf,
                site_id=site_id,
                created_at=now,
                expires_at=expires,
            )
        )
        uow.commit()
    return token, SessionInfo(actor, csrf, site_id, expires)


def session(rt: Runtime, token: str) -> SessionInfo:
    """The signed-in user behind a session cookie; expired, ended or inactive is unauthenticated."""
    now = rt.clock.now()
    s, u = t.web_sessions, t.users
    with rt.uow(read_only=True) as uow:
        row = uow.connection.execute(
            select(s.c.csrf_token, s.c.site_id, s.c.expires_at, u)
            .join(u, u.c.id == s.c.user_id)
            .where(
                s.c.token_hash == security.token_hash(rt.security.secret_key, token),
                s.c.ended_at.is_(None),
                s.c.expires_at > now,
                u.c.active.is_(True),
            )
        ).first()
        if row is None:
            raise errors.Unauthenticated("the session has expired or ended; sign in again")
        grants = _grants(uow.connection, [row.id]).get(row.id, ())
    return SessionInfo(_actor(row, grants), row.csrf_token, row.site_id, row.expires_at)


def switch_site(rt: Runtime, token: str, site_id: int) -> SessionInfo:
    info = session(rt, token)
    info.actor.require(Permission.VIEW, site_id)
    with rt.uow() as uow:
        uow.connection.execute(
            update(t.web_sessions)
            .where(
                t.web_sessions.c.token_hash == security.token_hash(rt.security.secret_key, token)
            )
            .values(site_id=site_id)
        )
        uow.commit()
    return SessionInfo(info.actor, info.csrf_token, site_id, info.expires_at)


def end_session(rt: Runtime, token: str) -> None:
    with rt.uow() as uow:
        uow.connection.execute(
            update(t.web_sessions)
            .where(
                t.web_sessions.c.token_hash == security.token_hash(rt.security.secret_key, token)
            )
            .values(ended_at=rt.clock.now())
        )
        uow.commit()


# --- API tokens ---------------------------------------------------------------------------------


def create_token(
    rt: Runtime, actor: Actor, name: str, expires_in: timedelta | None = None
) -> tuple[str, TokenView]:
    """A bearer token for the API, acting as this user with this user's roles; shown once."""
    if actor.user_id is None:
        raise errors.Unauthenticated("API tokens belong to a user")
    if not name.strip() or len(name) > 120:
        raise errors.ValidationFailed("a token name is 1-120 characters", field="name")
    token = security.new_token("rxl")
    now = rt.clock.now()
    with rt.uow() as uow:
        token_id = uow.connection.execute(
            insert(t.api_tokens)
            .values(
                organization_id=actor.organization_id,
                user_id=actor.user_id,
                name=name.strip(),
                prefix=token[:10],
                token_hash=security.token_hash(rt.security.secret_key, token),
                created_at=now,
                expires_at=now + expires_in if expires_in else None,
            )
            .returning(t.api_tokens.c.id)
        ).scalar_one()
        after = {"name": name.strip(), "prefix": token[:10], "user_id": actor.user_id}
        _audit(rt, uow.connection, actor, "create token", token_id, None, after, "token")
        uow.commit()
    return token, _tokens(rt, actor, token_id)[0]


def list_tokens(rt: Runtime, actor: Actor) -> list[TokenView]:
    """A user's own tokens (revoked ones included, for the record)."""
    return _tokens(rt, actor)


def _tokens(rt: Runtime, actor: Actor, token_id: int | None = None) -> list[TokenView]:
    a = t.api_tokens
    statement = select(a).where(
        a.c.organization_id == actor.organization_id, a.c.user_id == actor.user_id
    )
    if token_id is not None:
        statement = statement.where(a.c.id == token_id)
    with rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(statement.order_by(a.c.id)).all()
    return [
        TokenView(
            r.id,
            r.name,
            r.prefix,
            r.user_id,
            r.created_at,
            r.expires_at,
            r.last_used_at,
            r.revoked_at,
        )
        for r in rows
    ]


def revoke_token(rt: Runtime, actor: Actor, token_id: int) -> TokenView:
    """Revoke one of one's own tokens (user managers may revoke anyone's)."""
    a = t.api_tokens
    with rt.uow() as uow:
        row = uow.connection.execute(
            select(a).where(a.c.organization_id == actor.organization_id, a.c.id == token_id)
        ).first()
        if row is None:
            raise errors.NotFound(f"no token {token_id}", token_id=token_id)
        if row.user_id != actor.user_id:
            try:
                _managed(actor, uow.connection, row.user_id)
            except errors.Forbidden:  # someone else's token: do not reveal it exists
                raise errors.NotFound(f"no token {token_id}", token_id=token_id) from None
        if row.revoked_at is None:
            uow.connection.execute(
                update(a).where(a.c.id == token_id).values(revoked_at=rt.clock.now())
            )
            after = {"revoked": True, "user_id": row.user_id}
            _audit(rt, uow.connection, actor, "revoke token", token_id, None, after, "token")
        uow.commit()
    owner = Actor(actor.organization_id, actor.username, row.user_id, actor.grants)
    return _tokens(rt, owner, token_id)[0]


def token_actor(rt: Runtime, token: str) -> Actor:
    """The user a bearer token acts for; revoked, expired or inactive is unauthenticated.

    One statement on every API request: the token, its user and the user's grants together."""
    digest = security.token_hash(rt.security.secret_key, token)
    with rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(_TOKEN_ACTOR, {"digest": digest, "now": rt.clock.now()}).all()
    if not rows:
        raise errors.Unauthenticated("the API token is unknown, revoked or expired")
    first = rows[0]
    grants = tuple(Grant(Role(r.role), r.site_id) for r in rows if r.role is not None)
    return Actor(first.organization_id, first.username, first.id, grants)


def _token_actor_statement() -> Select[Any]:
    a, u, g = t.api_tokens, t.users, t.role_grants
    return (
        select(u.c.id, u.c.organization_id, u.c.username, g.c.role, g.c.site_id)
        .select_from(a.join(u, a.c.user_id == u.c.id).outerjoin(g, g.c.user_id == u.c.id))
        .where(
            a.c.token_hash == bindparam("digest"),
            a.c.revoked_at.is_(None),
            (a.c.expires_at.is_(None)) | (a.c.expires_at > bindparam("now", type_=UtcDateTime())),
            u.c.active.is_(True),
        )
        .order_by(g.c.id)
    )


_TOKEN_ACTOR = _token_actor_statement()


def user_actor(rt: Runtime, organization_id: int, username: str) -> Actor:
    """The actor for a named, active user (the CLI's ``--user`` when the organization has users)."""
    with rt.uow(read_only=True) as uow:
        row = uow.connection.execute(
            select(t.users).where(
                t.users.c.organization_id == organization_id,
                t.users.c.username == username.strip().lower(),
                t.users.c.active.is_(True),
            )
        ).first()
        if row is None:
            raise errors.Unauthenticated(f"no active user {username!r}", username=username)
        grants = _grants(uow.connection, [row.id]).get(row.id, ())
    return _actor(row, grants)


def has_users(rt: Runtime, organization_id: int) -> bool:
    with rt.uow(read_only=True) as uow:
        return (
            uow.connection.execute(
                select(t.users.c.id).where(t.users.c.organization_id == organization_id).limit(1)
            ).first()
            is not None
        )


def console_actor(rt: Runtime, organization_id: int, username: str) -> Actor:
    """Who the command line acts as: the named user with that user's roles; before anyone has
    been given an account, the operator at the console with every permission."""
    try:
        return user_actor(rt, organization_id, username)
    except errors.Unauthenticated:
        if has_users(rt, organization_id):
            raise
        return Actor.system(organization_id, username)
