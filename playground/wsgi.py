"""The WSGI application gunicorn serves (the Dockerfile's CMD)."""

import os
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django_application = get_wsgi_application()


def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Django's application, with no body on an answer to HEAD (RFC 9110). Django leaves
    that to the server; gunicorn drops the body but logs a warning for every such
    request, which a load balancer's or an uptime monitor's HEAD probes repeat all day."""
    response = django_application(environ, start_response)
    if environ["REQUEST_METHOD"] != "HEAD":
        return response
    response.close()  # as a server would: Django's request_finished closes connections
    return []
