"""The ASGI web process must not keep database connections past a request.

Django runs each ASGI request's synchronous code in a thread of its own; a persistent connection
would outlive its thread and PostgreSQL would soon refuse clients. The check runs in a fresh
interpreter so this test process's settings stay untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

PROBE = (
    "import doudesk.asgi\n"
    "from django.db import connections\n"
    "print(sorted({c.settings_dict['CONN_MAX_AGE'] for c in connections.all()}))\n"
)


def test_the_asgi_application_opens_one_connection_per_request(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://doudesk@127.0.0.1:5432/doudesk",  # parsed, never connected
        "DOUDESK_DATA_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[0]"
