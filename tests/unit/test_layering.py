"""The layering contract (pyproject.toml, `make lint`): it holds for the repo, and an import the wrong way breaks it.

Each case copies the repo's packages, plants one wrong import in the copy, and runs import-linter on the copy with the
repo's own contracts: the planted import must break the contract it names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lambda", "infra", "local", "bench", "preflight", "tests")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _copy_of_the_repo(target: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(REPO_ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "cdk.out"))
    shutil.copy(REPO_ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'lambda'}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", "pyproject.toml"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_repo_keeps_every_contract(tmp_path: Path) -> None:
    # Given the repo's packages as they are
    root = _copy_of_the_repo(tmp_path)
    # When the contracts are checked
    result = _lint_imports(root)
    # Then every one is kept
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        # A unit test reaching AWS (moto) belongs to another tier
        ("tests/unit/test_config.py", "import moto", "Unit tests need no AWS"),
        # A lower layer of the function importing a higher one
        ("lambda/outbound_caller/safety/policy.py", "import outbound_caller.settling.settlement", "layers"),
        # The stack importing the function's Powertools modules (synth would configure them)
        ("infra/alarms.py", "import outbound_caller.results.publisher", "pure modules"),
        # Two modules of one package importing each other
        ("local/account.py", "import local.moto_servers", "No import cycle"),
        # The function importing the local pipeline
        ("lambda/outbound_caller/names.py", "import local.account", "imports the local"),
        # A fast test leaning on a real-time pipeline test (make test would run it by the back door)
        ("tests/integration/test_redial.py", "import tests.pipeline.test_reliability", "need no pipeline run"),
    ],
    ids=["test-tier", "function-layer", "infra-purity", "cycle", "local", "pipeline-tier"],
)
def test_an_import_the_wrong_way_breaks_its_contract(tmp_path: Path, module: str, planted: str, broken: str) -> None:
    # Given a copy of the repo with one import planted the wrong way
    root = _copy_of_the_repo(tmp_path)
    target = root / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{planted}  # noqa: E402, F401\n", encoding="utf-8")
    # When the contracts are checked
    result = _lint_imports(root)
    # Then the check fails, naming the broken contract
    assert result.returncode != 0
    broken_lines = [line for line in result.stdout.splitlines() if "BROKEN" in line or broken in line]
    assert any(broken in line for line in broken_lines), result.stdout
