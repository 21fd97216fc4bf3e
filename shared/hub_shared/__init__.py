"""The hub's contract (events, topics, schemas) and plumbing shared by every service."""
