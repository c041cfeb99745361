"""Benchmark: peak memory of the web process while one request uploads 16 × 50 MB images.

    .venv/bin/python bench/upload_memory.py

Serves the app with gunicorn (one sync worker, as in production), logs in, and sends
one multipart request with 16 distinct PNGs of just under 50 MB each to the studio's
upload endpoint. It reads the worker's resident memory before the request and its
peak (VmHWM) after, and writes both to bench/results/. Target: the peak grows by less
than 100 MB: uploads are streamed to temporary files, checked without decoding whole
images, and copied to storage in chunks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FILES = 16
EDGE = 4080  # 4080 × 4080 RGB, stored uncompressed: 49.9 MB, just under the 50 MB limit


def memory_kb(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))
        for key in ("VmRSS", "VmHWM")
    }


def make_images(folder: Path) -> list[Path]:
    paths = []
    for i in range(FILES):
        path = folder / f"noise-{i}.png"
        Image.frombytes("RGB", (EDGE, EDGE), os.urandom(EDGE * EDGE * 3)).save(
            path, "PNG", compress_level=0
        )
        assert path.stat().st_size <= 50 * 1024 * 1024, path.stat().st_size
        paths.append(path)
    return paths


def main() -> None:
    from tests.fixtures_simulator import free_port

    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    env = {
        **os.environ,
        "PLAYGROUND_VAR_DIR": str(work),
        "MEDIA_ROOT": str(work / "media"),
        "DJANGO_SETTINGS_MODULE": "playground.settings",
    }
    env.pop("DATABASE_URL", None)
    python = sys.executable
    # Our own manage.py and gunicorn with fixed arguments: no untrusted input (S603).
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [
            python,
            "-c",
            "import django; django.setup(); from django.contrib.auth.models import "
            "User; User.objects.create_user('bench', password='bench-pass-123')",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    print("making 16 images of ~50 MB…")
    images = make_images(work)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(python).parent / "gunicorn"),
            "playground.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "600",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        with httpx.Client(base_url=base, timeout=600) as client:
            client.get("/login/")
            client.post(
                "/login/",
                data={
                    "username": "bench",
                    "password": "bench-pass-123",
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
            )
            studio = client.get("/t/a/")  # warm up: templates, tokenizer, Pillow plugins
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', studio.text).group(1)
            before = memory_kb(worker)
            handles = [path.open("rb") for path in images]
            started = time.perf_counter()
            response = client.post(
                "/t/a/references/",
                files=[
                    ("file", (p.name, h, "image/png")) for p, h in zip(images, handles, strict=True)
                ],
                headers={"X-CSRFToken": token},
            )
            seconds = time.perf_counter() - started
            for handle in handles:
                handle.close()
            after = memory_kb(worker)
        accepted = response.text.count('class="reference-chip"')
        total = sum(p.stat().st_size for p in images)
        results = {
            "files": FILES,
            "request_bytes": total,
            "accepted": accepted,
            "status": response.status_code,
            "seconds": round(seconds, 2),
            "rss_before_mb": round(before["VmRSS"] / 1024, 1),
            "peak_before_mb": round(before["VmHWM"] / 1024, 1),
            "peak_after_mb": round(after["VmHWM"] / 1024, 1),
            "peak_growth_mb": round((after["VmHWM"] - before["VmRSS"]) / 1024, 1),
            "target_growth_mb": 100,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)  # 800 MB of test images
    out = ROOT / "bench" / "results" / time.strftime("upload-memory-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
