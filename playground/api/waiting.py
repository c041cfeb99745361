"""Waiting for a job's images inside the request that asked for them.

OpenAI's images API answers with the images; ours does too, for up to
API_WAIT_SECONDS (25 s by default, under the web server's 60 s timeout), reading the
job's row, which the workers move on. Past that the answer is 202 with the job's
address, to follow with GET /v1/jobs/{id}. The wait holds one web worker: deployments
that expect many slow jobs at once run more web workers or ask with `?wait=0`.
"""

from __future__ import annotations

import time

from playground.generations.models import FINAL_STATES, Generation

# How often the row is read while waiting: a few cheap primary-key reads a second.
READ_EVERY_SECONDS = 0.25


def until_final(pk: int, seconds: float) -> Generation:
    """The job once it reached a final state, or as it is when `seconds` ran out."""
    deadline = time.monotonic() + seconds
    while True:
        job = Generation.objects.select_related("owner", "api_token").get(pk=pk)
        if job.state in FINAL_STATES or time.monotonic() >= deadline:
            return job
        time.sleep(min(READ_EVERY_SECONDS, max(deadline - time.monotonic(), 0)))
