"""`Simulator`: the simulator's life cycle and its programmatic API.

It owns the HTTP server (handler.py) and the `World` (state.py) that the routes
(routes.py) and the task threads (tasks.py) read and change; its methods inject
faults, set key and model states, and inspect what happened, all through that world.
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from playground.evolink.simulator import routes
from playground.evolink.simulator.faults import check_drift_mode
from playground.evolink.simulator.files import DEFAULT_FILES_TTL, envelope_body, unlink
from playground.evolink.simulator.handler import Server
from playground.evolink.simulator.keys import DEFAULT_OFFLINE_MODELS, KEY_STATES, USAGE_STYLES
from playground.evolink.simulator.state import Defaults, HttpFault, World
from playground.evolink.simulator.tasks import envelope, task_status

DEFAULT_CREDITS = Decimal(10_000)
DEFAULT_API_KEY = "sk-evo-simulator"


class Simulator:
    """An EvoLink look-alike; thread-safe, all state in memory (lost on stop)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        task_seconds: float = 6.0,
        result_ttl: float = 86_400.0,
        files_ttl: float = DEFAULT_FILES_TTL,
        api_keys: Iterable[str] | None = None,
        credits: Decimal | float | int = DEFAULT_CREDITS,
        allow_http_callbacks: bool = False,
        callback_delays: tuple[float, ...] = (1.0, 2.0, 4.0),
        callback_timeout: float = 10.0,
        reference_timeout: float = 20.0,
        public_url: str | None = None,
        control: bool = True,
        drift: str | None = None,
        offline_models: Iterable[str] = DEFAULT_OFFLINE_MODELS,
        create_seconds: float = 0.0,
        rate_per_key: int | None = None,
    ) -> None:
        self.host = host
        # Uploads go to disk, not memory (up to 50 MB each); removed on stop().
        self._upload_dir = tempfile.TemporaryDirectory(prefix="evolink-sim-files-")
        self.world = World(
            Defaults(
                task_seconds=float(task_seconds),
                result_ttl=float(result_ttl),
                files_ttl=float(files_ttl),
                credits=Decimal(str(credits)),
                offline_models=frozenset(offline_models),
                drift=check_drift_mode(drift),
                create_seconds=float(create_seconds),
                rate_per_key=_check_rate(rate_per_key),
            ),
            upload_dir=self._upload_dir.name,
            api_keys=frozenset(api_keys) if api_keys is not None else None,
            allow_http_callbacks=allow_http_callbacks,
            callback_delays=tuple(callback_delays),
            callback_timeout=callback_timeout,
            reference_timeout=reference_timeout,
            control=control,
        )
        self._thread: threading.Thread | None = None
        self._serving = False
        app = functools.partial(routes.dispatch, self.world, self)
        self._server = Server((host, port), self.world, app)
        bound_host, bound_port = self._server.server_address[:2]
        self.port = int(bound_port)
        if isinstance(bound_host, bytes):  # socketserver's typing allows it; IP sockets give str
            bound_host = bound_host.decode()
        shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host  # noqa: S104
        self.base_url = f"http://{shown}:{self.port}"
        self.public_url = (public_url or self.base_url).rstrip("/")
        self.world.base_url, self.world.public_url = self.base_url, self.public_url

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> Simulator:
        """Serve in a background (daemon) thread; returns self."""
        # A short poll interval makes stop() quick (shutdown waits for one poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="evolink-simulator",
            daemon=True,
        )
        self._serving = True
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until `stop()` is called from another thread."""
        self._serving = True
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self.world.stopping.set()
        if self._serving:
            # shutdown() waits for the serving loop to end: it would block forever if
            # none ever ran.
            self._server.shutdown()
            self._serving = False
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._upload_dir.cleanup()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget tasks, files, faults and counters; restore the constructor's settings."""
        with self.world.lock:
            self.world.generation += 1  # running task threads see this and stand down
            uploads = list(self.world.uploads.values())
            self.world.restore_defaults()
        for upload in uploads:
            unlink(upload.path)

    # --- settings (tests change them between tasks) ------------------------------------

    @property
    def api_key(self) -> str:
        """A key this simulator accepts."""
        api_keys = self.api_keys
        return min(api_keys) if api_keys else DEFAULT_API_KEY

    @property
    def api_keys(self) -> frozenset[str] | None:
        """The keys accepted (None: any `sk-` key); reset() leaves them as they are."""
        with self.world.lock:
            return self.world.api_keys

    @api_keys.setter
    def api_keys(self, keys: frozenset[str] | None) -> None:
        with self.world.lock:
            self.world.api_keys = keys

    @property
    def task_seconds(self) -> float:
        """How long new tasks take (until reset())."""
        with self.world.lock:
            return self.world.task_seconds

    @task_seconds.setter
    def task_seconds(self, seconds: float) -> None:
        with self.world.lock:
            self.world.task_seconds = seconds

    @property
    def result_ttl(self) -> float:
        """Seconds finished tasks and their images stay readable (until reset())."""
        with self.world.lock:
            return self.world.result_ttl

    @result_ttl.setter
    def result_ttl(self, seconds: float) -> None:
        with self.world.lock:
            self.world.result_ttl = seconds

    @property
    def files_ttl(self) -> float:
        """Seconds uploaded files stay readable (until reset())."""
        with self.world.lock:
            return self.world.files_ttl

    @files_ttl.setter
    def files_ttl(self, seconds: float) -> None:
        with self.world.lock:
            self.world.files_ttl = seconds

    @property
    def create_seconds(self) -> float:
        """How late creates that make a task are answered (until reset())."""
        with self.world.lock:
            return self.world.create_seconds

    @create_seconds.setter
    def create_seconds(self, seconds: float) -> None:
        with self.world.lock:
            self.world.create_seconds = float(seconds)

    @property
    def drift(self) -> str | None:
        with self.world.lock:
            return self.world.drift

    @property
    def last_request_id(self) -> str:
        """The x-request-id of the latest answer (tests compare it with what was stored)."""
        return self.world.last_request_id

    @property
    def upload_dir(self) -> str:
        """The temporary folder uploaded files are kept in."""
        return self.world.upload_dir

    # --- inspection -------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        world = self.world
        with world.lock:
            return {
                "requests": dict(world.requests),
                "tasks_created": len(world.tasks),
                "tasks": [
                    {
                        "id": t.id,
                        "status": task_status(t)[0],
                        "model": t.model,
                        # Wall-clock time the task finished, for benchmarks that
                        # measure what happens after the upstream is done.
                        "finished_at": None
                        if t.finished_at is None or t.finished_at == -math.inf
                        else time.time() - (time.monotonic() - t.finished_at),
                        "created_at": t.created_at,
                        "reads": list(t.reads),
                    }
                    for t in world.tasks.values()
                ],
                "callbacks": list(world.callbacks),
                # What each masked edit received: URL, width, height, mode, alpha.
                "masks": [dict(m) for m in world.masks],
                "creates": [dict(c) for c in world.creates],
                "uploads": sum(not world.upload_expired(u) for u in world.uploads.values()),
                "credits": {
                    # What a key used for the first time starts with.
                    "remaining": float(world.default_balance),
                    "used": float(world.used),
                    # Keys masked: the control routes have no authentication.
                    "keys": [
                        {
                            "key": _mask(key),
                            "remaining": float(balance),
                            "used": float(world.used_by_key[key]),
                        }
                        for key, balance in world.balances.items()
                    ],
                },
                "drift": world.drift,
                # keys.py: what upstream refuses today (keys masked, as above).
                "offline_models": sorted(world.offline_models),
                "key_states": {_mask(k): v for k, v in world.key_states.items()},
                "usage_style": world.usage_style,
                "create_seconds": world.create_seconds,
                "rate_per_key": world.rate_per_key,
                "key_rates": {_mask(k): v for k, v in world.key_rates.items()},
                # How many creates each key had refused with 429 (keys masked).
                "rate_limited": {_mask(k): n for k, n in world.rate_limited.items()},
                "pending_faults": {
                    "create": len(world.create_faults),
                    "read": len(world.read_faults),
                    "upload": len(world.upload_faults),
                    "task_fail": len(world.next_failures),
                    "task_slow": len(world.next_durations),
                    "task_results": len(world.next_result_counts),
                    "create_slow": len(world.next_create_seconds),
                },
            }

    def request_count(self, route: str) -> int:
        """Requests seen on a route such as "POST /v1/images/generations"."""
        with self.world.lock:
            return self.world.requests[route]

    def credits_of(self, key: str) -> Decimal:
        """The credits `key` has left (what it would start with if never used)."""
        with self.world.lock:
            return self.world.balances.get(key, self.world.initial_balance(key))

    @property
    def tasks_created(self) -> int:
        with self.world.lock:
            return len(self.world.tasks)

    @property
    def creates(self) -> list[dict[str, Any]]:
        """Each create received: its Idempotency-Key header, model, n and task id."""
        with self.world.lock:
            return [dict(c) for c in self.world.creates]

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        with self.world.lock:
            return list(self.world.callbacks)

    def received_mask(self, task_id: str) -> bytes | None:
        """The mask a task downloaded, as it arrived (None if it fetched none)."""
        with self.world.lock:
            return self.world.mask_images.get(task_id)

    def task(self, task_id: str) -> dict[str, Any] | None:
        """The task as its owner would read it (None if unknown)."""
        with self.world.lock:
            task = self.world.tasks.get(task_id)
            return None if task is None else envelope(self.world, task, self.public_url)

    # --- one-shot faults, consumed in order ----------------------------------------------

    def fail_creates(
        self,
        status: int = 503,
        times: int = 1,
        *,
        retry_after: float | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """The next `times` creates answer `status` before creating anything."""
        fault = HttpFault("error", status, retry_after, body, content_type)
        with self.world.lock:
            self.world.create_faults.extend([fault] * times)

    def drop_creates(self, times: int = 1) -> None:
        """The next `times` creates make the task, then close the connection unanswered."""
        with self.world.lock:
            self.world.create_faults.extend([HttpFault("drop")] * times)

    def delay_creates(self, seconds: float, times: int = 1) -> None:
        """The next `times` creates make the task, then answer `seconds` late."""
        with self.world.lock:
            self.world.create_faults.extend([HttpFault("delay", delay=seconds)] * times)

    def slow_creates(self, seconds: float, times: int = 1) -> None:
        """The next `times` creates past the key checks wait `seconds` (if valid), then
        make the task and answer (other requests are served meanwhile)."""
        with self.world.lock:
            self.world.next_create_seconds.extend([float(seconds)] * times)

    def fail_reads(
        self,
        status: int = 503,
        times: int = 1,
        *,
        retry_after: float | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """The next `times` task reads (`GET /v1/tasks/{id}`) answer `status`."""
        fault = HttpFault("error", status, retry_after, body, content_type)
        with self.world.lock:
            self.world.read_faults.extend([fault] * times)

    def drop_reads(self, times: int = 1) -> None:
        with self.world.lock:
            self.world.read_faults.extend([HttpFault("drop")] * times)

    def fail_uploads(
        self,
        status: int = 503,
        times: int = 1,
        *,
        code: int | None = None,
        msg: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """The next `times` uploads answer HTTP `status` and store nothing.

        The body is the Files API's envelope, `success: false` with `code` (default:
        `status`), unless `body` is given: `fail_uploads(200, code=500)` is a failure
        behind a 200, as the Files API may send.
        """
        if body is None:
            refusal = envelope_body(
                False, status if code is None else code, msg or "Injected error.", None
            )
            body, content_type = json.dumps(refusal), content_type or "application/json"
        fault = HttpFault("error", status, retry_after, body, content_type)
        with self.world.lock:
            self.world.upload_faults.extend([fault] * times)

    def drop_uploads(self, times: int = 1) -> None:
        """The next `times` uploads are read, then the connection is closed unanswered."""
        with self.world.lock:
            self.world.upload_faults.extend([HttpFault("drop")] * times)

    def fail_tasks(
        self, code: str = "content_policy_violation", times: int = 1, *, message: str | None = None
    ) -> None:
        """The next `times` created tasks fail with `code`."""
        with self.world.lock:
            self.world.next_failures.extend([(code, message)] * times)

    def slow_tasks(self, seconds: float, times: int = 1) -> None:
        with self.world.lock:
            self.world.next_durations.extend([float(seconds)] * times)

    def limit_results(self, count: int, times: int = 1) -> None:
        """The next `times` tasks return at most `count` images (upstream often returns < n)."""
        with self.world.lock:
            self.world.next_result_counts.extend([int(count)] * times)

    # --- lasting changes (until reset) ---------------------------------------------------

    def set_credits(self, remaining: Decimal | float | int, *, key: str | None = None) -> None:
        """Set one key's balance, or (no `key`) every key's: the ones already used and
        the balance new keys start with (except that `-empty-` keys still start at 0)."""
        amount = Decimal(str(remaining))
        with self.world.lock:
            if key is not None:
                self.world.balances[key] = amount
                return
            self.world.default_balance = amount
            for known in self.world.balances:
                self.world.balances[known] = amount

    def limit_rate(self, per_second: int | None, *, key: str | None = None) -> None:
        """Creates a key may send per second (None: no limit) before it gets 429 with
        Retry-After (keys.py): every key's, or only `key`'s. Lasts until reset()."""
        rate = _check_rate(per_second)
        with self.world.lock:
            if key is None:
                self.world.rate_per_key = rate
            else:
                self.world.key_rates[key] = rate

    def expire_results(self) -> None:
        """Expire every finished task and its files now."""
        with self.world.lock:
            for task in self.world.tasks.values():
                if task.finished_at is not None:
                    task.finished_at = -math.inf

    def expire_uploads(self) -> None:
        """Expire every uploaded file now (its URL answers 404)."""
        with self.world.lock:
            for upload in self.world.uploads.values():
                upload.uploaded_at = -math.inf

    def set_drift(self, mode: str | None) -> None:
        """Drift from the contract from now on (one of DRIFT_MODES), or stop (None).

        Unlike the one-shot faults it lasts until reset() (or the next set_drift)."""
        with self.world.lock:
            self.world.drift = check_drift_mode(mode)

    def set_key_state(self, key: str, state: str) -> None:
        """How upstream treats `key` (one of keys.KEY_STATES; see keys.py)."""
        if state not in KEY_STATES:
            raise ValueError(f"unknown key state {state!r}; known: {', '.join(KEY_STATES)}")
        with self.world.lock:
            self.world.key_states[key] = state

    def deny_model(self, key: str, model: str) -> None:
        """Creates of `model` with `key` answer 403 `model_access_denied`."""
        with self.world.lock:
            self.world.denied.setdefault(key, set()).add(model)

    def share_account(self, *keys: str) -> None:
        """The keys become tokens of one account (each reads the others' tasks)."""
        with self.world.lock:
            account = self.world.account_of(keys[0])
            for key in keys:
                self.world.accounts[key] = account

    def take_offline(self, model: str) -> None:
        """Creates for `model` answer 400 "Model not found", as upstream's withdrawn ones."""
        with self.world.lock:
            self.world.offline_models.add(model)

    def bring_online(self, model: str) -> None:
        with self.world.lock:
            self.world.offline_models.discard(model)

    def set_usage_style(self, style: str) -> None:
        """How completed tasks report their cost (one of keys.USAGE_STYLES)."""
        if style not in USAGE_STYLES:
            raise ValueError(f"unknown usage style {style!r}; known: {', '.join(USAGE_STYLES)}")
        with self.world.lock:
            self.world.usage_style = style

    # --- the control API's faults ---------------------------------------------------------

    def apply_fault(self, spec: Mapping[str, Any]) -> None:
        """One fault from its JSON form (`POST /_simulator/faults`)."""
        name = spec.get("fault")
        times = int(spec.get("times", 1))
        retry_after = spec.get("retry_after")
        wait = None if retry_after is None else float(retry_after)
        body, content_type = spec.get("body"), spec.get("content_type")
        if name == "create_error":
            self.fail_creates(
                int(spec.get("status", 503)),
                times,
                retry_after=wait,
                body=body,
                content_type=content_type,
            )
        elif name == "create_drop":
            self.drop_creates(times)
        elif name == "create_delay":
            self.delay_creates(float(spec["seconds"]), times)
        elif name == "create_slow":
            self.slow_creates(float(spec["seconds"]), times)
        elif name == "rate_limit":
            per_second = spec.get("per_second")
            key = spec.get("key")
            self.limit_rate(
                None if per_second is None else int(per_second),
                key=None if key is None else str(key),
            )
        elif name == "read_error":
            self.fail_reads(
                int(spec.get("status", 503)),
                times,
                retry_after=wait,
                body=body,
                content_type=content_type,
            )
        elif name == "read_drop":
            self.drop_reads(times)
        elif name == "task_fail":
            code = str(spec.get("code", "content_policy_violation"))
            self.fail_tasks(code, times, message=spec.get("message"))
        elif name == "task_slow":
            self.slow_tasks(float(spec["seconds"]), times)
        elif name == "task_results":
            self.limit_results(int(spec["count"]), times)
        elif name == "credits":
            key = spec.get("key")
            self.set_credits(Decimal(str(spec["remaining"])), key=None if key is None else str(key))
        elif name == "expire_results":
            self.expire_results()
        elif name == "upload_error":
            upload_code = spec.get("code")
            self.fail_uploads(
                int(spec.get("status", 503)),
                times,
                code=None if upload_code is None else int(upload_code),
                msg=spec.get("msg"),
                retry_after=wait,
                body=body,
                content_type=content_type,
            )
        elif name == "drift":
            self.set_drift(spec.get("mode"))
        elif name == "key_state":
            self.set_key_state(str(spec["key"]), str(spec["state"]))
        elif name == "deny_model":
            self.deny_model(str(spec["key"]), str(spec["model"]))
        elif name == "share_account":
            self.share_account(*[str(k) for k in spec["keys"]])
        elif name == "model_offline":
            self.take_offline(str(spec["model"]))
        elif name == "model_online":
            self.bring_online(str(spec["model"]))
        elif name == "usage_style":
            self.set_usage_style(str(spec["style"]))
        elif name == "upload_drop":
            self.drop_uploads(times)
        elif name == "expire_uploads":
            self.expire_uploads()
        else:
            raise ValueError(f"unknown fault {name!r}")


def _check_rate(per_second: int | None) -> int | None:
    """A rate limit of at least one create per second, or None (no limit)."""
    if per_second is not None and per_second < 1:
        raise ValueError(f"a rate limit is at least 1 create per second, not {per_second}")
    return per_second


def _mask(key: str) -> str:
    """Enough of a key to tell keys apart in stats(), not enough to use it."""
    return f"{key[:3]}…{key[-4:]}" if len(key) > 10 else "…"
