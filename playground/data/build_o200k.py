"""Convert js-tiktoken's bundled o200k_base ranks into files tiktoken (Python) can load offline.

Why this exists: ``tiktoken.get_encoding("o200k_base")`` downloads its BPE table from
openaipublic.blob.core.windows.net on first use, and our deployment has no general internet
access. The npm package ``js-tiktoken`` ships the very same table inside its tarball, so we
convert it once and commit the result next to this script.

Usage (stdlib only, run from anywhere)::

    mkdir -p /tmp/tok && cd /tmp/tok && npm install js-tiktoken
    python playground/data/build_o200k.py /tmp/tok/node_modules/js-tiktoken/dist/ranks/o200k_base.js

It writes, next to this script:

* ``o200k_base.tiktoken.gz`` -- tiktoken's standard ``"<base64 token> <rank>\\n"`` format
  (the same bytes as OpenAI's ``o200k_base.tiktoken``), gzip-compressed, sorted by rank.
* ``o200k_base.json`` -- ``{"pat_str": ..., "special_tokens": {...}}`` from the JS file.

The output is deterministic (gzip mtime 0, no embedded file name), so re-running the script on
the same input produces byte-identical files and a clean ``git diff``.

Input format (``export default {...}`` or ``module.exports = {...}`` around a JSON object):
``bpe_ranks`` is a string of lines ``"! <offset> <tok> <tok> ..."``; the base64 tokens on a line
get consecutive ranks starting at ``<offset>``. The parsing below mirrors js-tiktoken's
``Tiktoken`` constructor (dist/chunk-*.js) exactly:

    ranks.bpe_ranks.split("\\n").filter(Boolean).reduce((memo, x) => {
      const [_, offsetStr, ...tokens] = x.split(" ");
      const offset = Number.parseInt(offsetStr, 10);
      tokens.forEach((token, i) => memo[token] = offset + i);
      ...
    for (const [token, rank] of Object.entries(uncompressed)) {
      const bytes = base64.toByteArray(token);
      this.rankMap.set(bytes.join(","), rank);

i.e. split on single spaces (not runs of whitespace), the first field is ignored, a later
occurrence of a token overrides an earlier one. Where js-tiktoken would silently accept
something odd (duplicate tokens/byte strings, a non-numeric offset, bad base64) we fail loudly
instead, because that would mean the upstream format changed and the table must be re-checked.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent
RANKS_OUT = OUT_DIR / "o200k_base.tiktoken.gz"
META_OUT = OUT_DIR / "o200k_base.json"

# sha256 of OpenAI's o200k_base.tiktoken, as pinned in tiktoken_ext/openai_public.py. If our
# reconstruction hashes to this, it is byte-for-byte the file tiktoken would have downloaded.
OPENAI_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def load_js_module(path: Path) -> dict[str, Any]:
    """Return the object literal exported by an ESM (.js) or CommonJS (.cjs) ranks file."""
    text = path.read_text(encoding="utf-8").strip()
    for prefix in ("export default", "module.exports ="):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    else:
        raise SystemExit(f"{path}: expected 'export default' or 'module.exports =' prefix")
    # The literal is valid JSON (quoted keys, plain strings), so json can read it directly.
    literal = json.loads(text.removesuffix(";"))
    if not isinstance(literal, dict):
        raise SystemExit(f"{path}: expected an object literal")
    return literal


def parse_bpe_ranks(bpe_ranks: str) -> dict[bytes, int]:
    """Expand the compact "! offset tok tok ..." format the way js-tiktoken does."""
    by_token: dict[str, int] = {}
    for lineno, line in enumerate(bpe_ranks.split("\n"), 1):
        if not line:  # .filter(Boolean)
            continue
        marker, offset_str, *tokens = line.split(" ")
        if marker != "!" or not offset_str.isdigit():
            raise SystemExit(f"bpe_ranks line {lineno}: unexpected header {line[:40]!r}")
        offset = int(offset_str)
        for i, token in enumerate(tokens):
            if token in by_token:
                raise SystemExit(f"bpe_ranks line {lineno}: duplicate token {token!r}")
            by_token[token] = offset + i

    ranks: dict[bytes, int] = {}
    for token, rank in by_token.items():
        # base64-js.toByteArray rejects lengths that are not a multiple of 4 and otherwise
        # decodes the standard alphabet; validate=True makes Python equally strict.
        try:
            if not token or len(token) % 4:
                raise binascii.Error("length is not a positive multiple of 4")
            raw = base64.b64decode(token, validate=True)
        except binascii.Error as exc:
            raise SystemExit(f"bad base64 token {token!r} (rank {rank}): {exc}") from exc
        if raw in ranks:
            raise SystemExit(f"byte string {raw!r} has ranks {ranks[raw]} and {rank}")
        ranks[raw] = rank
    return ranks


def render_tiktoken(ranks: dict[bytes, int]) -> bytes:
    """Serialise in tiktoken's own format, sorted by rank like OpenAI's published file."""
    lines = (
        f"{base64.b64encode(token).decode('ascii')} {rank}\n"
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
    )
    return "".join(lines).encode("ascii")


def write_gzip(path: Path, payload: bytes) -> None:
    # mtime=0 and an empty embedded filename keep the archive reproducible.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz,
    ):
        gz.write(payload)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    module = load_js_module(Path(argv[1]))
    ranks = parse_bpe_ranks(module["bpe_ranks"])
    special_tokens: dict[str, int] = module["special_tokens"]

    rank_values = sorted(ranks.values())
    if rank_values != list(range(len(rank_values))):
        raise SystemExit("mergeable ranks are not exactly 0..n-1")
    if set(special_tokens.values()) & set(rank_values):
        raise SystemExit("a special token id collides with a mergeable rank")

    payload = render_tiktoken(ranks)
    digest = hashlib.sha256(payload).hexdigest()
    write_gzip(RANKS_OUT, payload)
    META_OUT.write_text(
        json.dumps(
            {"pat_str": module["pat_str"], "special_tokens": special_tokens},
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )

    print(f"{len(ranks)} mergeable ranks, special tokens {special_tokens}")
    print(f"wrote {RANKS_OUT} ({RANKS_OUT.stat().st_size} bytes), {META_OUT}")
    print(f"sha256 of uncompressed .tiktoken: {digest}")
    if digest == OPENAI_SHA256:
        print("matches OpenAI's published o200k_base.tiktoken exactly")
    else:
        print("WARNING: does NOT match OpenAI's published o200k_base.tiktoken hash")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
