"""The README's commands work on a fresh checkout: every script it names exists
and is executable, and every script that runs the Python environment (.venv)
prepares it itself (scripts/setup-python.sh) before its first use, instead of
relying on another command having run first. Cheap: reads files only."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def commands(path: Path) -> list:
    """The lines of a shell script that are not comments."""
    return [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]


def test_every_script_the_readme_names_exists_and_is_executable():
    named = sorted(set(re.findall(r"scripts/[\w.-]+\.sh", (ROOT / "README.md").read_text())))
    assert "scripts/run-local.sh" in named and "scripts/test.sh" in named
    for script in named:
        path = ROOT / script
        assert path.is_file(), f"the README names {script}, which does not exist"
        assert os.access(path, os.X_OK), f"{script} is not executable"


def test_scripts_that_use_the_python_environment_prepare_it_first():
    users = []
    for path in sorted((ROOT / "scripts").glob("*.sh")):
        if path.name == "setup-python.sh":
            continue
        lines = commands(path)
        uses = [i for i, line in enumerate(lines) if ".venv/" in line]
        if not uses:
            continue
        users.append(path.name)
        setups = [i for i, line in enumerate(lines) if "scripts/setup-python.sh" in line]
        assert setups and setups[0] < uses[0], \
            f"scripts/{path.name} uses .venv before running scripts/setup-python.sh"
    assert "compose-test.sh" in users and "test.sh" in users
