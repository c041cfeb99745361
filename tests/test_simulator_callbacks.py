"""What the simulator fetches and posts: reference images, as EvoLink downloads them,
and callbacks to the task's `callback_url`.
"""

from __future__ import annotations

import time

import httpx
import pytest

from playground.evolink.simulator import Simulator
from tests.simulator_http import CREATE, image_bytes, wait_for, wait_until_finished

# --- reference images -----------------------------------------------------------------


def test_reference_images_are_fetched_and_decoded(simulator, api, local_server):
    local_server.files["/a.png"] = ("image/png", image_bytes("PNG"))
    local_server.files["/b.jpg"] = ("image/jpeg", image_bytes("JPEG"))
    local_server.files["/c.webp"] = ("image/webp", image_bytes("WEBP"))
    urls = [f"{local_server.url}/{name}" for name in ("a.png", "b.jpg", "c.webp")]

    task = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x", "image_urls": urls})

    assert task.json()["usage"]["credits_reserved"] > 0
    assert wait_until_finished(api, task.json()["id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("path", "content_type", "data"),
    [
        ("/missing.png", None, None),  # 404
        ("/page.png", "text/html", b"<html>a viewer page, not a file</html>"),
        ("/anim.gif", "image/gif", image_bytes("GIF")),  # not JPEG/PNG/WEBP
    ],
)
def test_an_unusable_reference_fails_the_task(
    simulator, api, local_server, path, content_type, data
):
    if data is not None:
        local_server.files[path] = (content_type, data)

    task = api.post(
        CREATE,
        json={"model": "gpt-image-2", "prompt": "x", "image_urls": [local_server.url + path]},
    ).json()

    body = wait_until_finished(api, task["id"])
    assert body["status"] == "failed"
    assert body["error"]["code"] == "image_processing_error"


def test_an_unreachable_reference_fails_the_task(simulator, api, local_server):
    url = local_server.url + "/a.png"
    local_server.close()  # nothing listens there any more

    task = api.post(CREATE, json={"model": "gpt-image-2", "prompt": "x", "image_urls": [url]})

    body = wait_until_finished(api, task.json()["id"])
    assert body["error"]["code"] == "image_processing_error"


# --- callbacks ------------------------------------------------------------------------


def test_callbacks_post_the_task_and_retry_on_errors(simulator, api, local_server):
    local_server.statuses = [500, 503]  # then 200

    task = api.post(
        CREATE,
        json={"model": "gpt-image-2", "prompt": "x", "callback_url": local_server.url + "/hook"},
    ).json()
    wait_for(lambda: len(local_server.posts) == 3)

    body = local_server.posts[-1]
    assert body == api.get(f"/v1/tasks/{task['id']}").json()
    assert body["status"] == "completed"
    attempts = [(c["attempt"], c.get("status")) for c in simulator.callbacks]
    assert attempts == [(1, 500), (2, 503), (3, 200)]


def test_a_failed_task_is_called_back_too(simulator, api, local_server):
    simulator.fail_tasks("quota_exceeded")

    api.post(
        CREATE,
        json={"model": "gpt-image-2", "prompt": "x", "callback_url": local_server.url + "/hook"},
    )
    wait_for(lambda: len(local_server.posts) == 1)

    assert local_server.posts[0]["status"] == "failed"
    assert local_server.posts[0]["error"]["code"] == "quota_exceeded"


def test_callbacks_give_up_after_three_retries(simulator, api, local_server):
    local_server.statuses = [500] * 10

    api.post(
        CREATE,
        json={"model": "gpt-image-2", "prompt": "x", "callback_url": local_server.url + "/hook"},
    )
    wait_for(lambda: len(simulator.callbacks) == 4)
    time.sleep(0.3)

    assert len(local_server.posts) == 4


def test_http_callbacks_are_refused_unless_allowed(local_server):
    with Simulator(port=0) as strict:
        response = httpx.post(
            strict.base_url + CREATE,
            json={"model": "gpt-image-2", "prompt": "x", "callback_url": local_server.url + "/h"},
            headers={"Authorization": f"Bearer {strict.api_key}"},
        )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "callback_url"
