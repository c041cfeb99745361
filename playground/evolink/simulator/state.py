"""Everything the simulator knows, in one object: `World`, and the records it holds.

Every other module of the package reads and changes the simulator through a `World`
it is handed (the HTTP routes, the task threads, `Simulator`'s own methods), always
with `world.lock` held while it touches the mutable parts. Nothing here imports the
rest of the package: this module is the bottom of its import graph.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# A key containing this starts with no credits (so its first create answers 402).
EMPTY_KEY_MARK = "-empty-"


@dataclass
class Task:
    """One image task, from its create to its expiry."""

    id: str
    key: str
    model: str
    prompt: str
    quality: str
    width: int
    height: int
    n: int
    result_count: int
    created: int
    started: float  # time.monotonic()
    duration: float
    reserved: Decimal
    image_urls: list[str]
    callback_url: str | None
    # gpt-image-2's output (the defaults for models without these fields).
    output_format: str = "png"
    background: str = "opaque"
    # gpt-image-2's mask (sent with image_urls only), and the edited image made from it.
    mask_url: str | None = None
    edited: bytes | None = None
    fail_code: str | None = None
    fail_message: str = ""
    status: str = "pending"  # set to completed / failed when it finishes
    files: list[str] = field(default_factory=list)
    credits_used: Decimal = Decimal(0)
    finished_at: float | None = None
    # Wall-clock instants of creation and of each read by its owner, for benchmarks.
    created_at: float = field(default_factory=time.time)
    reads: list[float] = field(default_factory=list)
    # The world's `generation` when it was created: a reset() since makes it void.
    generation: int = 0


@dataclass
class ResultFile:
    """A result image's URL token points at the task and which of its images it is."""

    task_id: str
    index: int


@dataclass
class Upload:
    """A file uploaded to the Files API."""

    path: str  # in the simulator's temporary folder
    mime_type: str
    size: int
    uploaded_at: float  # time.monotonic(); -inf once expired by expire_uploads()


@dataclass
class HttpFault:
    """One injected answer to a create, a task read or an upload."""

    kind: str  # "error" | "drop" | "delay"
    status: int = 0
    retry_after: float | None = None
    body: str | None = None
    content_type: str | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Defaults:
    """The constructor's settings that `reset()` restores."""

    task_seconds: float
    result_ttl: float
    files_ttl: float
    credits: Decimal
    offline_models: frozenset[str]
    drift: str | None
    # Slow creates and per-key rate limits (see keys.py's `rate_refusal`).
    create_seconds: float = 0.0
    rate_per_key: int | None = None


@dataclass(eq=False)
class World:
    """The simulator's settings and state. Thread-safe only with `lock` held."""

    defaults: Defaults
    # Where uploads are written (they can be 50 MB each: disk, not memory).
    upload_dir: str
    # None: any key starting with `sk-` is accepted. Not restored by reset().
    api_keys: frozenset[str] | None = None
    allow_http_callbacks: bool = False
    callback_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    callback_timeout: float = 10.0
    reference_timeout: float = 20.0
    control: bool = True
    # Set once the server is bound: its own origin, and the one result URLs use.
    base_url: str = ""
    public_url: str = ""
    # The x-request-id of the latest answer (tests compare it with what was stored).
    last_request_id: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Set on stop(): task and callback threads waiting on it give up.
    stopping: threading.Event = field(default_factory=threading.Event)
    # Bumped by reset(): running task threads compare it with their task's and stand down.
    generation: int = 0

    # --- what reset() forgets (set by restore_defaults) --------------------------------
    drift: str | None = field(init=False)
    task_seconds: float = field(init=False)
    result_ttl: float = field(init=False)
    files_ttl: float = field(init=False)
    # Each key is its own account: its balance starts at `default_balance` (0 for an
    # EMPTY_KEY_MARK key) the first time it is used.
    default_balance: Decimal = field(init=False)
    balances: dict[str, Decimal] = field(init=False)
    used: Decimal = field(init=False)  # over all keys, for stats()
    used_by_key: collections.defaultdict[str, Decimal] = field(init=False)
    tasks: dict[str, Task] = field(init=False)
    files: dict[str, ResultFile] = field(init=False)  # by URL token
    uploads: dict[str, Upload] = field(init=False)  # by file name ("<random>.<ext>")
    requests: collections.Counter[str] = field(init=False)
    callbacks: list[dict[str, Any]] = field(init=False)
    # Every mask a task fetched (masks.py): its URL, size, mode, alpha; and its bytes.
    masks: list[dict[str, Any]] = field(init=False)
    mask_images: dict[str, bytes] = field(init=False)  # by task id
    # Every create that passed the key checks: its Idempotency-Key header, model, n, task id.
    creates: list[dict[str, Any]] = field(init=False)
    # One-shot faults, consumed in order.
    create_faults: collections.deque[HttpFault] = field(init=False)
    read_faults: collections.deque[HttpFault] = field(init=False)
    upload_faults: collections.deque[HttpFault] = field(init=False)
    next_failures: collections.deque[tuple[str, str | None]] = field(init=False)
    next_durations: collections.deque[float] = field(init=False)
    next_result_counts: collections.deque[int] = field(init=False)
    # keys.py: key states, models a key may not use, keys sharing an account.
    key_states: dict[str, str] = field(init=False)
    denied: dict[str, set[str]] = field(init=False)
    accounts: dict[str, str] = field(init=False)
    offline_models: set[str] = field(init=False)
    usage_style: str = field(init=False)
    # Every create that makes a task is answered this late (a real upstream takes
    # seconds when it fetches references); `next_create_seconds` overrides it once each.
    create_seconds: float = field(init=False)
    next_create_seconds: collections.deque[float] = field(init=False)
    # Creates a key may send per second (None: no limit), and per-key exceptions; past
    # it the create answers 429 with Retry-After and creates nothing.
    rate_per_key: int | None = field(init=False)
    key_rates: dict[str, int | None] = field(init=False)
    # When each key's creates were let through in the last second (time.monotonic()),
    # and how many of its creates answered 429.
    rate_windows: dict[str, collections.deque[float]] = field(init=False)
    rate_limited: collections.Counter[str] = field(init=False)

    def __post_init__(self) -> None:
        self.restore_defaults()

    def restore_defaults(self) -> None:
        """Forget tasks, files, faults, balances and counters (call with the lock held)."""
        self.drift = self.defaults.drift
        self.task_seconds = self.defaults.task_seconds
        self.result_ttl = self.defaults.result_ttl
        self.files_ttl = self.defaults.files_ttl
        self.default_balance = self.defaults.credits
        self.balances = {}
        self.used = Decimal(0)
        self.used_by_key = collections.defaultdict(Decimal)
        self.tasks = {}
        self.files = {}
        self.uploads = {}
        self.requests = collections.Counter()
        self.callbacks = []
        self.masks = []
        self.mask_images = {}
        self.creates = []
        self.create_faults = collections.deque()
        self.read_faults = collections.deque()
        self.upload_faults = collections.deque()
        self.next_failures = collections.deque()
        self.next_durations = collections.deque()
        self.next_result_counts = collections.deque()
        self.key_states = {}
        self.denied = {}
        self.accounts = {}
        self.offline_models = set(self.defaults.offline_models)
        self.usage_style = "credits_used"
        self.create_seconds = self.defaults.create_seconds
        self.next_create_seconds = collections.deque()
        self.rate_per_key = self.defaults.rate_per_key
        self.key_rates = {}
        self.rate_windows = {}
        self.rate_limited = collections.Counter()

    # --- keys and credits (call with the lock held) -----------------------------------

    def accepts(self, key: str) -> bool:
        return key in self.api_keys if self.api_keys is not None else key.startswith("sk-")

    def initial_balance(self, key: str) -> Decimal:
        return Decimal(0) if EMPTY_KEY_MARK in key else self.default_balance

    def balance_of(self, key: str) -> Decimal:
        """The key's balance, opening its account on first use."""
        if key not in self.balances:
            self.balances[key] = self.initial_balance(key)
        return self.balances[key]

    def credit(self, key: str, amount: Decimal) -> None:
        """Add `amount` (negative: take it) to the key's balance."""
        self.balances[key] = self.balance_of(key) + amount

    def account_of(self, key: str) -> str:
        """Keys of one account (share_account) read each other's tasks."""
        return self.accounts.get(key, key)

    # --- expiry -----------------------------------------------------------------------

    def task_expired(self, task: Task) -> bool:
        return (
            task.finished_at is not None and time.monotonic() - task.finished_at >= self.result_ttl
        )

    def upload_expired(self, upload: Upload) -> bool:
        return time.monotonic() - upload.uploaded_at >= self.files_ttl
