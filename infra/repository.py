"""Where the app finds the repository's own files: its root (the function's code is under it) and cdk.json.

Pure (no aws_cdk import), like the settings that read cdk.json.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The app's committed context: the deployment settings and CDK's feature flags.
CDK_JSON_PATH = REPO_ROOT / "cdk.json"
