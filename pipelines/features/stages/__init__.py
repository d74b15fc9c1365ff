"""One stage per module; each registers its spec with pipelines.features.stage_types.register."""
