"""The deploy checks of the DOUDESK_* settings (``doudesk check --deploy``)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks

from doudesk.crypto import derived_field_key

SECRET_KEY = "production-secret-key-" * 3


@pytest.fixture
def production(settings):
    """Return the settings of a production site giving every setting the checks look at."""
    settings.SANDBOX = False
    settings.SECRET_KEY = SECRET_KEY
    settings.HTTPS = True
    settings.ICP_FILING = "沪ICP备12345678号-1"
    settings.SUPPORT_EMAIL = "support@doudesk.cn"
    settings.ALLOWED_HOSTS = ["doudesk.cn", "www.doudesk.cn"]
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    settings.LEDGER_ORIGIN = "doudesk.cn/ledger"
    settings.LEDGER_SIGNER_KEY = "PRIVATE+KEY+doudesk.cn/ledger+given"  # only its presence counts
    return settings


def our_warnings() -> dict[str, str]:
    """Return the deploy warnings of ours, by id: their messages."""
    found = run_checks(include_deployment_checks=True)
    return {m.id: m.msg for m in found if m.id and m.id.startswith("doudesk.W")}


def test_a_production_site_with_its_settings_given_draws_none(production):
    assert our_warnings() == {}


@pytest.mark.parametrize(
    ("changed", "expected", "named"),
    [
        ({"SANDBOX": True}, "doudesk.W002", "DOUDESK_MODE"),
        ({"HTTPS": False}, "doudesk.W003", "DOUDESK_HTTPS"),
        ({"ICP_FILING": ""}, "doudesk.W004", "DOUDESK_ICP_FILING"),
        ({"ICP_FILING": "沪ICP备2026000000号-1"}, "doudesk.W004", "sample"),
        ({"SUPPORT_EMAIL": ""}, "doudesk.W005", "DOUDESK_SUPPORT_EMAIL"),
        ({"ALLOWED_HOSTS": ["doudesk.cn", "*"]}, "doudesk.W006", "DOUDESK_ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": ["127.0.0.1", "localhost", "[::1]"]}, "doudesk.W007", "only"),
        ({"FIELD_ENCRYPTION_KEY": ""}, "doudesk.W001", "DOUDESK_FIELD_KEY is not set"),
        (
            {"FIELD_ENCRYPTION_KEY": derived_field_key(SECRET_KEY)},
            "doudesk.W001",
            "DOUDESK_FIELD_KEY is the key derived from DOUDESK_SECRET_KEY",
        ),
        ({"LEDGER_ORIGIN": "doudesk.local/ledger"}, "doudesk.W008", "DOUDESK_LEDGER_ORIGIN"),
        ({"LEDGER_SIGNER_KEY": ""}, "doudesk.W009", "DOUDESK_LEDGER_KEY"),
    ],
    ids=[
        "sandbox-mode",
        "plain-http",
        "no-icp-filing",
        "sample-icp-filing",
        "no-support-email",
        "any-host",
        "loopback-hosts-only",
        "no-field-key",
        "derived-field-key",
        "placeholder-ledger-origin",
        "no-ledger-key",
    ],
)
def test_each_setting_missing_in_production_draws_its_own_warning(
    production, changed, expected, named
):
    for name, value in changed.items():
        setattr(production, name, value)
    warnings = our_warnings()
    assert list(warnings) == [expected]  # sandbox mode says it all: the rest are production's
    assert named in warnings[expected]


def test_the_checks_run_only_with_deploy(production):
    production.HTTPS = False
    assert not [m for m in run_checks() if m.id and m.id.startswith("doudesk.W")]
