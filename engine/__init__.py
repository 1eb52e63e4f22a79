"""Sadeem's headless engine: models, services, backends, runner and CLI.

Nothing here imports the console (`tui`), and nothing heavy is imported at package import
time so that `sadeem --help` stays fast.
"""

__version__ = "0.1.0"
