"""The images API for scripts and tools: OpenAI's images endpoints, served by the
playground itself under the team's budgets, queue and history (issue 26)."""
