"""The `hub` command."""
