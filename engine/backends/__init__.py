"""Adapters to external systems, one module per system, behind the Protocols in `base`.

A backend knows nothing of workspaces or users beyond what it is handed: plain config with
secrets already resolved, returning plain data (Arrow, dataclasses). Heavy client libraries
are imported inside the backend modules, never here.
"""
