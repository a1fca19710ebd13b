"""Settings come from the environment and fail loudly on bad values."""

import os
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import envbool, envint, envlist, envstr
from tests.conftest import ROOT


def django_check(env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ENV", "SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "wattson.example.com",
}


def test_production_settings_pass_check_deploy():
    result = django_check(PRODUCTION, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_offers_neither_the_simulated_aws_nor_the_demo_commands():
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ENV", "SECRET_KEY", "DEBUG"}}
    probe = (
        "from django.conf import settings; from django.core.management import get_commands; "
        "print('sandbox' in settings.INSTALLED_APPS, sorted({'demo', 'demo_setup', 'sandbox', "
        "'sandbox_accounts'} & set(get_commands())))"
    )
    shown = {}
    for name, env in (("production", PRODUCTION), ("development", {})):
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", probe],
            cwd=ROOT,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        shown[name] = done.stdout.strip().splitlines()[-1]
    assert shown["production"] == "False []"
    assert shown["development"] == "True ['demo', 'demo_setup', 'sandbox', 'sandbox_accounts']"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY (or SECRET_KEY_FILE) is required"),
        ({"SECRET_KEY": "short"}, "at least 50 characters"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is required"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"DEBUG": "maybe"}, "DEBUG must be one of"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT must be an integer"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"SCHEDULE_HEARTBEAT_SECONDS": "soon"}, "SCHEDULE_HEARTBEAT_SECONDS must be a number of seconds or 'off'"),
        ({"CACHE_URL": "memcached://cache:11211"}, "CACHE_URL must be redis://"),
        ({"LOGIN_FAILURE_LIMIT": "0"}, "LOGIN_FAILURE_LIMIT must be at least 1"),
        ({"TRUSTED_PROXY_COUNT": "yes"}, "TRUSTED_PROXY_COUNT must be an integer"),
    ],
)
def test_it_refuses_to_start_with_a_bad_setting(override, message):
    result = django_check({**PRODUCTION, **override})
    assert result.returncode != 0
    assert message in result.stderr


def test_development_needs_no_configuration():
    result = django_check({"DJANGO_ENV": "development"})
    assert result.returncode == 0, result.stderr


def test_helpers_read_values_and_files(monkeypatch, tmp_path):
    monkeypatch.setenv("X_FLAG", "yes")
    monkeypatch.setenv("X_NUM", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert envbool("X_FLAG", False) is True
    assert envint("X_NUM", 1) == 42
    assert envlist("X_LIST", []) == ["a", "b", "c"]
    assert envstr("X_SECRET") == "s3cr3t"
    monkeypatch.setenv("X_NUM", "-3")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be at least 0"):
        envint("X_NUM", 1, minimum=0)
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        envstr("X_SECRET")
