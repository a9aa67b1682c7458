#!/usr/bin/env bash
# Write requirements.lock: the exact version of every package `pip install -e '.[test]'`
# installs, resolved in a fresh virtual environment so nothing else installed here leaks in.
#   bash tools/lock.sh              (from the repository root)
# Install exactly those versions with:
#   pip install -r requirements.lock -e '.[test]'
set -euo pipefail
cd "$(dirname "$0")/.."

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --upgrade pip
"$scratch/venv/bin/python" -m pip install --quiet -e '.[test]'
{
    echo "# Exact versions of every package of pip install -e '.[test]', made by: bash tools/lock.sh"
    echo "# (Python $("$scratch/venv/bin/python" -c 'import platform; print(platform.python_version(), platform.system(), platform.machine())'))."
    echo "# Install them with: pip install -r requirements.lock -e '.[test]'"
    "$scratch/venv/bin/python" -m pip freeze --exclude-editable
} > requirements.lock
echo "wrote requirements.lock ($(grep -vc '^#' requirements.lock) packages)"
