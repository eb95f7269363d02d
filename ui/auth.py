"""The login gate every page passes through (via the frame): single-user mode without a users
file; otherwise a login form in the user's language, a signed cookie session with expiry
(streamlit-authenticator's), lockout after repeated failures, and logout."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import jwt
import streamlit as st

from analytics.display.i18n import Labels
from analytics.ops import users
from analytics.store.access import SINGLE_USER, Scope
from ui import widgets


def _cookie():  # type: ignore[no-untyped-def]
    """streamlit-authenticator's cookie model (a JWT signed with the users file's key)."""
    from streamlit_authenticator.models.cookie_model import CookieModel

    settings = users.cookie_settings()
    return CookieModel(settings["name"], settings["key"], settings["expiry_days"])


# Session keys that outlive a sign-out: the language and the cookie component's own widgets.
# Everything else a user made (reports, picks, uploads, cached plans) goes with them.
_KEPT_AT_SIGN_OUT = frozenset({"lang", "w_lang", "logout", "init", "set", "delete",
                               "get_all"})
_LOOPBACK = ("127.", "::1", "localhost")


def _client() -> str:
    """The browser's address as the server sees it (None in AppTest: the local operator)."""
    try:
        address = st.context.ip_address  # None for a browser on this machine
    except Exception:  # no client context (bare runs)
        return ""
    return address if isinstance(address, str) else ""  # AppTest hands a mock


def _single_user_allowed() -> bool:
    """Single-user mode (no users file) is anonymous admin: only for the local operator, unless
    the operator says otherwise (STEELSIGHT_ALLOW_OPEN=1)."""
    if users.open_mode_allowed():
        return True
    client = _client()
    return not client or client.startswith(_LOOPBACK)


def current_scope(labels: Labels) -> Scope:
    """The scope of the signed-in user; draws the login form and stops when nobody is."""
    try:
        required = users.login_required()
    except users.UsersFileError:
        st.error(labels("users_file_broken"))
        st.stop()
    if not required:
        if not _single_user_allowed():
            st.error(labels("single_user_refused"))
            st.stop()
        st.sidebar.info(labels("single_user"), icon="🔓")
        return SINGLE_USER
    # the cookie model reads this flag (streamlit-authenticator's Authenticate sets it)
    st.session_state.setdefault("logout", False)
    # one cookie manager per run: it is a component, and a second one is a duplicate widget
    cookie = _cookie()
    if st.session_state.pop("signing_out", False):
        _sign_out(cookie)
    name = _live_session() or _session_from_cookie(cookie)
    if name is not None:
        try:
            scope = users.scope_of(name)
        except (users.AuthError, users.UsersFileError):  # removed since the cookie was set
            _forget_user()
        else:
            st.session_state["auth_user"] = name
            _sidebar_user(labels, scope)
            return scope
    box = st.empty()
    with box.container():
        scope_now = _login_form(labels)
    if scope_now is None:
        st.stop()
    box.empty()
    # the cookie is set by a component that must reach the browser: outside the cleared box,
    # and the page draws in this same run (a rerun would drop it)
    _set_cookie(cookie)
    _sidebar_user(labels, scope_now)
    return scope_now


def _https() -> bool:
    """Whether the browser reached us over HTTPS (directly or through a proxy that says so)."""
    try:
        url = str(st.context.url or "")
        proto = str(st.context.headers.get("X-Forwarded-Proto", "") or "")
    except Exception:  # no client context (bare runs)
        return False
    return url.startswith("https://") or proto.lower() == "https"


def _set_cookie(cookie) -> None:  # type: ignore[no-untyped-def]
    """The signed session cookie: SameSite=Strict, and Secure over HTTPS so it never travels
    in clear. (It is written by a component in the page, so it cannot be HttpOnly.)"""
    expires = datetime.now() + timedelta(days=float(cookie.cookie_expiry_days))
    token = jwt.encode({"username": st.session_state["username"],
                        "exp_date": expires.timestamp()}, cookie.cookie_key, algorithm="HS256")
    cookie.cookie_manager.set(cookie.cookie_name, token, expires_at=expires,
                              secure=True if _https() else None, same_site="strict")


def _live_session() -> str | None:
    """The user signed in in this browser session, while that sign-in still counts: a password
    reset, a removal or a sign-out elsewhere ends it on the next click, not at the next
    reload."""
    name = st.session_state.get("auth_user")
    issued = st.session_state.get("auth_issued")
    if not name:
        return None
    if not isinstance(issued, datetime) or not users.session_valid(name, issued):
        _forget_user()
        return None
    return str(name)


def _forget_user() -> None:
    """Everything the signed-in user made in this session goes: a report, an upload, a picked
    customer must not reach the next person who signs in at this browser."""
    for key in list(st.session_state.keys()):
        if key not in _KEPT_AT_SIGN_OUT:
            del st.session_state[key]


def _session_from_cookie(cookie) -> str | None:  # type: ignore[no-untyped-def]
    """The user of a valid, signed, unexpired cookie. Anything else (tampered, another
    algorithm, missing claims) is no session: never an error shown to a visitor."""
    if st.session_state.get("logout"):
        return None  # signed out in this session: the old cookie does not count
    raw = st.context.cookies.get(cookie.cookie_name)
    if not raw:
        return None
    try:
        token = jwt.decode(raw, cookie.cookie_key, algorithms=["HS256"])
        name = str(token["username"])
        expires = datetime.fromtimestamp(float(token["exp_date"]), UTC)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, OverflowError):
        return None
    if not name or expires <= datetime.now(UTC):
        return None
    # the token carries its expiry; it was issued expiry_days before that
    issued = expires - timedelta(days=float(cookie.cookie_expiry_days))
    if not users.session_valid(name, issued):
        return None
    st.session_state["auth_issued"] = issued
    return name


def _login_form(labels: Labels) -> Scope | None:
    st.title(labels("login_title"))
    with st.form("login"):
        username = st.text_input(labels("login_user"), key="login_user")
        password = st.text_input(labels("login_password"), type="password",
                                 key="login_password")
        submitted = st.form_submit_button(labels("login_button"))
    if not submitted:
        return None
    try:
        scope = users.verify(username.strip(), password, client=_client_key())
    except users.AuthError as err:
        if err.code == "locked" and err.until is not None:
            st.error(labels("login_locked", minutes=max(1, int(
                (err.until - users.now()).total_seconds() // 60) + 1)))
        else:
            st.error(labels("login_invalid"))
        return None
    _forget_user()  # nothing of a previous user's session carries over
    st.session_state.update(auth_user=scope.user, username=scope.user, logout=False,
                            auth_issued=users.now())
    return scope


def _client_key() -> str:
    """Who is trying, for the lockout: the address, else this browser session. Failures lock
    this client out of that account, so nobody can lock another person out from afar."""
    client = _client()
    if client:
        return client
    return str(st.session_state.setdefault("_client_id", secrets.token_hex(8)))


def _sidebar_user(labels: Labels, scope: Scope) -> None:
    st.sidebar.success(labels("signed_in", user=widgets.plain(scope.user),
                              level=labels.value("level", scope.level)), icon="👤")
    st.sidebar.button(labels("logout"), key="logout_button",
                      on_click=lambda: st.session_state.update(signing_out=True))


def _sign_out(cookie) -> None:  # type: ignore[no-untyped-def]
    """Forget the session and delete the cookie; the login form follows in the same run, so
    the cookie component that deletes it reaches the browser."""
    user = st.session_state.get("auth_user")
    _forget_user()
    st.session_state["logout"] = True
    if cookie.cookie_name in st.context.cookies:
        cookie.delete_cookie()
    if user:
        users.end_sessions(user)   # even if the browser never runs the deletion
        users.audit("logout", user=user)
