"""An offline, EvoLink-compatible HTTP server for the demo, the tests and benchmarks.

It speaks EvoLink's API (docs.evolink.ai): `POST /v1/images/generations`
(validated by `request_rules.request_errors`, priced by `pricing.estimate`),
`GET /v1/tasks/{id}` (pending -> processing -> completed | failed over
`task_seconds`), `GET /v1/credits`, and result images at `/files/<random>.png`
that expire `result_ttl` seconds after the task finished. Results are real PNGs at
the requested pixel size showing the prompt, in a colour derived from it.

It also plays EvoLink's Files API host (on the same port): `POST
/api/v1/files/upload/stream` takes one multipart `file` (JPEG, PNG or WebP that
Pillow decodes, at most 50 MB, streamed to a temporary folder) and answers the
`{success, code, msg, data}` envelope with `data.file_url` =
`<origin>/files-api/<random>.<ext>`, served without auth for `files_ttl` seconds
(default 72 h), then 404. Tasks fetch such URLs like any other reference.

Run it with `python manage.py simulate_evolink`, or in-process:

    sim = Simulator(port=0, task_seconds=0.3).start()
    ... sim.base_url ...
    sim.stop()

API keys and credits (conventions, so they can be tried from the UI as well):

    - any key starting with `sk-` is accepted unless `api_keys` is given; any other
      key (or, with `api_keys`, any key not in it) answers 401 `unauthorized`;
    - each key is its own account with its own credits: it starts with `credits`
      (default 10,000; `simulate_evolink --credits N`) the first time it is used,
      creates reserve the estimated cost from that key, finishing settles it (a
      failed task is refunded, a completed one keeps only what it used), and
      `GET /v1/credits` answers that key's figures in both `user` and `token`;
    - a key containing `-empty-` (e.g. `sk-evo-empty-demo`) starts with 0 credits;
    - a create costing more than the key has left answers 402
      `insufficient_quota` and creates nothing.

`set_credits(n)` sets every key's balance (and what new keys start with),
`set_credits(n, key=k)` one key's; `credits_of(k)` reads one. Tasks are private to
the key that created them (another key reads 404, as upstream).

Prompt directives (so a person can trigger faults from the UI):

    [fail:content_policy_violation]   the task fails with that code: any code in
                                      catalogue.FAILURE_CODES; an unknown one is
                                      refused (400) with the list of known codes
    [slow:30]                         the task takes 30 seconds
    [results:1]                       the task returns only 1 image, whatever `n` is

Fault injection, programmatic (methods of `Simulator`, each queues one-shot faults
consumed in order) and over HTTP (`POST /_simulator/faults` with one object or a
list, `{"fault": <name>, ...arguments}`):

    fail_creates(status, times, retry_after=, body=, content_type=)   "create_error"
        the next creates answer `status` (429, 500, 502, 503, ...) and create nothing
    drop_creates(times)                                               "create_drop"
        the task IS created, then the connection is closed without an answer
    delay_creates(seconds, times)                                     "create_delay"
        the task IS created, the answer is sent `seconds` later
    slow_creates(seconds, times)                                      "create_slow"
        the next creates past the key checks wait `seconds` (once valid), then make
        the task and answer;
        `simulate_evolink --create-seconds S` (or `create_seconds=S`, settable) does
        this for every create. The server is threaded: other requests go on meanwhile.
        `stats()["creates"]` has each create's `received_at` (wall clock).
    limit_rate(per_second, key=)                                      "rate_limit"
        (lasting until reset; `{"fault": "rate_limit", "per_second": N, "key": k}`)
        past N creates per second a key's creates answer 429 `rate_limit_exceeded`
        with Retry-After and create nothing; `simulate_evolink --rate-per-key N` or
        `rate_per_key=N` for every key; `stats()["rate_limited"]` counts the 429s
    fail_reads(status, times, retry_after=, body=, content_type=)     "read_error"
    drop_reads(times)                                                 "read_drop"
        the same for `GET /v1/tasks/{id}`
    fail_tasks(code, times, message=)                                 "task_fail"
    slow_tasks(seconds, times)                                        "task_slow"
    limit_results(count, times)                                       "task_results"
        the next created tasks fail / take `seconds` / return fewer images
    fail_uploads(status, times, code=, msg=, retry_after=, body=,     "upload_error"
                 content_type=)
        the next uploads answer HTTP `status` with a `success: false` envelope
        whose code is `code` (default: `status`; e.g. status 200, code 500)
    drop_uploads(times)                                               "upload_drop"
        the next uploads are read, then the connection is closed unanswered
    set_credits(remaining, key=)                                      "credits"
        every key's balance (and new keys'), or only `key`'s
    expire_results()                                                  "expire_results"
    expire_uploads()                                                  "expire_uploads"
        every uploaded file answers 404 from now on

Drift from the contract (lasting until reset, unlike the one-shot faults), so that
`manage.py evolink_check` can be seen to name each difference: `set_drift(mode)`,
`{"fault": "drift", "mode": ...}` over HTTP, or `simulate_evolink --drift MODE`, with
a mode from `DRIFT_MODES`: `renamed-field` (`images` instead of `results`),
`integer-error-code`, `missing-usage`, `no-request-id`. Every answer otherwise
carries an `x-request-id` header, and a task read that finds nothing answers 404
with the string code `task_not_found`, as EvoLink's reference (August 2026) says.

Masked edits: `mask_url` is accepted for gpt-image-2 only (any other model: 400
`invalid_request`, like every field its reference does not list); with `image_urls`
the task downloads it, fails with EvoLink's documented messages when it has no alpha
channel or is not the first image's size, and returns the first image with the
masked region filled with a flat colour. `stats()["masks"]` lists what each task
received (URL, size, mode, alpha); `received_mask(task_id)` gives its bytes.

Inspection: `stats()` / `GET /_simulator/stats` (request counts per route, tasks
created, callback attempts, masks received, credits: new keys' balance, total used and each used
key, masked), `task(id)`, `credits_of(key)`, and `reset()` /
`POST /_simulator/reset` (which also forgets every key's balance). The control
routes have no authentication: bind the simulator to loopback (the default) or
disable them with `control=False`.

Layout of this package (each module imports only public names of the ones above it
in this list; tests/test_simulator_package.py holds that):

    state.py      `World`: every setting and all state, in one object, and its records
    faults.py     injected error bodies, drift modes, prompt directives
    files.py      the Files API's limits and envelope; removing uploaded files
    images.py     renders result images;  multipart.py  parses upload bodies
    masks.py      gpt-image-2's masked edits: fetching and checking the mask, the edit
    keys.py       how upstream refuses a key or a model (key states, models offline)
    tasks.py      making, running, finishing and calling back a task; its envelope
    handler.py    the HTTP server and request handler (reads bodies, sends answers)
    routes.py     what each URL answers, given the world
    server.py     `Simulator`: life cycle, fault injection, inspection
"""

from playground.evolink.simulator.faults import DRIFT_MODES
from playground.evolink.simulator.files import (
    DEFAULT_FILES_TTL,
    MAX_DISCARD_BYTES,
    MAX_UPLOAD_BODY_BYTES,
    UPLOAD_FORMATS,
    UPLOAD_PATH,
    UPLOAD_ROUTE,
)
from playground.evolink.simulator.handler import MAX_BODY_BYTES
from playground.evolink.simulator.images import render_image, render_png
from playground.evolink.simulator.keys import DEFAULT_OFFLINE_MODELS
from playground.evolink.simulator.multipart import read_multipart
from playground.evolink.simulator.server import DEFAULT_API_KEY, DEFAULT_CREDITS, Simulator
from playground.evolink.simulator.state import EMPTY_KEY_MARK, World
from playground.evolink.simulator.tasks import AUTO_SIZE, BILLING_RULE, FAILURE_DETAILS, USER_GROUP

__all__ = [
    "AUTO_SIZE",
    "BILLING_RULE",
    "DEFAULT_API_KEY",
    "DEFAULT_CREDITS",
    "DEFAULT_FILES_TTL",
    "DEFAULT_OFFLINE_MODELS",
    "DRIFT_MODES",
    "EMPTY_KEY_MARK",
    "FAILURE_DETAILS",
    "MAX_BODY_BYTES",
    "MAX_DISCARD_BYTES",
    "MAX_UPLOAD_BODY_BYTES",
    "UPLOAD_FORMATS",
    "UPLOAD_PATH",
    "UPLOAD_ROUTE",
    "USER_GROUP",
    "Simulator",
    "World",
    "read_multipart",
    "render_image",
    "render_png",
]
