from typing import Any

from django.http import HttpRequest

from playground.evolink import upstream


def upstream_mode(request: HttpRequest) -> dict[str, Any]:
    return {"upstream": upstream.describe()}
