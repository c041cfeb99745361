"""A real OpenID Provider on loopback: npm's `oidc-provider` (.ci/oidc/provider.mjs,
installed by .ci/test), started on a free port and stopped (SIGTERM, then SIGKILL).

People live in a JSON file the provider reads at every sign-in, so a test changes
someone's groups between two sign-ins with `provider.person(...)`.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "oidc" / "provider.mjs"
CLIENT_ID = "playground"
CLIENT_SECRET = "test-client-secret-not-a-real-one"
PASSWORD = "provider-pass"
START_SECONDS = 20


@dataclass
class OpenIDProvider:
    issuer: str
    accounts_file: Path
    process: subprocess.Popen[str]
    people: dict[str, dict[str, Any]] = field(default_factory=dict)

    def person(self, login: str, **claims: Any) -> None:
        """Add or change a person (claims such as email, groups), for the next sign-in."""
        self.people[login] = {"password": PASSWORD, "claims": claims}
        self.accounts_file.write_text(json.dumps(self.people))

    def tamper(self, mode: str) -> None:
        """Make the token endpoint answer ID tokens re-signed with the provider's key and
        one claim changed: "iss", "aud" or "nonce"; "none" to stop."""
        response = httpx.post(f"{self.issuer}/test/tamper", content=mode, timeout=5)
        response.raise_for_status()

    def reset(self) -> None:
        self.tamper("none")
        self.people.clear()
        self.accounts_file.write_text("{}")


def _lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)


@contextlib.contextmanager
def running_provider(
    tmp: Path, redirect_uris: list[str], issuer_host: str = "127.0.0.1"
) -> Iterator[OpenIDProvider]:
    if not (ROOT / ".ci" / "oidc" / "node_modules" / "oidc-provider").exists():
        raise RuntimeError(
            "oidc-provider is not installed: run `npm ci --prefix .ci/oidc` (.ci/test does)"
        )
    accounts = tmp / "accounts.json"
    accounts.write_text("{}")
    process = subprocess.Popen(  # noqa: S603 - our own script with fixed arguments
        ["node", str(SCRIPT)],  # noqa: S607 - Debian's node, from the PATH
        env={
            **os.environ,
            "ACCOUNTS_FILE": str(accounts),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URIS": ",".join(redirect_uris),
            "ISSUER_HOST": issuer_host,
            "NODE_NO_WARNINGS": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process, lines), daemon=True).start()
    try:
        issuer = ""
        while not issuer:
            line = lines.get(timeout=START_SECONDS)  # raises queue.Empty if it never starts
            if line.startswith("listening "):
                issuer = line.split()[2]
        yield OpenIDProvider(issuer=issuer, accounts_file=accounts, process=process)
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
