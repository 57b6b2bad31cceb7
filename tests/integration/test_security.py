"""Security baseline: CSRF, throttling, lockout text, roles, cookies and headers."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

from conftest import STRONG_PASSWORD, Accounts, csrf_token
from cms.access import PUBLIC, access_of
from cms.models import LoginAttempt
from cms.errors import LoginThrottled
from cms.services.accounts import authenticate
from cms.extensions import db
from cms.models.types import utcnow

import pytest


def login_page_token(client) -> str:  # type: ignore[no-untyped-def]
    return csrf_token(client.get("/login"))


def attempt(client, email: str, password: str, ip: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": login_page_token(client)},
                       environ_base={"REMOTE_ADDR": ip})


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(client, accounts: Accounts, imported_plan) -> None:
    accounts.login("editor")
    response = client.post("/campaigns/1/status", data={"to_status": "draft"})
    assert response.status_code == 400
    from cms.services.campaigns import get_campaign
    with client.application.app_context():
        assert get_campaign(1).status == "planned"


def test_login_without_csrf_token_is_refused(client, accounts: Accounts) -> None:
    accounts.create("admin")
    response = client.post("/login", data={"email": "admin@example.org", "password": STRONG_PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still signed out


def test_every_route_declares_who_may_use_it(app: Flask) -> None:
    undeclared = [rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint != "static" and access_of(app, rule.endpoint) is None]
    assert undeclared == []


def test_only_login_language_health_the_api_document_the_player_shell_and_the_website_are_public(app: Flask) -> None:
    public = sorted(rule.rule for rule in app.url_map.iter_rules() if access_of(app, rule.endpoint) == PUBLIC)
    # The web player's page and service worker hold no schedule: the board's secret opens that.
    # The website's pages show only what cms.services.website says is public (tests/integration/test_website.py).
    assert public == sorted(["/api/openapi.json", "/branding/logo", "/healthz", "/language", "/login",
                             "/player/<int:screen_id>", "/player/sw.js", "/public/", "/public/campaigns/<int:campaign_id>",
                             "/public/campaigns/<int:campaign_id>/feed.atom",
                             "/public/campaigns/<int:campaign_id>/feed.json", "/public/media/<token>/<variant>",
                             "/public/oembed", "/public/plans/<int:plan_id>", "/public/plans/<int:plan_id>/feed.atom",
                             "/public/plans/<int:plan_id>/feed.json", "/public/posts/<int:post_id>",
                             "/public/widget.js", "/public/widget/campaigns/<int:campaign_id>"])


def test_signed_out_visitors_are_sent_to_login(client) -> None:
    response = client.get("/campaigns/timeline")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/admin/users", "/admin/users/1", "/admin/audit"])
def test_an_editor_gets_403_on_admin_pages(client, accounts: Accounts, url: str) -> None:
    accounts.login("editor")
    assert client.get(url).status_code == 403


def test_an_editor_gets_403_on_admin_api_calls(client, accounts: Accounts) -> None:
    headers = accounts.token("editor")
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    response = client.post("/api/v1/users", headers=headers, json={"email": "x@example.org", "role": "admin", "password": "x" * 20})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", ["approver", "operator", "auditor"])
def test_roles_that_do_not_edit_cannot_create_campaigns_or_import(client, accounts: Accounts, role: str) -> None:
    accounts.login(role)
    assert client.get("/campaigns/new").status_code == 403
    assert client.get("/plans/import").status_code == 403
    headers = accounts.token(role)
    assert client.post("/api/v1/campaigns", headers=headers, json={"title": "X"}).status_code == 403


def test_the_api_ignores_the_session_cookie(client, accounts: Accounts) -> None:
    accounts.login("admin")
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_revoked_token_no_longer_works(client, accounts: Accounts) -> None:
    headers = accounts.token("editor")
    assert client.get("/api/v1/me", headers=headers).get_json()["role"] == "editor"
    from cms.models import ApiToken
    from cms.services.audit import Actor
    from cms.services.tokens import revoke_token
    with client.application.app_context():
        token = db.session.scalar(db.select(ApiToken))
        revoke_token(token.id, None, Actor.command_line())
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_tokens_are_stored_hashed(client, accounts: Accounts) -> None:
    headers = accounts.token("auditor")
    plain = headers["Authorization"].split()[1]
    from cms.models import ApiToken
    with client.application.app_context():
        stored = db.session.scalar(db.select(ApiToken))
    assert plain not in (stored.token_hash, stored.prefix)
    assert len(stored.token_hash) == 64


def test_passwords_are_hashed_with_argon2id(ctx: Flask, accounts: Accounts) -> None:
    from cms.models import User
    user = db.session.get(User, accounts.create("editor"))
    assert user.password_hash.startswith("$argon2id$")
    assert STRONG_PASSWORD not in user.password_hash


def test_lockout_text_is_identical_for_unknown_and_known_accounts(client, accounts: Accounts) -> None:
    accounts.create("editor", "known@example.org")
    limit = client.application.config["PANOLED"].security.login_max_failures_per_account
    pages = {}
    for email in ("known@example.org", "nobody@example.org"):
        for _ in range(limit):
            assert attempt(client, email, "wrong-password-123", ip=f"10.1.{len(pages)}.1").status_code == 401
        pages[email] = attempt(client, email, "wrong-password-123", ip=f"10.1.{len(pages)}.1")
    known, unknown = pages["known@example.org"], pages["nobody@example.org"]
    assert known.status_code == unknown.status_code == 429
    assert _flash(known) == _flash(unknown)
    assert _flash(known)


def _flash(response) -> str:  # type: ignore[no-untyped-def]
    import re
    return " ".join(re.findall(r'class="flash flash-error">([^<]+)<', response.get_data(as_text=True)))


def test_wrong_password_text_is_identical_for_unknown_and_known_accounts(client, accounts: Accounts) -> None:
    accounts.create("editor", "known@example.org")
    known = attempt(client, "known@example.org", "not-the-password-1")
    unknown = attempt(client, "nobody@example.org", "not-the-password-1")
    assert _flash(known) == _flash(unknown) != ""


def test_throttling_locks_an_account_even_with_the_right_password(client, accounts: Accounts) -> None:
    accounts.create("editor", "target@example.org")
    limit = client.application.config["PANOLED"].security.login_max_failures_per_account
    for i in range(limit):
        attempt(client, "target@example.org", f"guess-number-{i}", ip=f"10.2.0.{i}")
    assert attempt(client, "target@example.org", STRONG_PASSWORD, ip="10.9.9.9").status_code == 429
    assert client.get("/").status_code == 302


def test_throttling_per_ip_stops_spraying_many_accounts(client, app: Flask) -> None:
    limit = app.config["PANOLED"].security.login_max_failures_per_ip
    for i in range(limit):
        attempt(client, f"user{i}@example.org", "spray-password-1", ip="10.3.3.3")
    assert attempt(client, "fresh@example.org", "spray-password-1", ip="10.3.3.3").status_code == 429
    assert attempt(client, "fresh@example.org", "spray-password-1", ip="10.4.4.4").status_code == 401


def test_the_lockout_ends_when_the_window_passes(ctx: Flask, app: Flask, accounts: Accounts) -> None:
    accounts.create("editor", "patient@example.org")
    policy = app.config["PANOLED"].security
    past = utcnow() - timedelta(minutes=policy.login_window_minutes + 1)
    for _ in range(policy.login_max_failures_per_account):
        db.session.add(LoginAttempt(at=past, account_key="patient@example.org", ip="10.5.5.5", success=False))
    db.session.commit()
    assert authenticate("patient@example.org", STRONG_PASSWORD, "10.5.5.5", policy).email == "patient@example.org"


def test_a_throttled_account_is_refused_by_the_service_too(ctx: Flask, app: Flask) -> None:
    policy = app.config["PANOLED"].security
    for _ in range(policy.login_max_failures_per_account):
        db.session.add(LoginAttempt(at=utcnow(), account_key="x@example.org", ip="10.6.6.6", success=False))
    db.session.commit()
    with pytest.raises(LoginThrottled):
        authenticate("x@example.org", "whatever-password", "10.7.7.7", policy)


def test_session_cookie_is_httponly_and_samesite_lax(client, accounts: Accounts) -> None:
    accounts.create("editor")
    response = attempt(client, "editor@example.org", STRONG_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_https_is_configured(settings) -> None:  # type: ignore[no-untyped-def]
    import dataclasses
    from cms import create_app
    https = dataclasses.replace(settings, web=dataclasses.replace(settings.web, https=True))
    assert create_app(https).config["SESSION_COOKIE_SECURE"] is True


def test_security_headers_are_on_every_page(client) -> None:
    for url in ("/login", "/api/openapi.json", "/does-not-exist"):
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_signing_in_starts_a_new_session(client, accounts: Accounts) -> None:
    accounts.create("editor")
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    attempt(client, "editor@example.org", STRONG_PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


def test_changing_the_password_signs_out_other_sessions(app: Flask, accounts: Accounts) -> None:
    other = app.test_client()
    accounts.login("editor", client=other)
    assert other.get("/").status_code == 200
    from cms.services.accounts import find_user, set_password
    from cms.services.audit import Actor
    with app.app_context():
        set_password(find_user("editor@example.org"), "a-whole-new-pass-phrase", app.config["PANOLED"].security, Actor.command_line())
        db.session.commit()
    assert other.get("/").status_code == 302


def test_login_never_redirects_to_another_site(client, accounts: Accounts) -> None:
    accounts.create("editor")
    page = client.get("/login?next=https://evil.example/")
    response = client.post("/login", data={"email": "editor@example.org", "password": STRONG_PASSWORD,
                                           "next": "https://evil.example/", "csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/"


def test_logout_needs_a_post_with_csrf(client, accounts: Accounts) -> None:
    accounts.login("editor")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_a_successful_sign_in_does_not_forgive_an_address_its_failures(client, app: Flask, accounts: Accounts) -> None:
    accounts.create("editor", "sprayer@example.org")
    limit = app.config["PANOLED"].security.login_max_failures_per_ip
    for i in range(limit):
        attempt(client, f"victim{i}@example.org", "guess-guess-guess", ip="10.8.8.8")
        if i % 10 == 0:
            attempt(client, "sprayer@example.org", STRONG_PASSWORD, ip="10.8.8.8")
            client.post("/logout", data={"csrf_token": csrf_token(client.get("/account/"))})
    assert attempt(client, "another@example.org", "guess-guess-guess", ip="10.8.8.8").status_code == 429


def test_forwarded_addresses_count_only_behind_a_configured_proxy(settings) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from cms import create_app

    seen = []
    for proxies in (0, 1):
        app = create_app(dataclasses.replace(settings, web=dataclasses.replace(settings.web, trusted_proxies=proxies)), {"TESTING": True})
        client = app.test_client()
        app.add_url_rule("/_whoami", "whoami", lambda: __import__("flask").request.remote_addr)
        app.view_functions["whoami"]._panoled_access = "public"
        seen.append(client.get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True))
    assert seen == ["127.0.0.1", "203.0.113.9"]


def test_nobody_revokes_another_persons_token_from_their_own_account_page(client, app: Flask, accounts: Accounts) -> None:
    headers = accounts.token("auditor")
    from cms.models import ApiToken
    with app.app_context():
        token_id = db.session.scalar(db.select(ApiToken.id))
    accounts.login("editor")
    page = client.get("/account/")
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "flash-error" in response.get_data(as_text=True)
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_an_admin_revokes_another_persons_token(client, app: Flask, accounts: Accounts) -> None:
    headers = accounts.token("auditor")
    from cms.models import ApiToken
    with app.app_context():
        token = db.session.scalar(db.select(ApiToken))
        token_id, owner_id = token.id, token.user_id
    accounts.login("admin")
    page = client.get(f"/admin/users/{owner_id}")
    assert "auditor token" in page.get_data(as_text=True)
    response = client.post(f"/admin/users/{owner_id}/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("query", ["endpoint=x", "_method=POST", "_external=1&_anchor=x", "plan=abc&status=nope&year=-1"])
def test_odd_query_strings_never_break_the_campaign_pages(client, accounts: Accounts, imported_plan, query: str) -> None:
    accounts.login("auditor")
    for path in ("/", "/campaigns/timeline"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query)
        body = response.get_data(as_text=True)
        assert "href=\"http" not in body and "#x\"" not in body


def test_every_state_changing_form_refuses_a_post_without_its_csrf_token(client, app: Flask, accounts: Accounts,
                                                                        imported_plan) -> None:
    """Every non-API route that takes POST, PUT, PATCH or DELETE, tried by a signed-in admin
    without the token: refused with 400 and nothing written (the audit log stays as it was).
    Only the bearer-token API blueprints are exempt (they never read the session cookie)."""
    from werkzeug.routing import IntegerConverter

    from cms.extensions import csrf, db
    from cms.models import AuditEvent

    accounts.login("admin")
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
    tried = []
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else ""
        if blueprint in {b.name for b in csrf._exempt_blueprints}:
            assert rule.rule.startswith("/api/"), rule.rule  # only the token API is exempt
        if not methods or rule.rule.startswith("/api/"):
            continue
        values = {name: 1 if isinstance(converter, IntegerConverter) else "x"
                  for name, converter in rule._converters.items()}
        url = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
        for method in methods:
            answer = client.open(url, method=method, data={"to_status": "draft", "title": "x"})
            assert answer.status_code == 400, (method, rule.rule, answer.status_code)
            tried.append(rule.rule)
    assert len(tried) > 30  # the sweep really covers the forms
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == before
