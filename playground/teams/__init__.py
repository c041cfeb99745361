"""Teams and access: Team, Membership and its roles, invitations, the current team,
and the access helpers every view goes through (see access.py)."""
