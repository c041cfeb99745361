"""`manage.py playground` (the README's run command) serves, logs in and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.fixtures_simulator import free_port

ROOT = Path(__file__).resolve().parent.parent


def processes_with(marker: str) -> list[int]:
    """PIDs whose environment carries `marker`: every process the command started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_run_command_serves_a_working_login_and_stops_everything(
    tmp_path, stop_signal: signal.Signals
) -> None:
    marker = f"PLAYGROUND_TEST_MARKER={uuid.uuid4().hex}"
    web, sim = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "EVOLINK_API_KEY", "EVOLINK_BASE_URL"}
    }
    env.update({"PLAYGROUND_VAR_DIR": str(tmp_path), marker.split("=")[0]: marker.split("=")[1]})
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [
            sys.executable,
            "manage.py",
            "playground",
            "--port",
            str(web),
            "--simulator-port",
            str(sim),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{web}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the web server never answered"
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{sim}/v1/credits", timeout=2).status_code == 401

        for username in ("demo", "demo-member"):
            with httpx.Client(base_url=base, follow_redirects=True) as browser:
                login = browser.get("/login/")
                token = browser.cookies["csrftoken"]
                page = browser.post(
                    "/login/",
                    data={
                        "username": username,
                        "password": "demo-playground",
                        "csrfmiddlewaretoken": token,
                    },
                    headers={"Referer": str(login.url)},
                )
                # Both land in the studio of the same demo team.
                assert page.url.path == "/t/demo/"
                assert "Generate" in page.text and "Offline simulator" in page.text
                assert "Demo team" in page.text
                # DEBUG is off: a missing page is ours, never Django's debug page.
                missing = browser.get("/t/demo/generations-that-do-not-exist/")
                assert missing.status_code == 404
                assert "This page does not exist" in missing.text
                assert "DEBUG = True" not in missing.text and "URLconf" not in missing.text
        assert len(processes_with(marker)) >= 4  # command, web, simulator, cluster (+workers)
    finally:
        process.send_signal(stop_signal)
        output = process.communicate(timeout=30)[0].decode()
    assert "Log in as:  demo / demo-playground   (Demo team admin)" in output
    assert "or:  demo-member / demo-playground   (Demo team member" in output
    assert "or:  demo-reviewer / demo-playground   (Demo team viewer and reviewer" in output
    # It started the simulator, and says so; a fresh start prints no warning.
    assert "Ctrl-C stops the web server, the worker cluster and the simulator." in output
    assert "Warning" not in output and "No directory at" not in output
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(marker) == []
