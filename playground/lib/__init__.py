"""Shared web plumbing (healthchecks' `hc/lib` is the model): the htmx request type,
safe redirects, context processors, the registry of self-refreshing fragments; and the
workers' plumbing: the one lease rule (leases.py) and the periodic tasks declared in
code (schedules.py).

It sits at the bottom of the apps: it has no models and imports no other playground
app, only modules below every app (such as `playground.catalogue`), so every app may
use it without an import running upwards.
"""
