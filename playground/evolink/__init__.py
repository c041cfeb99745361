"""Everything that speaks to EvoLink.

- `client`: the only module that makes HTTP requests to EvoLink (tasks, credits,
  files, result downloads) and turns its answers into `Task` or `EvoLinkError`.
- `upstream`: which EvoLink this deployment talks to, and with which key.
- `simulator`: an offline EvoLink-compatible server for the demo, tests and benchmarks.
"""
