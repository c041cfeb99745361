"""Run the whole playground locally: web server, worker cluster and (offline) simulator.

`python manage.py playground` migrates, makes sure a demo login exists and prints it,
then starts its children and watches them. Ctrl-C stops them all: each child runs in
its own process group and gets SIGTERM on its main PID only (django-q2's cluster can
hang when the whole group is signalled: django-q2 issue #346), then
SIGKILL after a grace period.

Without `EVOLINK_API_KEY` or `EVOLINK_BASE_URL` the jobs talk to the simulator started
here; with either they talk to `EVOLINK_BASE_URL` (EvoLink by default), paying with the
keys stored in the database and then `EVOLINK_API_KEY`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from playground import catalogue
from playground.billing import paying
from playground.teams.models import Membership, Role, Team

# A demo team with three logins, so sharing and reviews can be seen in two or three
# browser windows at once.
DEMO_TEAM = "Demo team"
DEMO_ADMIN = "demo"  # the team's admin, and a superuser so /admin/ works too
DEMO_MEMBER = "demo-member"
DEMO_REVIEWER = "demo-reviewer"  # a viewer with the reviewer right: an art director
DEMO_PASSWORD = "demo-playground"  # noqa: S105 - local demo logins, printed on purpose


class Command(BaseCommand):
    help = "Run web server + worker cluster + EvoLink simulator until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8765)
        parser.add_argument(
            "--task-seconds", type=float, default=8.0, help="How long a simulated task takes."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        env = dict(os.environ)
        # The simulator, unless told where the real EvoLink is: by a key in the
        # environment, or by EVOLINK_BASE_URL (keys then come from the database).
        simulated = not settings.EVOLINK_API_KEY and "EVOLINK_BASE_URL" not in os.environ
        if simulated:
            simulator_url = f"http://127.0.0.1:{options['simulator_port']}"
            env["EVOLINK_BASE_URL"] = simulator_url
            env["EVOLINK_API_KEY"] = "sk-evo-simulator-demo"
        env.setdefault("PUBLIC_BASE_URL", f"http://{options['host']}:{options['port']}")
        # DEBUG stays off (people run this on shared machines): our own error pages,
        # never Django's debug page. Whitenoise serves the static files either way.

        call_command("migrate", interactive=False, verbosity=0)
        team = self._ensure_demo_team()

        manage = [sys.executable, "manage.py"]
        children: list[tuple[str, list[str]]] = []
        if simulated:
            children.append(
                (
                    "simulator",
                    [
                        *manage,
                        "simulate_evolink",
                        "--port",
                        str(options["simulator_port"]),
                        "--task-seconds",
                        str(options["task_seconds"]),
                        # A demo that offers withdrawn models gets answers for them.
                        *_bring_online(),
                    ],
                )
            )
        children.append(("worker", [*manage, "qcluster"]))
        children.append(
            (
                "web",
                [*manage, "runserver", "--noreload", f"{options['host']}:{options['port']}"],
            )
        )

        # Ctrl-C (SIGINT) and SIGTERM both mean "stop everything cleanly"; setting the
        # handlers also undoes the SIGINT-ignored state of a backgrounded shell job.
        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

        processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        try:
            for name, argv in children:
                # Our own manage.py with fixed arguments: no untrusted input.
                process = subprocess.Popen(argv, env=env, start_new_session=True)  # noqa: S603
                processes.append((name, process))
                if name == "simulator":
                    time.sleep(0.5)  # let it bind before the first job can start
            self._banner(options, simulated, pays=_who_pays(team, simulated, options))
            while True:
                for name, process in processes:
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with {process.returncode}; stopping.")
                        return
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            stop_all(processes)

    def _ensure_demo_team(self) -> Team:
        """The demo logins and their team; repairs them if someone changed them."""
        team = Team.objects.filter(slug="demo").first() or Team.objects.create(
            name=DEMO_TEAM, slug="demo"
        )
        User = get_user_model()
        for username, role, reviewer in (
            (DEMO_ADMIN, Role.ADMIN, False),
            (DEMO_MEMBER, Role.MEMBER, False),
            (DEMO_REVIEWER, Role.VIEWER, True),
        ):
            user, created = User.objects.get_or_create(username=username)
            superuser = username == DEMO_ADMIN
            if created or not user.check_password(DEMO_PASSWORD) or user.is_superuser != superuser:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = user.is_superuser = superuser
                user.save()
            Membership.objects.update_or_create(
                user=user, team=team, defaults={"role": role, "reviewer": reviewer}
            )
        return team

    def _banner(self, options: dict[str, Any], simulated: bool, pays: str = "") -> None:
        url = f"http://{options['host']}:{options['port']}/"
        # Only what this command started: with a real (or another) EvoLink, no simulator.
        if simulated:
            upstream = f"the offline EvoLink simulator on port {options['simulator_port']}"
            stops = "the web server, the worker cluster and the simulator"
        else:
            upstream = settings.EVOLINK_BASE_URL
            stops = "the web server and the worker cluster"
        pays_line = f"  Pays:       {pays}\n" if pays else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Playground: {url}\n"
                f"  Log in as:  {DEMO_ADMIN} / {DEMO_PASSWORD}   ({DEMO_TEAM} admin)\n"
                f"         or:  {DEMO_MEMBER} / {DEMO_PASSWORD}   ({DEMO_TEAM} member: "
                "log in as both, in two browser windows, to watch the shared history)\n"
                f"         or:  {DEMO_REVIEWER} / {DEMO_PASSWORD}   ({DEMO_TEAM} viewer and "
                "reviewer: approves or requests changes on what the member puts up for review)\n"
                f"  Upstream:   {upstream}\n"
                f"{pays_line}"
                f"  Ctrl-C stops {stops}.\n"
            )
        )


def _who_pays(team: Team, simulated: bool, options: dict[str, Any]) -> str:
    """The banner's answer to "which key pays?", as the keys page gives it."""
    if simulated:
        return "the simulator's demo key (EVOLINK_API_KEY; nothing is billed)"
    if paying.gap(team, catalogue.DEFAULT_MODEL) is None:
        return "the team's keys, then the shared ones, then EVOLINK_API_KEY (if set)"
    keys = f"http://{options['host']}:{options['port']}/t/{team.slug}/keys/"
    return f"no key yet: log in as {DEMO_ADMIN} and add one at {keys}"


def stop_all(processes: list[tuple[str, subprocess.Popen[bytes]]], grace: float = 10.0) -> None:
    for _name, process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for _name, process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        # The cluster can hang on shutdown, or leave a worker behind: end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _bring_online() -> list[str]:
    from django.conf import settings

    from playground import catalogue

    if not settings.PLAYGROUND_OFFER_WITHDRAWN_MODELS:
        return []
    return [
        arg
        for spec in catalogue.MODELS.values()
        if spec.withdrawn
        for arg in ("--bring-online", spec.id)
    ]
