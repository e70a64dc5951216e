"""HTTP: /api/auth — login, refresh, logout, current user, password change."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Cookie, Request, Response, status

from hounsfield.auth import api_keys, scope, service
from hounsfield.auth.deps import CurrentUser, Public, audit_refusal, forget_users, requires
from hounsfield.auth.models import ApiKey
from hounsfield.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    BreakGlassClaim,
    BreakGlassRead,
    LoginRequest,
    Me,
    PasswordChange,
    RefreshRequest,
    TokenResponse,
)
from hounsfield.config import get_settings
from hounsfield.context import client_ip
from hounsfield.db import SessionDep, WriteSessionDep, after_commit, transaction
from hounsfield.errors import BadRequest
from hounsfield.kv import get_store
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/auth", tags=["auth"])
keys_router = APIRouter(prefix="/api/api-keys", tags=["api-keys"])

COOKIE = "hf_refresh"
COOKIE_PATH = "/api/auth"


def _token_response(response: Response, pair: service.TokenPair) -> TokenResponse:
    response.set_cookie(
        COOKIE,
        pair.refresh_token,
        max_age=pair.refresh_expires_in,
        path=COOKIE_PATH,
        httponly=True,
        secure=get_settings().auth.cookie_secure,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
    )


def prefers_english(request: Request) -> bool:
    """Server messages are zh-CN unless Accept-Language ranks English above Chinese."""
    ranked = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            ranked.append((float(q) if q else 1.0, tag.strip().lower()))
        except ValueError:
            continue
    for _q, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag.startswith(("zh", "en")):
            return tag.startswith("en")
    return False


@router.post("/login", dependencies=[Public])
def login(body: LoginRequest, request: Request, response: Response) -> TokenResponse:
    """Exchange a username and password for an access token and a refresh token."""
    settings = get_settings()
    # The transaction commits the audit row before a refusal is raised.
    with transaction(write=True) as session:
        outcome = service.login(
            session, settings, get_store(), body.username, body.password, client_ip.get() or "-"
        )
    return _token_response(response, outcome.raise_for_failure(prefers_english(request)))


@router.post("/refresh", dependencies=[Public])
def refresh(
    request: Request,
    response: Response,
    body: Annotated[RefreshRequest | None, Body()] = None,
    cookie: Annotated[str | None, Cookie(alias=COOKIE)] = None,
) -> TokenResponse:
    """Rotate the refresh token (cookie or body). Reusing an old one ends the whole session."""
    token = (body.refresh_token if body else None) or cookie
    if not token:
        audit_refusal(request, service.RefreshInvalid.code, "no refresh token")
        raise service.RefreshInvalid()
    with transaction(write=True) as session:
        outcome = service.refresh(session, get_settings(), token)
    if outcome.tokens is None:
        audit_refusal(request, service.RefreshInvalid.code, "refresh token refused")
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return _token_response(response, outcome.raise_for_failure())


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request,
    user: CurrentUser,
    response: Response,
    body: Annotated[RefreshRequest | None, Body()] = None,
    cookie: Annotated[str | None, Cookie(alias=COOKIE)] = None,
) -> None:
    """Revoke this access token and its refresh-token family."""
    if request.state.claims is None:
        raise BadRequest("An API key has no session: an administrator revokes it.")
    with transaction(write=True) as session:
        service.logout(
            session,
            get_settings(),
            get_store(),
            user,
            request.state.claims,
            (body and body.refresh_token) or cookie,
        )
    response.delete_cookie(COOKIE, path=COOKIE_PATH)


@router.get("/me")
def me(user: CurrentUser) -> Me:
    """Who is logged in, with roles and effective permissions."""
    return Me(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=user.role_names,
        permissions=sorted(user.permissions),
        demo=user.demo,
        must_change_password=user.must_change_password,
    )


@router.post("/break-glass", status_code=status.HTTP_201_CREATED)
def break_glass(
    body: BreakGlassClaim, user: CurrentUser, session: WriteSessionDep
) -> BreakGlassRead:
    """Emergency access to every study for a while, with a reason: a Security Alert."""
    row = scope.claim_break_glass(session, user, body.reason, body.minutes)
    return BreakGlassRead(reason=row.reason, started_at=row.started_at, expires_at=row.expires_at)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChange, user: CurrentUser, session: WriteSessionDep) -> None:
    """Change one's own password; every session of the account ends (log in again)."""
    current = session.merge(user)
    service.change_password(
        session, get_settings(), current, body.current_password, body.new_password
    )
    after_commit(session, forget_users)  # the next login must not see the old flag


UserReader = Annotated[User, requires(Permission.user_read)]
UserManager = Annotated[User, requires(Permission.user_manage)]


def _key(row: ApiKey, account: User) -> ApiKeyRead:
    return ApiKeyRead(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=",".join(account.role_names),
        username=account.username,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


@keys_router.post("", status_code=status.HTTP_201_CREATED)
def create_api_key(
    body: ApiKeyCreate, user: UserManager, session: WriteSessionDep
) -> ApiKeyCreated:
    """Create a service account with one role and its API key. The key is shown only here."""
    created = api_keys.create(
        session, get_settings(), user, body.name, body.role, body.expires_in_days
    )
    read = _key(created.row, created.account)
    return ApiKeyCreated(**read.model_dump(), key=created.key)


@keys_router.get("")
def list_api_keys(_user: UserReader, session: SessionDep) -> list[ApiKeyRead]:
    """Every API key (never the key itself), revoked and expired ones too."""
    return [_key(row, account) for row, account in api_keys.list_keys(session)]


@keys_router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(key_id: uuid.UUID, user: UserManager, session: WriteSessionDep) -> None:
    """Revoke a key at once; its service account is disabled."""
    api_keys.revoke(session, user, key_id)
