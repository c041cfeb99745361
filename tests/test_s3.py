"""Object storage: results and references in an S3-compatible store (django-storages),
tested against moto's S3 server on loopback over real HTTP. People still get every
file through our views; EvoLink gets references by presigned link."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from moto.server import ThreadedMotoServer

from playground.evolink.simulator import Simulator
from playground.generations import references
from playground.generations.models import Generation, State
from tests.fixtures_simulator import free_port
from tests.test_references import form_body, image_bytes, submit_and_finish, tokens_in, upload

BUCKET = "playground-test"
CREDENTIALS = {"S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server, a real HTTP server on 127.0.0.1 for the whole session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server: str, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The media storage is the S3 bucket (as S3_BUCKET etc. would configure it)."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.S3_BUCKET = BUCKET
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 600,
                "file_overwrite": True,
                "signature_version": "s3v4",
                "addressing_style": "path",
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client: Any) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.mark.django_db(transaction=True)
def test_a_job_with_a_reference_runs_on_object_storage(
    s3: Any, alice: User, alice_client: Client, fast_jobs: Simulator, settings
) -> None:  # type: ignore[no-untyped-def]
    # The reference goes to the bucket, not to the local disk.
    html = alice_client.post(
        "/t/a/references/", {"file": upload("ref.png", image_bytes(size=(80, 60)))}
    ).content.decode()
    assert any(k.startswith("references/") for k in keys(s3))
    assert not (settings.MEDIA_ROOT / "references").exists()

    alice_client.post("/t/a/", form_body(reference=tokens_in(html)))
    job = submit_and_finish(Generation.objects.get().pk)
    # The simulator downloaded the reference by its presigned link, as EvoLink would.
    assert job.state == State.COMPLETED, job.error_message
    link = job.request_payload["image_urls"][0]
    assert link.startswith(settings.STORAGES["default"]["OPTIONS"]["endpoint_url"])
    assert "X-Amz-Signature=" in link and "X-Amz-Expires=600" in link

    # The results are archived in the bucket, and people get them through our view.
    image = job.images.get(index=0)
    assert f"results/{job.public_id}/0.png" in keys(s3)
    stored = s3.get_object(Bucket=BUCKET, Key=image.file.name)["Body"].read()
    served = alice_client.get(f"/generations/{job.public_id}/images/0")
    assert served.status_code == 200 and b"".join(served.streaming_content) == stored
    thumb = alice_client.get(f"/generations/{job.public_id}/images/0/thumbnail")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"

    # Deleting the job deletes its objects.
    alice_client.post(f"/generations/{job.public_id}/delete/")
    assert not [k for k in keys(s3) if k.startswith(f"results/{job.public_id}/")]


@pytest.mark.django_db
def test_reference_links_are_presigned_private_and_unguessable(
    s3: Any, alice_client: Client, s3_server: str
) -> None:
    alice_client.post("/t/a/references/", {"file": upload("ref.png", image_bytes())})
    reference = references.ReferenceImage.objects.get()
    link = references.public_url(reference)
    fetched = httpx.get(link, timeout=10)
    assert fetched.status_code == 200 and fetched.content[:8] == b"\x89PNG\r\n\x1a\n"
    # The object itself is private: without the signature there is nothing.
    bare = httpx.get(f"{s3_server}/{BUCKET}/{reference.file.name}", timeout=10)
    assert bare.status_code == 403


def test_compose_runs_web_worker_database_redis_and_object_storage() -> None:
    """No Docker engine here to start it: check it names the whole stack, wired with
    settings the app reads."""
    from pathlib import Path

    import yaml

    from playground import settings as project_settings

    compose = yaml.safe_load((Path(__file__).parent.parent / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "db", "redis", "minio"} <= set(services)
    assert services["worker"]["command"] == ["python", "manage.py", "qcluster"]
    env = services["web"]["environment"]
    source = Path(project_settings.__file__).read_text()
    for name in env:
        assert f'"{name}"' in source, f"{name} is not read by settings.py"
    assert env["S3_BUCKET"] and env["DATABASE_URL"].startswith("postgres://")
