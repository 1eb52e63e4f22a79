"""The `sadeem` command line."""
