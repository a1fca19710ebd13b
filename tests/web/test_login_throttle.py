"""Login throttling per account and per client address, on the site's login and the admin's."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from dashboard.teams import login_throttle

RIGHT = "correct horse battery staple"
LOCKED = "Too many failed login attempts; try again in"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    settings.LOGIN_COOLOFF_MINUTES = 15
    settings.TRUSTED_PROXY_COUNT = 0


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, set by the test instead of slept through."""

    class Clock:
        at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)

        def advance(self, **delta):
            self.at += dt.timedelta(**delta)

    clock = Clock()
    monkeypatch.setattr(login_throttle, "now", lambda: clock.at)
    return clock


def log_in(client, username: str, password: str, url: str = "login", address: str = "198.51.100.7", **extra):
    return client.post(reverse(url), {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def test_the_attempt_after_the_limit_is_refused_even_with_the_right_password(client, alice, clock):
    for _ in range(3):
        assert "didn&#x27;t match" in log_in(client, "alice", "wrong").content.decode()
    response = log_in(client, "alice", RIGHT)
    assert response.status_code == 200 and f"{LOCKED} 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_ends_after_the_cooloff(client, alice, clock):
    for _ in range(3):
        log_in(client, "alice", "wrong")
    clock.advance(minutes=10)
    assert f"{LOCKED} 5 minutes." in log_in(client, "alice", RIGHT).content.decode()
    clock.advance(minutes=5, seconds=1)
    assert logged_in(log_in(client, "alice", RIGHT))


def test_attempts_while_locked_do_not_extend_the_lock_and_success_clears_the_count(client, alice, clock):
    for _ in range(3):
        log_in(client, "alice", "wrong")
    for _ in range(10):
        log_in(client, "alice", "wrong")
        clock.advance(minutes=1)
    clock.advance(minutes=5, seconds=1)
    assert logged_in(log_in(client, "alice", RIGHT))
    client.logout()
    for _ in range(2):  # the count restarted at the successful login
        log_in(client, "alice", "wrong")
    assert logged_in(log_in(client, "alice", RIGHT))


def test_an_address_is_locked_for_every_account_after_its_own_limit(client, alice, bob, charlie, clock):
    for name in ("alice", "alice", "bob", "bob", "nobody"):  # under each account's limit, at the address's
        log_in(client, name, "wrong")
    response = log_in(client, "charlie", RIGHT)
    assert LOCKED in response.content.decode() and "_auth_user_id" not in client.session
    assert logged_in(log_in(client, "charlie", RIGHT, address="203.0.113.9"))  # another address may


def test_an_unknown_user_is_answered_exactly_like_a_known_one(client, alice, clock):
    def attempts(username: str, address: str) -> list[tuple[int, str]]:
        pages = [log_in(client, username, "wrong", address=address) for _ in range(4)]
        return [
            (page.status_code, re.sub(r'value="[^"]{40,}"', "", page.content.decode().replace("ghost", "alice")))
            for page in pages
        ]  # the CSRF token aside

    assert attempts("alice", "198.51.100.1") == attempts("ghost", "198.51.100.2")


def test_usernames_are_counted_case_insensitively(client, alice, clock):
    for name in ("alice", "ALICE", "Alice"):
        log_in(client, name, "wrong", address=f"198.51.100.{len(name) + ord(name[0])}")
    assert LOCKED in log_in(client, "alice", RIGHT, address="203.0.113.50").content.decode()


def test_the_admin_login_is_throttled_too(client, alice, clock):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    for _ in range(3):
        assert log_in(client, "alice", "wrong", url="admin:login").status_code == 200
    response = log_in(client, "alice", RIGHT, url="admin:login")
    assert f"{LOCKED} 15 minutes." in response.content.decode() and "_auth_user_id" not in client.session
    assert LOCKED in log_in(client, "alice", RIGHT).content.decode()  # and the site's login shares the count


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(client, alice, bob, charlie, settings, clock):
    for number in range(5):  # a client rotating a forged header stays one address
        log_in(client, ["alice", "bob"][number % 2], "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    assert LOCKED in log_in(client, "charlie", RIGHT, HTTP_X_FORWARDED_FOR="192.0.2.99").content.decode()
    settings.TRUSTED_PROXY_COUNT = 1  # behind one proxy: the address it appended is the client's
    response = log_in(client, "charlie", RIGHT, HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.99")
    assert logged_in(response)


def test_the_client_address_is_the_one_the_trusted_proxy_saw(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4")
    assert login_throttle.client_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert login_throttle.client_address(request) == "198.51.100.4"
    settings.TRUSTED_PROXY_COUNT = 2
    assert login_throttle.client_address(request) == "6.6.6.6"
    settings.TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: the header is not trusted
    assert login_throttle.client_address(request) == "10.0.0.2"
