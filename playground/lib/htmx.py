"""The request as views see it once django-htmx's middleware has run.

django-htmx's documented pattern for type checkers: a request class that declares the
`htmx` attribute the middleware sets, for views to annotate `request` with. At run
time the request is Django's own; this class only tells the checker what is on it.
"""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
