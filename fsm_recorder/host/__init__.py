"""The per-host Redis-protocol server: its lifecycle, ACL roles and the one way to open a client."""
