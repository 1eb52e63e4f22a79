"""Run states and triggers: plain constants, importable without the database layer (the
console's first screen must not wait for SQLAlchemy)."""

STATES = (
    "queued",
    "running",
    "cancelling",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
    "skipped",
)
ACTIVE = ("queued", "running", "cancelling")
TERMINAL = ("succeeded", "failed", "timed_out", "cancelled", "skipped")
TRIGGERS = ("manual", "schedule", "retry", "upstream", "cli")
