"""Benchmark: peak memory and CPU of the web process while requests upload references.

    .venv/bin/python bench/upload_memory.py

Serves the app with gunicorn (one sync worker, as in production), logs in, and sends
the studio's upload endpoint one multipart request per scenario:

- 16 distinct PNGs of ~34 MB each (the largest PNG we accept, noise: nothing compresses);
- hostile images: three 9400 × 9400 WEBPs of a few hundred KB in one request (the
  issue's attack: 12.7 s of CPU and 1.48 GB each before), a 9400 × 9400 PNG, the
  largest WEBP we accept (with transparency), a 100 MP JPEG (decoded at 1/4 scale),
  a JPEG+HTML polyglot and a JPEG carrying EXIF GPS.

Before each request it resets the worker's peak RSS (`/proc/<pid>/clear_refs`), then
reads the peak (VmHWM) and the CPU time the worker used, and writes everything to
bench/results/. Target: each request grows the peak by < ~100 MB and uses < ~2 s of
CPU per file.
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

import django
import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FILES = 16
EDGE = 2896  # 2896 × 2896 RGBA, stored uncompressed: 33.5 MB, the most PNG pixels we accept
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


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
        Image.frombytes("RGBA", (EDGE, EDGE), os.urandom(EDGE * EDGE * 4)).save(
            path, "PNG", compress_level=0
        )
        assert path.stat().st_size <= 50 * 1024 * 1024, path.stat().st_size
        paths.append(path)
    return paths


def save(image: Image.Image, path: Path, fmt: str, **options: object) -> Path:
    image.save(path, fmt, **options)
    return path


def make_hostile(folder: Path) -> dict[str, list[Path]]:
    from playground.generations import references

    ramp = Image.linear_gradient("L").resize((9400, 9400))
    flat = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_90), ramp))
    huge_webp = save(flat, folder / "huge.webp", "WEBP", quality=30)
    huge_png = save(flat, folder / "huge.png", "PNG", compress_level=9)
    del flat, ramp
    edge = int(references.max_decode_pixels("WEBP") ** 0.5)
    noise = Image.frombytes("RGBA", (edge, edge), os.urandom(edge * edge * 4))
    limit_webp = save(noise, folder / "limit.webp", "WEBP", quality=80)
    ramp = Image.linear_gradient("L").resize((10_000, 10_000))
    big = Image.merge("RGB", (ramp, Image.effect_noise((10_000, 10_000), 40), ramp))
    jpeg_100mp = save(big, folder / "100mp.jpg", "JPEG", quality=70)
    del big, ramp
    polyglot = folder / "polyglot.jpg"
    save(Image.new("RGB", (400, 300), "navy"), polyglot, "JPEG")
    with polyglot.open("ab") as f:
        f.write(b"<html><script>alert(document.cookie)</script></html>")
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Corp"
    exif.get_ifd(0x8825).update({1: "N", 2: (59.0, 19.0, 45.0), 3: "E", 4: (18.0, 4.0, 5.0)})
    gps = save(Image.new("RGB", (400, 300), "teal"), folder / "gps.jpg", "JPEG", exif=exif)
    return {
        "3 x 9400x9400 WEBP in one request": [huge_webp] * 3,
        "9400x9400 PNG": [huge_png],
        f"largest accepted WEBP ({edge}x{edge} RGBA noise)": [limit_webp],
        "100 MP JPEG": [jpeg_100mp],
        "JPEG+HTML polyglot": [polyglot],
        "JPEG with EXIF GPS": [gps],
    }


def run_scenario(client: httpx.Client, worker: int, token: str, name: str, paths: list) -> dict:
    reset_peak(worker)
    before = memory_kb(worker)
    cpu_before = cpu_seconds(worker)
    handles = [path.open("rb") for path in paths]
    started = time.perf_counter()
    try:
        response = client.post(
            "/t/a/references/",
            files=[
                ("file", (p.name, h, "application/octet-stream"))
                for p, h in zip(paths, handles, strict=True)
            ],
            headers={"X-CSRFToken": token},
        )
    finally:
        for handle in handles:
            handle.close()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(worker) - cpu_before
    after = memory_kb(worker)
    return {
        "scenario": name,
        "files": len(paths),
        "request_bytes": sum(p.stat().st_size for p in paths),
        "status": response.status_code,
        "accepted": response.text.count('class="reference-chip"'),
        "messages": sorted(
            set(re.findall(r"[^<>]*: (?:too large|not processed|not uploaded)[^<]*", response.text))
        ),
        "seconds": round(seconds, 2),
        "worker_cpu_seconds": round(cpu, 2),
        "cpu_seconds_per_file": round(cpu / len(paths), 2),
        "rss_before_mb": round(before["VmRSS"] / 1024, 1),
        "peak_after_mb": round(after["VmHWM"] / 1024, 1),
        "peak_growth_mb": round((after["VmHWM"] - before["VmRSS"]) / 1024, 1),
    }


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
            "import django; django.setup(); from django.contrib.auth.models import User; "
            "from playground.teams.models import Membership, Team; "
            "user = User.objects.create_user('bench', password='bench-pass-123'); "
            "Membership.objects.create(user=user, team=Team.objects.create(name='A', slug='a'))",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    print("making 16 images of ~34 MB and the hostile ones…")
    os.environ.update({key: env[key] for key in ("PLAYGROUND_VAR_DIR", "MEDIA_ROOT")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    django.setup()  # for the limits in playground.generations.references
    scenarios = {f"{FILES} x {EDGE}x{EDGE} RGBA PNG (~34 MB each)": make_images(work)}
    scenarios.update(make_hostile(work))
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
    results: dict = {"target_growth_mb": 100, "target_cpu_seconds_per_file": 2, "scenarios": []}
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
            for name, paths in scenarios.items():
                results["scenarios"].append(run_scenario(client, worker, token, name, paths))
                print(json.dumps(results["scenarios"][-1]))
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)  # 700 MB of test images
    out = ROOT / "bench" / "results" / time.strftime("upload-memory-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
