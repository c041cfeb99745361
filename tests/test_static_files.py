"""Static files: plain names straight from static/ in tests and a fresh clone; hashed
names, compressed, cached for a year once DJANGO_STATIC_MANIFEST=1 (the image sets it for
its build and its server). The image itself is checked by bench/image_smoke.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.templatetags.static import static
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent

# Run in a process of its own: the setting is read when the settings module loads.
# collectstatic first (without the admin's 250 files, whose compression takes 10 s), then
# the pages' link and what WhiteNoise serves there.
COLLECT_AND_FETCH = """
import json
import django
django.setup()
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["admin"])
url = static("css/playground.css")
client = Client()
served = {"url": url}
for encoding in ("br", "gzip"):
    response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    served[encoding] = [response.status_code, response.get("Content-Encoding"),
                        response.get("Cache-Control")]
plain = client.get("/static/css/playground.css")
served["plain"] = [plain.status_code, plain.get("Cache-Control")]
print(json.dumps(served))
"""


def test_without_the_setting_pages_link_plain_names_served_from_static_dir() -> None:
    url = static("css/playground.css")
    assert url == "/static/css/playground.css"
    response = Client().get(url)
    assert response.status_code == 200
    assert response.getvalue() == (ROOT / "static/css/playground.css").read_bytes()


def test_with_the_setting_collectstatic_makes_hashed_compressed_long_cached_files(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DJANGO_STATIC_MANIFEST": "1",
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        "DJANGO_SETTINGS_MODULE": "playground.settings",
    }
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-c", COLLECT_AND_FETCH],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    served = json.loads(done.stdout.splitlines()[-1])

    assert re.fullmatch(r"/static/css/playground\.[0-9a-f]{12}\.css", served["url"])
    hashed = tmp_path / "staticfiles" / served["url"].removeprefix("/static/")
    assert hashed.with_name(hashed.name + ".br").is_file()
    assert hashed.with_name(hashed.name + ".gz").is_file()
    for encoding in ("br", "gzip"):
        status, content_encoding, cache_control = served[encoding]
        assert status == 200
        assert content_encoding == encoding
        assert cache_control == "max-age=315360000, public, immutable"
    # The unhashed name still answers (a stale page may ask), but only for a minute.
    assert served["plain"] == [200, "max-age=60, public"]
