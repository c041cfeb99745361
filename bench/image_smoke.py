"""Smoke test of the production image: build it, start it as a deploy would, check what a
deploy relies on, stop it. Not part of .ci/test: the build alone takes a minute or more.

    .venv/bin/python bench/image_smoke.py                # as root without Docker, see below

1. builds the Dockerfile: with `docker` when a daemon answers, else with the script in
   BUILD_IMAGE (default ../shared/tools/build-image, where the project's machines keep
   it, outside this repository), which builds with podman and runs the image's command in a
   chroot of its file system, as the image's user, sharing the host's network (root
   needed; it exits with the command's status);
2. starts the image's command against the local PostgreSQL (a scratch database, emptied
   first, so every migration runs) and Redis, and waits for GET /healthz;
3. fetches the login page: its stylesheet and htmx must be linked under hashed names,
   served compressed (br and gzip, as asked) with a year's immutable Cache-Control; the
   README's screenshots must not be served;
4. sends SIGTERM to gunicorn's master (what `docker stop` does) while a request is in
   flight: the request must be answered, and gunicorn exit 0 within its 30 s of grace;
5. reads the whole log: no permission errors, tracebacks, errors or warnings (HEAD
   /healthz, a load balancer's probe, is asked so that a body sent with it would show).

It prints each check and writes a result that bench/summarise.py files into
bench/results/image-smoke.json. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection, HTTPMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import commit  # noqa: E402
from bench.summarise import add  # noqa: E402

PORT = 8000  # where the image's command listens
BUILT = re.compile(r"Built \S+ in (\d+) s; size: (\d+) bytes")  # build-image's last word
YEAR = 365 * 24 * 3600
# What a clean start and stop must not log.
BAD_LOG = re.compile(
    r"Permission denied|Errno 13|Traceback|\[ERROR\]|\[CRITICAL\]|WARNING|no-body response"
)


class Smoke:
    def __init__(self) -> None:
        self.checks: list[dict[str, Any]] = []
        self.figures: dict[str, Any] = {}

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append({"check": name, "ok": ok, "detail": detail})
        print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        return ok


def tool(*command: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """One of the machine's tools (psql, docker, pgrep) on arguments of our own."""
    return subprocess.run(command, check=True, text=True, **kwargs)  # noqa: S603


def get(
    path: str, encoding: str = "identity", method: str = "GET"
) -> tuple[int, HTTPMessage, bytes]:
    """A request without decompressing, so the headers and body are what was sent."""
    connection = HTTPConnection("127.0.0.1", PORT, timeout=10)
    try:
        connection.request(method, path, headers={"Accept-Encoding": encoding})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def answers() -> bool:
    try:
        return get("/healthz")[0] == 200
    except OSError:
        return False


def reset_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    if "smoke" not in name:
        raise SystemExit(f"{url}: the database is emptied, so its name must contain 'smoke'")
    server = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        tool("psql", server, "-qc", sql)


def start(builder: str, tag: str, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Build, then start the image's command; the build's output goes to the log too."""
    out = log.open("wb")
    if builder == "docker":
        tool("docker", "build", "-t", tag, str(ROOT), stdout=out, stderr=out)
        names = ["DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS"]
        command = ["docker", "run", "--rm", "--name", "playground-smoke", "--network", "host"]
        command += [arg for name in names for arg in ("-e", name)] + [tag]
    else:
        command = [builder, "--run"]
    return subprocess.Popen(  # noqa: S603 - our command
        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_everything(runner: subprocess.Popen[bytes]) -> None:
    """Whatever still runs of it (a build, a server that never answered): SIGTERM to its
    process group, so build-image's own cleanup runs, SIGKILL after 40 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(runner.pid, signal.SIGTERM)
    try:
        runner.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(runner.pid, signal.SIGKILL)


def gunicorn_master(runner: subprocess.Popen[bytes]) -> int:
    """build-image's child: chroot, which became the image's command (sh, then gunicorn)."""
    children = tool("pgrep", "-P", str(runner.pid), capture_output=True).stdout.split()
    for pid in children:
        if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return int(pid)
    raise RuntimeError(f"no gunicorn among the children of {runner.pid}")


def check_asset(smoke: Smoke, label: str, url: str) -> None:
    status, headers, plain = get(url)
    smoke.check(f"{label} is served", status == 200, f"{url}, {len(plain)} bytes")
    cache = headers.get("Cache-Control", "")
    max_age = int(m.group(1)) if (m := re.search(r"max-age=(\d+)", cache)) else 0
    smoke.check(
        f"{label} is cached for a year or more",
        max_age >= YEAR and "immutable" in cache,
        f"Cache-Control: {cache}",
    )
    sizes = {"identity": len(plain)}
    for encoding in ("br", "gzip"):
        status, headers, body = get(url, encoding)
        served = headers.get("Content-Encoding", "none")
        sizes[encoding] = len(body)
        smoke.check(
            f"{label} is served with {encoding}",
            status == 200 and served == encoding and len(body) < len(plain),
            f"Content-Encoding: {served}, {len(body)} bytes",
        )
    smoke.figures[f"{label} bytes"] = sizes


def run(args: argparse.Namespace) -> Smoke:
    smoke = Smoke()
    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    if answers():
        raise SystemExit(f"something already answers on port {PORT}: stop it first")
    reset_database(args.database_url)
    env = dict(os.environ)
    env.setdefault("DJANGO_SECRET_KEY", "image-smoke-" + os.urandom(16).hex())
    env.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url)
    env.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

    print(f"Building and starting the image ({args.builder}); log: {log}", flush=True)
    started = time.monotonic()
    runner = start(args.builder, args.tag, log, env)
    # The time limit counts from the end of the build, which is left to finish: podman
    # stopped in the middle of one leaves its working containers behind.
    deadline: float | None = None
    while not answers():
        if deadline is None and (args.builder == "docker" or BUILT.search(log.read_text())):
            deadline = time.monotonic() + args.timeout
        if runner.poll() is not None or (deadline is not None and time.monotonic() > deadline):
            smoke.check("the image starts and answers /healthz", False, log.read_text()[-2000:])
            stop_everything(runner)
            return smoke
        time.sleep(0.5)
    text = log.read_text()
    if built := BUILT.search(text):
        smoke.figures["build seconds"] = int(built.group(1))
        smoke.figures["image MB"] = round(int(built.group(2)) / 1e6)
    smoke.figures["build and start seconds"] = round(time.monotonic() - started, 1)
    smoke.check("the image starts and answers /healthz", True)
    smoke.check(
        "migrate ran every migration on an empty database",
        "Running migrations:" in text and " OK" in text,
        f"{text.count(' OK')} applied",
    )

    status, _headers, body = get("/login/")
    page = body.decode()
    smoke.check("the login page renders", status == 200, f"GET /login/ → {status}")
    css = re.search(r'href="(/static/css/playground\.[0-9a-f]{12}\.css)"', page)
    htmx = re.search(r'src="(/static/vendor/htmx[^"]*\.[0-9a-f]{12}\.js)"', page)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    smoke.check("the page links its stylesheet under a hashed name", bool(css), ", ".join(links))
    smoke.check("the page links htmx under a hashed name", bool(htmx))
    if css:
        check_asset(smoke, "stylesheet", css.group(1))
    if htmx:
        check_asset(smoke, "htmx", htmx.group(1))
    status = get("/static/img/studio.png")[0]
    smoke.check(
        "README screenshots are not served", status == 404, f"/static/img/studio.png → {status}"
    )
    status = get("/favicon.ico")[0]
    smoke.check("/favicon.ico is served", status == 200, f"→ {status}")
    # A load balancer's probe; gunicorn would log a warning for a body sent with it.
    status = get("/healthz", method="HEAD")[0]
    smoke.check("HEAD /healthz is answered", status == 200, f"→ {status}")

    # A request in flight when SIGTERM comes: its headers are half sent, so a worker is
    # busy with it; the rest follows after the signal, and it must still be answered.
    in_flight = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    in_flight.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(0.5)  # for a worker to accept it; nothing else is waiting for one
    stopping = time.monotonic()
    if args.builder == "docker":
        tool("docker", "kill", "--signal", "TERM", "playground-smoke")
    else:
        os.kill(gunicorn_master(runner), signal.SIGTERM)
    time.sleep(1)
    in_flight.sendall(b"Connection: close\r\n\r\n")
    answer = in_flight.recv(200).split(b"\r\n", 1)[0].decode()
    in_flight.close()
    try:
        code: int | None = runner.wait(timeout=40)
    except subprocess.TimeoutExpired:
        stop_everything(runner)
        code = None
    smoke.figures["stop seconds"] = round(time.monotonic() - stopping, 1)
    text = log.read_text()
    smoke.check(
        "a request in flight at SIGTERM is answered",
        answer == "HTTP/1.1 200 OK",
        f"the rest sent 1 s after the signal: {answer!r}",
    )
    smoke.check(
        "SIGTERM stops it gracefully",
        code == 0 and "Shutting down: Master" in text,
        f"exit status {code} after {smoke.figures['stop seconds']} s",
    )
    served = text[text.index("Running migrations:") :] if "Running migrations:" in text else text
    bad = [line for line in served.splitlines() if BAD_LOG.search(line)]
    smoke.check(
        "the log has no permission errors, tracebacks, errors or warnings",
        not bad,
        "; ".join(bad[:5]),
    )
    return smoke


def docker_answers() -> bool:
    try:
        tool("docker", "info", capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--builder",
        default="docker"
        if docker_answers()
        else os.getenv("BUILD_IMAGE", str(ROOT.parent / "shared" / "tools" / "build-image")),
        help="'docker', or a script that builds and runs the image as build-image does",
    )
    parser.add_argument("--tag", default="playground:smoke")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/playground_smoke"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to answer once the image is built"
    )
    parser.add_argument("--log", default=str(ROOT / "var" / "image-smoke.log"))
    args = parser.parse_args()
    os.environ["IMAGE_TAG"] = args.tag  # build-image's name for the tag
    when = time.gmtime()
    smoke = run(args)
    failed = [c["check"] for c in smoke.checks if not c["ok"]]
    result = {
        "benchmark": "image smoke",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S+0000", when),
        "passed": not failed,
        "figures": smoke.figures,
        "checks": smoke.checks,
    }
    print("\nfigures: " + json.dumps(smoke.figures, ensure_ascii=False))
    print(f"{len(smoke.checks) - len(failed)} of {len(smoke.checks)} checks passed")
    raw = ROOT / "bench" / "results" / time.strftime("image-smoke-%Y%m%d-%H%M%S.json", when)
    raw.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for summary in add([raw], commit()):
        print(f"written to {summary.relative_to(ROOT)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
