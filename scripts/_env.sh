# Shared by scripts/run, scripts/test and scripts/bench: create or update .venv, quietly and
# only when pyproject.toml changed since the last install.
# Usage: source scripts/_env.sh <extras>   (extras: "" for the bot alone, "dev" for tests)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Mend needs Python 3.11 or newer; none was found on PATH." >&2
  return 1
}

extras="${1:-}"
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.installed-${extras:-base}"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..." >&2
  "$(find_python)" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing dependencies into .venv (${spec}) ..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
  echo "$want" >"$stamp"
fi
