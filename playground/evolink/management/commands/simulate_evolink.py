"""`manage.py simulate_evolink`: run the offline EvoLink simulator in the foreground."""

from __future__ import annotations

import signal
import threading
from decimal import Decimal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from playground.evolink.simulator import (
    DEFAULT_CREDITS,
    DEFAULT_FILES_TTL,
    DEFAULT_OFFLINE_MODELS,
    DRIFT_MODES,
    EMPTY_KEY_MARK,
    Simulator,
)


class Command(BaseCommand):
    help = (
        "Run an EvoLink-compatible image API on this machine (see "
        "playground/evolink/simulator/__init__.py for fault injection and prompt directives "
        "such as [fail:content_policy_violation])."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--task-seconds", type=float, default=6.0, help="time from submit to completion"
        )
        parser.add_argument(
            "--result-ttl",
            type=float,
            default=86_400.0,
            help="seconds result images (and finished tasks) stay readable",
        )
        parser.add_argument(
            "--files-ttl",
            type=float,
            default=DEFAULT_FILES_TTL,
            help="seconds files uploaded to the Files API stay readable (default 72 h)",
        )
        parser.add_argument(
            "--api-key",
            action="append",
            dest="api_keys",
            metavar="KEY",
            help="accept only this key (repeatable); default: any key starting with sk-",
        )
        parser.add_argument(
            "--credits",
            type=Decimal,
            default=DEFAULT_CREDITS,
            help=(
                f"credits each key starts with (default {DEFAULT_CREDITS:,}); a key "
                f"containing {EMPTY_KEY_MARK} starts with none"
            ),
        )
        parser.add_argument(
            "--allow-http-callbacks",
            action="store_true",
            help="accept plain-http callback_url values (local development)",
        )
        parser.add_argument(
            "--public-url", help="origin used in result URLs and callbacks (behind a proxy)"
        )
        parser.add_argument(
            "--drift",
            choices=sorted(DRIFT_MODES),
            help="differ from EvoLink's contract in this one way (for manage.py evolink_check)",
        )
        parser.add_argument(
            "--bring-online",
            action="append",
            default=[],
            metavar="MODEL",
            help=(
                "answer creates for this model although EvoLink took it offline "
                f"(repeatable; offline by default: {', '.join(DEFAULT_OFFLINE_MODELS)})"
            ),
        )
        parser.add_argument(
            "--create-seconds",
            type=float,
            default=0.0,
            help="answer every create that makes a task this many seconds late (a slow upstream)",
        )
        parser.add_argument(
            "--rate-per-key",
            type=int,
            default=None,
            metavar="N",
            help="answer 429 with Retry-After past N creates per second per key",
        )
        parser.add_argument(
            "--no-control", action="store_true", help="disable the /_simulator/ control routes"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        simulator = Simulator(
            options["host"],
            options["port"],
            task_seconds=options["task_seconds"],
            result_ttl=options["result_ttl"],
            files_ttl=options["files_ttl"],
            api_keys=options["api_keys"],
            credits=options["credits"],
            allow_http_callbacks=options["allow_http_callbacks"],
            public_url=options["public_url"],
            control=not options["no_control"],
            drift=options["drift"],
            offline_models=set(DEFAULT_OFFLINE_MODELS) - set(options["bring_online"]),
            create_seconds=options["create_seconds"],
            rate_per_key=options["rate_per_key"],
        )
        # Serve from a background thread and let the main thread wait for a signal:
        # `shutdown()` called from a handler running on the serving thread would
        # deadlock.
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        simulator.start()
        keys = ", ".join(sorted(options["api_keys"])) if options["api_keys"] else "any sk-… key"
        drift = (
            f"Drifting from the contract: {DRIFT_MODES[options['drift']]}.\n"
            if options["drift"]
            else ""
        )
        self.stdout.write(
            f"EvoLink simulator on {simulator.base_url} (accepts {keys}; tasks take "
            f"{options['task_seconds']:g} s).\n"
            f"Each key has its own {options['credits']:,} credits; a key containing "
            f"{EMPTY_KEY_MARK} has none (its creates answer 402).\n"
            f"Point the playground at it: EVOLINK_BASE_URL={simulator.base_url} "
            f"(and EVOLINK_FILES_BASE_URL={simulator.base_url} for the Files API)\n"
            + drift
            + (
                f"Creates are answered after {options['create_seconds']:g} s.\n"
                if options["create_seconds"]
                else ""
            )
            + (
                f"Each key may create {options['rate_per_key']} tasks per second (then 429).\n"
                if options["rate_per_key"]
                else ""
            )
            + "Press Ctrl-C to stop."
        )
        try:
            while not stop.wait(0.5):
                pass
        finally:
            simulator.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stdout.write("EvoLink simulator stopped.")
