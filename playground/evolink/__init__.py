"""Everything that speaks to EvoLink.

- `client`: with `files`, the only modules that make HTTP requests to EvoLink (tasks,
  credits, result downloads) and turn its answers into `Task` or `EvoLinkError`.
- `files`: the Files API part of the client (`Client.upload_file`, `UploadedFile`).
- `upstream`: which EvoLink this deployment talks to, and with which key.
- `simulator`: an offline EvoLink-compatible server for the demo, tests and benchmarks.
"""
