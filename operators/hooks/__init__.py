"""Hooks: how a ctrflow job or check is run (stateless; built in execute)."""
