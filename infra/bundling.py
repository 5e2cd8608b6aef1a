"""The function's code asset: lambda/ plus its locked dependencies, bundled with pip on the host, never in Docker."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.repository import REPO_ROOT

CODE_ROOT = REPO_ROOT / "lambda"
REQUIREMENTS_FILE = "requirements.txt"
# What bundling installs: every dependency, transitive ones too, pinned with its wheels' hashes (`make lock` writes it
# from REQUIREMENTS_FILE). It sits in the asset's source, so a change to any of them changes the asset's hash.
LOCK_FILE = "requirements.lock"
# pip's platform tag for Lambda arm64 (Amazon Linux 2023 is glibc 2.34, so manylinux2014 wheels run there).
ARM64_PIP_PLATFORM = "manylinux2014_aarch64"
# Parts of dependencies the function never reads, left out of the asset: phonenumbers' geocoding and carrier data
# (about 40 of its 48 MB; calling safety uses its metadata and time zones only), and holidays' translations of holiday
# names (about 5 of its 14 MB, some 770 .mo files): the function asks only whether a day is a holiday, never its name,
# and holidays loads translations through gettext with fallback when no language is asked for, so their absence only
# leaves names untranslated (tests/infra/test_bundling.py compares the days with and without them).
UNUSED_DEPENDENCY_DIRS = ("phonenumbers/geodata", "phonenumbers/carrierdata", "holidays/locale")
# Never shipped: caches and test leftovers a developer may have next to the code.
EXCLUDED_PATTERNS = ("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache", "tests")


def runtime_python_version(runtime: lambda_.Runtime) -> str:
    """'3.14' for Runtime.PYTHON_3_14: the interpreter version pip must pick wheels for."""
    return runtime.name.removeprefix("python")


def pip_install_command(lock: Path, output_dir: Path, python_version: str) -> list[str]:
    """The pip command that installs the function's locked dependencies as Lambda arm64 wheels into output_dir."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--requirement",
        str(lock),
        # Every wheel must match a hash in the lock, and every package must be in it: nothing unpinned gets in.
        "--require-hashes",
        "--target",
        str(output_dir),
        "--platform",
        ARM64_PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--quiet",
    ]


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Bundles on the host with pip's cross-platform wheel selection, so no Docker is needed."""

    def __init__(self, code_root: Path, python_version: str) -> None:
        self._code_root = code_root
        self._python_version = python_version

    @jsii.member(jsii_name="tryBundle")
    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        """Install the requirements and copy the code into output_dir; always succeeds or raises."""
        if importlib.util.find_spec("pip") is None:
            raise RuntimeError(f"bundling needs pip in {sys.executable}: run '{sys.executable} -m ensurepip'")
        output = Path(output_dir)
        command = pip_install_command(self._code_root / LOCK_FILE, output, self._python_version)
        completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
        if completed.returncode != 0:
            raise RuntimeError(f"pip could not bundle the function's dependencies:\n{completed.stderr}")
        shutil.rmtree(output / "bin", ignore_errors=True)  # console scripts of dependencies: never used in Lambda
        for unused in UNUSED_DEPENDENCY_DIRS:
            shutil.rmtree(output / unused)  # not ignore_errors: a layout change must fail the bundle, not pass unseen
        shutil.copytree(
            self._code_root,
            output,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(REQUIREMENTS_FILE, LOCK_FILE, *EXCLUDED_PATTERNS),
        )
        return True


def function_code(runtime: lambda_.Runtime, code_root: Path = CODE_ROOT) -> lambda_.Code:
    """The function's code asset, bundled locally with pip (Docker is only the fallback CDK never reaches)."""
    python_version = runtime_python_version(runtime)
    return lambda_.Code.from_asset(
        str(code_root),
        # Keyed on the source (code, requirements and their lock) and the bundling options (which name the runtime), so
        # an unchanged source is not re-bundled on every synth and the hash does not depend on pip's output bytes.
        asset_hash_type=AssetHashType.SOURCE,
        exclude=list(EXCLUDED_PATTERNS),
        bundling=BundlingOptions(
            # Only named because BundlingOptions requires an image: the local bundler always succeeds or raises.
            image=runtime.bundling_image,
            # jsii passes the options as one struct, which the generated keyword-only protocol cannot express.
            local=cast(ILocalBundling, PipLocalBundling(code_root, python_version)),
        ),
    )
