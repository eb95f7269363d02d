"""The login gate every page passes through (via the frame): single-user mode without a users
file; otherwise a login form in the user's language, a signed cookie session with expiry
(streamlit-authenticator's), lockout after repeated failures, and logout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from analytics import users
from analytics.access import SINGLE_USER, Scope
from analytics.i18n import Labels


def _cookie():  # type: ignore[no-untyped-def]
    """streamlit-authenticator's cookie model (a JWT signed with the users file's key)."""
    from streamlit_authenticator.models.cookie_model import CookieModel

    settings = users.cookie_settings()
    return CookieModel(settings["name"], settings["key"], settings["expiry_days"])


def current_scope(labels: Labels) -> Scope:
    """The scope of the signed-in user; draws the login form and stops when nobody is."""
    if not users.login_required():
        st.sidebar.info(labels("single_user"), icon="🔓")
        return SINGLE_USER
    # the cookie model reads this flag (streamlit-authenticator's Authenticate sets it)
    st.session_state.setdefault("logout", False)
    # one cookie manager per run: it is a component, and a second one is a duplicate widget
    cookie = _cookie()
    if st.session_state.pop("signing_out", False):
        _sign_out(cookie)
    name = st.session_state.get("auth_user") or _session_from_cookie(cookie)
    if name is not None:
        try:
            scope = users.scope_of(name)
        except users.AuthError:  # removed since the cookie was set
            st.session_state.pop("auth_user", None)
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
    cookie.set_cookie()
    _sidebar_user(labels, scope_now)
    return scope_now


def _session_from_cookie(cookie) -> str | None:  # type: ignore[no-untyped-def]
    if st.session_state.get("logout"):
        return None  # signed out in this session: the old cookie does not count
    token = cookie.get_cookie()
    if not isinstance(token, dict) or not token.get("username"):
        return None
    # the token carries its expiry; it was issued expiry_days before that
    issued = datetime.fromtimestamp(float(token["exp_date"]), UTC) - timedelta(
        days=float(cookie.cookie_expiry_days))
    name = str(token["username"])
    return name if users.session_valid(name, issued) else None


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
        scope = users.verify(username.strip(), password)
    except users.AuthError as err:
        if err.code == "locked" and err.until is not None:
            st.error(labels("login_locked", minutes=max(1, int(
                (err.until - users._now()).total_seconds() // 60) + 1)))
        else:
            st.error(labels("login_invalid"))
        return None
    st.session_state.update(auth_user=scope.user, username=scope.user, logout=False)
    return scope


def _sidebar_user(labels: Labels, scope: Scope) -> None:
    st.sidebar.success(labels("signed_in", user=scope.user,
                              level=labels.value("level", scope.level)), icon="👤")
    st.sidebar.button(labels("logout"), key="logout_button",
                      on_click=lambda: st.session_state.update(signing_out=True))


def _sign_out(cookie) -> None:  # type: ignore[no-untyped-def]
    """Forget the session and delete the cookie; the login form follows in the same run, so
    the cookie component that deletes it reaches the browser."""
    user = st.session_state.pop("auth_user", None)
    st.session_state.pop("username", None)
    st.session_state["logout"] = True
    if cookie.cookie_name in st.context.cookies:
        cookie.delete_cookie()
    if user:
        users.end_sessions(user)   # even if the browser never runs the deletion
        users.audit("logout", user=user)
