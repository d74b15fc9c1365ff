"""Feature pipelines: MLlib stages declared in conf/base/features/<name>.yml, validated before they run.

Public API: `load_spec` / `validate` (builder), `FeatureMap` (the trainers' contract),
`drift` (PSI of a day against the training window), `STAGES` (the stage registry).
"""

from __future__ import annotations
