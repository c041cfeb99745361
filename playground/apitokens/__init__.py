"""Personal API tokens: a member's key for scripts, acting as them in one team."""
