"""Django app of intelligent matching: warms the jieba tokenizer when a web process starts."""

from __future__ import annotations

import sys
import threading

from django.apps import AppConfig

#: Commands that serve requests; anything else (migrate, shell, tests) skips the warm-up.
SERVING_COMMANDS = frozenset({"serve", "runserver", "uvicorn", "gunicorn"})


class MatchingConfig(AppConfig):
    """Load jieba's dictionary (~0.9 s) in the background of a serving process.

    Without it the first plan request of each process pays that time; with it the process
    starts as fast as before and the dictionary is ready a second later.
    """

    name = "doudesk.matching"
    verbose_name = "智能匹配"

    def ready(self) -> None:
        """Start the warm-up thread when this process serves requests."""
        argv = " ".join(sys.argv[:2])
        if not any(cmd in argv for cmd in SERVING_COMMANDS):
            return
        from doudesk.matching.understand import warm_up

        threading.Thread(target=warm_up, name="jieba-warm-up", daemon=True).start()
