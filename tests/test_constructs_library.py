"""Our constructs folder must not shadow the `constructs` library (aws/aws-cdk#19301)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from checkout import REPO_ROOT


def test_constructs_resolves_to_the_library_from_the_repo_root():
    code = "import constructs, animl_constructs; from constructs import Construct; print(constructs.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    library = Path(result.stdout.strip())
    assert "site-packages" in library.parts
    assert REPO_ROOT / "constructs" not in library.parents


def test_there_is_no_top_level_constructs_folder():
    assert not (REPO_ROOT / "constructs").exists()
