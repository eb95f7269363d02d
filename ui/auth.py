"""The login gate every page passes through (via the frame): single-user mode without a users
file; otherwise a login form in the user's language, a signed cookie session with expiry
(streamlit-authenticator's), lockout after repeated failures, and logout."""

from __future__ import annotations

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
    name = st.session_state.get("auth_user")
    if name is None:
        token = _session_from_cookie()
        if token:
            name = token
            st.session_state["auth_user"] = name
    if name is not None:
        try:
            scope = users.scope_of(name)
        except users.AuthError:  # removed since the cookie was set
            _logout(quiet=True)
        else:
            _sidebar_user(labels, scope)
            return scope
    _login_form(labels)
    st.stop()
    raise AssertionError("unreachable")


def _session_from_cookie() -> str | None:
    try:
        token = _cookie().get_cookie()
    except Exception:  # no browser cookies (tests, a first run): just log in
        return None
    return token.get("username") if isinstance(token, dict) else None


def _login_form(labels: Labels) -> None:
    st.title(labels("login_title"))
    with st.form("login"):
        username = st.text_input(labels("login_user"), key="login_user")
        password = st.text_input(labels("login_password"), type="password",
                                 key="login_password")
        submitted = st.form_submit_button(labels("login_button"))
    if not submitted:
        return
    try:
        scope = users.verify(username.strip(), password)
    except users.AuthError as err:
        if err.code == "locked" and err.until is not None:
            st.error(labels("login_locked", minutes=max(1, int(
                (err.until - users._now()).total_seconds() // 60) + 1)))
        else:
            st.error(labels("login_invalid"))
        return
    st.session_state["auth_user"] = scope.user
    st.session_state["username"] = scope.user  # what the cookie model signs
    try:
        _cookie().set_cookie()
    except Exception:  # a session without browser cookies still works until it closes
        pass
    st.rerun()


def _sidebar_user(labels: Labels, scope: Scope) -> None:
    st.sidebar.success(labels("signed_in", user=scope.user,
                              level=labels.value("level", scope.level)), icon="👤")
    if st.sidebar.button(labels("logout"), key="logout"):
        _logout()


def _logout(quiet: bool = False) -> None:
    user = st.session_state.pop("auth_user", None)
    st.session_state.pop("username", None)
    try:
        _cookie().delete_cookie()
    except Exception:
        pass
    if user and not quiet:
        users.audit("logout", user=user)
    st.rerun()
