"""Routes of this app, included by playground/urls.py: `team_patterns` under /t/<team>/,
`patterns` at the root (things reached by their own id, whose team follows from them)."""

from django.urls import path  # noqa: F401

team_patterns: list = []
patterns: list = []
