"""pytest plugin of fsm-recorder (entry point ``pytest11``): fixtures and failure reports."""

from __future__ import annotations
