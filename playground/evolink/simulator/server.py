"""`Simulator` itself: life cycle, state, inspection and the EvoLink API routes.

Its other parts are mixins: fault injection (faults.py), the Files API (files.py) and
running tasks (tasks.py). The HTTP server and request handler are in handler.py.
"""

from __future__ import annotations

import collections
import math
import tempfile
import threading
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from playground import request_rules
from playground.evolink.simulator.faults import (
    FaultInjectionMixin,
    _drift_mode,
    _HttpFault,
    directive_problem,
)
from playground.evolink.simulator.files import (
    DEFAULT_FILES_TTL,
    FilesApiMixin,
    _unlink,
    _Upload,
)
from playground.evolink.simulator.handler import _Handler, _Server
from playground.evolink.simulator.images import CONTENT_TYPES, render_image
from playground.evolink.simulator.keys import DEFAULT_OFFLINE_MODELS, KeyStatesMixin
from playground.evolink.simulator.tasks import TasksMixin, _File, _num, _Task

DEFAULT_CREDITS = Decimal(10_000)
DEFAULT_API_KEY = "sk-evo-simulator"
# A key containing this starts with no credits (so its first create answers 402).
EMPTY_KEY_MARK = "-empty-"


class Simulator(FaultInjectionMixin, FilesApiMixin, TasksMixin, KeyStatesMixin):
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
    ) -> None:
        self.host = host
        # The x-request-id of the latest answer (tests compare it with what was stored).
        self.last_request_id = ""
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.allow_http_callbacks = allow_http_callbacks
        self.callback_delays = tuple(callback_delays)
        self.callback_timeout = callback_timeout
        self.reference_timeout = reference_timeout
        self.control = control
        self._defaults = {
            "task_seconds": float(task_seconds),
            "result_ttl": float(result_ttl),
            "files_ttl": float(files_ttl),
            "credits": Decimal(str(credits)),
            "offline_models": frozenset(offline_models),
        }
        self._default_drift = _drift_mode(drift)
        # Uploads go to disk, not memory (up to 50 MB each); removed on stop().
        self._upload_dir = tempfile.TemporaryDirectory(prefix="evolink-sim-files-")
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._serving = False
        self._reset_state()
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self
        bound_host, bound_port = self._server.server_address[:2]
        self.port = int(bound_port)
        shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host  # noqa: S104
        self.base_url = f"http://{shown}:{self.port}"
        self.public_url = (public_url or self.base_url).rstrip("/")

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
        self._stopping.set()
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

    @property
    def api_key(self) -> str:
        """A key this simulator accepts."""
        return min(self.api_keys) if self.api_keys else DEFAULT_API_KEY

    def reset(self) -> None:
        """Forget tasks, files, faults and counters; restore the constructor's settings."""
        with self._lock:
            self._generation += 1  # running task threads see this and stand down
            uploads = list(self._uploads.values())
            self._reset_state()
        for upload in uploads:
            _unlink(upload.path)

    def _reset_state(self) -> None:
        self.drift = self._default_drift
        self.task_seconds = self._defaults["task_seconds"]
        self.result_ttl = self._defaults["result_ttl"]
        self.files_ttl = self._defaults["files_ttl"]
        # Each key is its own account: its balance starts at `_default_balance` (0 for
        # an EMPTY_KEY_MARK key) the first time it is used.
        self._default_balance: Decimal = self._defaults["credits"]
        self._balances: dict[str, Decimal] = {}
        self._used = Decimal(0)  # over all keys, for stats()
        self._used_by_key: dict[str, Decimal] = collections.defaultdict(Decimal)
        self._tasks: dict[str, _Task] = {}
        self._files: dict[str, _File] = {}
        self._uploads: dict[str, _Upload] = {}  # by file name ("<random>.<ext>")
        self._requests: collections.Counter[str] = collections.Counter()
        self._callbacks: list[dict[str, Any]] = []
        self._creates: list[dict[str, Any]] = []
        self._create_faults: collections.deque[_HttpFault] = collections.deque()
        self._read_faults: collections.deque[_HttpFault] = collections.deque()
        self._upload_faults: collections.deque[_HttpFault] = collections.deque()
        self._next_failures: collections.deque[tuple[str, str | None]] = collections.deque()
        self._next_durations: collections.deque[float] = collections.deque()
        self._next_result_counts: collections.deque[int] = collections.deque()
        # keys.py: key states, models a key may not use, keys sharing an account.
        self._key_states: dict[str, str] = {}
        self._denied: dict[str, set[str]] = {}
        self._accounts: dict[str, str] = {}
        self.offline_models: set[str] = set(self._defaults["offline_models"])
        self.usage_style = "credits_used"

    # --- inspection -------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "tasks_created": len(self._tasks),
                "tasks": [
                    {
                        "id": t.id,
                        "status": self._status(t)[0],
                        "model": t.model,
                        # Wall-clock time the task finished, for benchmarks that
                        # measure what happens after the upstream is done.
                        "finished_at": None
                        if t.finished_at is None or t.finished_at == -math.inf
                        else time.time() - (time.monotonic() - t.finished_at),
                        "created_at": t.created_at,
                        "reads": list(t.reads),
                    }
                    for t in self._tasks.values()
                ],
                "callbacks": list(self._callbacks),
                "creates": [dict(c) for c in self._creates],
                "uploads": sum(not self._upload_expired(u) for u in self._uploads.values()),
                "credits": {
                    # What a key used for the first time starts with.
                    "remaining": float(self._default_balance),
                    "used": float(self._used),
                    # Keys masked: the control routes have no authentication.
                    "keys": [
                        {
                            "key": _mask(key),
                            "remaining": float(balance),
                            "used": float(self._used_by_key[key]),
                        }
                        for key, balance in self._balances.items()
                    ],
                },
                "drift": self.drift,
                # keys.py: what upstream refuses today (keys masked, as above).
                "offline_models": sorted(self.offline_models),
                "key_states": {_mask(k): v for k, v in self._key_states.items()},
                "usage_style": self.usage_style,
                "pending_faults": {
                    "create": len(self._create_faults),
                    "read": len(self._read_faults),
                    "upload": len(self._upload_faults),
                    "task_fail": len(self._next_failures),
                    "task_slow": len(self._next_durations),
                    "task_results": len(self._next_result_counts),
                },
            }

    def request_count(self, route: str) -> int:
        """Requests seen on a route such as "POST /v1/images/generations"."""
        with self._lock:
            return self._requests[route]

    def credits_of(self, key: str) -> Decimal:
        """The credits `key` has left (what it would start with if never used)."""
        with self._lock:
            return self._balances.get(key, self._initial_balance(key))

    @property
    def tasks_created(self) -> int:
        with self._lock:
            return len(self._tasks)

    @property
    def creates(self) -> list[dict[str, Any]]:
        """Each create received: its Idempotency-Key header, model, n and task id."""
        with self._lock:
            return [dict(c) for c in self._creates]

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._callbacks)

    def task(self, task_id: str) -> dict[str, Any] | None:
        """The task as its owner would read it (None if unknown)."""
        with self._lock:
            task = self._tasks.get(task_id)
            return None if task is None else self._envelope(task, self.public_url)

    # --- credits per key ---------------------------------------------------------------

    def _initial_balance(self, key: str) -> Decimal:
        return Decimal(0) if EMPTY_KEY_MARK in key else self._default_balance

    def _balance_of(self, key: str) -> Decimal:
        """The key's balance, opening its account on first use (call with the lock held)."""
        if key not in self._balances:
            self._balances[key] = self._initial_balance(key)
        return self._balances[key]

    def _credit(self, key: str, amount: Decimal) -> None:
        """Add `amount` (negative: take it) to the key's balance (lock held)."""
        self._balances[key] = self._balance_of(key) + amount

    # --- the API ----------------------------------------------------------------------

    def _accepts(self, key: str) -> bool:
        return key in self.api_keys if self.api_keys is not None else key.startswith("sk-")

    def handle_create(self, request: _Handler, key: str) -> None:
        with self._lock:
            fault = self._create_faults.popleft() if self._create_faults else None
        if fault is not None and fault.kind == "error":
            request.send_fault(fault)
            return

        payload = request.read_json()
        with self._lock:
            refusal = self.create_refusal(
                key, payload.get("model") if isinstance(payload, dict) else None
            )
        if refusal is not None:
            request.send_error_json(refusal[0], refusal[1], refusal[2], refusal[3])
            return
        if not isinstance(payload, dict):
            request.send_error_json(
                400, "invalid_request", "The body must be a JSON object.", "invalid_request_error"
            )
            return
        # Every create that reached this point, for tests and benchmarks: its
        # Idempotency-Key header, model and n (EvoLink's replay behaviour is undocumented,
        # so the simulator, like a server that ignores the header, creates a task anyway).
        record: dict[str, Any] = {
            "idempotency_key": request.headers.get("Idempotency-Key"),
            "model": payload.get("model"),
            "n": payload.get("n"),
            "task_id": None,
        }
        with self._lock:
            self._creates.append(record)
        # reference, August 2026: one request of gpt-image-1.5 carries n = 1 only.
        errors = request_rules.request_errors(self._validation_view(payload), upstream=True)
        if errors:
            field_name, messages = next(iter(errors.items()))
            param = "size" if field_name in ("width", "height") else field_name
            request.send_error_json(
                400,
                "invalid_request",
                f"{param}: {' '.join(str(m) for m in messages)}",
                "invalid_request_error",
                param=param,
            )
            return

        problem = directive_problem(str(payload.get("prompt", "")))
        if problem:
            request.send_error_json(
                400, "invalid_request", problem, "invalid_request_error", param="prompt"
            )
            return

        task = self._new_task(payload, key)
        if task is None:
            request.send_error_json(
                402,
                "insufficient_quota",
                "Insufficient credits to run this request.",
                "insufficient_quota",
            )
            return
        record["task_id"] = task.id
        threading.Thread(
            target=self._run_task, args=(task,), name=f"sim-{task.id}", daemon=True
        ).start()

        if fault is not None and fault.kind == "drop":
            request.drop()
            return
        if fault is not None and fault.kind == "delay":
            self._stopping.wait(fault.delay)
        with self._lock:
            body = self._envelope(task, request.origin())
        request.send_json(200, body)

    def handle_get_task(self, request: _Handler, key: str, task_id: str) -> None:
        with self._lock:
            fault = self._read_faults.popleft() if self._read_faults else None
        if fault is not None:
            if fault.kind == "drop":
                request.drop()
            else:
                request.send_fault(fault)
            return
        with self._lock:
            refusal = self.read_refusal(key)
        if refusal is not None:
            request.send_error_json(refusal[0], refusal[1], refusal[2], refusal[3])
            return
        with self._lock:
            task = self._tasks.get(task_id)
            # Tasks belong to an account: its other keys read them too (share_account).
            visible = (
                task is not None
                and self._account_of(task.key) == self._account_of(key)
                and not self._expired(task)
            )
            body = self._envelope(task, request.origin()) if visible and task else None
            if body is not None and task is not None:
                task.reads.append(time.time())
        if body is None:
            request.send_error_json(404, "task_not_found", "Task not found.", "not_found_error")
            return
        request.send_json(200, body)

    def handle_credits(self, request: _Handler, key: str) -> None:
        # Each key is its own account here: `user` and `token` both describe this key.
        with self._lock:
            remaining = _num(self._balance_of(key))
            used = _num(self._used_by_key.get(key, Decimal(0)))
            body = {
                "success": True,
                "data": {
                    "user": {"remaining_credits": remaining, "used_credits": used},
                    "token": {
                        "remaining_credits": remaining,
                        "used_credits": used,
                        "unlimited_credits": True,
                    },
                },
            }
        request.send_json(200, body)

    def handle_file(self, request: _Handler, name: str) -> None:
        token = name.rsplit(".", 1)[0]
        with self._lock:
            entry = self._files.get(token)
            task = self._tasks.get(entry.task_id) if entry else None
            if entry is None or task is None or self._expired(task):
                task = None
        if task is None or entry is None:
            request.send_bytes(404, b"Not Found", "text/plain; charset=utf-8")
            return
        data = render_image(
            task.prompt,
            task.model,
            task.quality,
            task.width,
            task.height,
            entry.index,
            task.result_count,
            task.output_format,
            task.background == "transparent",
        )
        content_type = CONTENT_TYPES[task.output_format]
        request.send_bytes(200, data, content_type, cache_seconds=int(self.result_ttl))


def _mask(key: str) -> str:
    """Enough of a key to tell keys apart in stats(), not enough to use it."""
    return f"{key[:3]}…{key[-4:]}" if len(key) > 10 else "…"
