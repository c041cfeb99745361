"""Many jobs on purpose: matrix runs (one prompt × models × qualities × sizes) and
prompt templates (a prompt with {variables} × values)."""
