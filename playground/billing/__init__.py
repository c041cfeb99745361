"""What the team pays with and what it spends: upstream API keys (encrypted, write-only),
which key pays for a job, and (later) spend, budgets and the usage page."""
