"""The overthink command line (stub in this worktree; the lead owns the real one)."""
