# Shared by scripts/run, scripts/test, scripts/check and scripts/bench: create or update .venv,
# quietly and only when pyproject.toml or the lock changed since the last install. Dependencies
# come from the hashed lock (scripts/locks/, made by scripts/lock); the project itself is then
# installed on top, editable and without fetching anything.
# Usage: source scripts/_env.sh <extras>   (extras: "" for the bot alone, "dev" for tests and gates)
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
lock="scripts/locks/${extras:-base}.txt"
stamp=".venv/.installed-${extras:-base}"
want="$(cat pyproject.toml "$lock" | sha256sum | cut -d' ' -f1)"

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..." >&2
  "$(find_python)" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing dependencies into .venv (${lock}) ..." >&2
  rm -f "$stamp"  # an install cut short is done again next time
  pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
  # Two calls: a hash-checked install cannot include the editable project, which has no hash.
  "${pip[@]}" install --require-hashes -r "$lock" >&2
  "${pip[@]}" install --no-deps --no-build-isolation -e . >&2
  # A dependency added to pyproject.toml but not yet locked shows here, not as an ImportError.
  if ! broken="$(.venv/bin/python -m pip --disable-pip-version-check check)"; then
    echo "$broken" >&2
    echo "${lock} does not satisfy pyproject.toml: run scripts/lock." >&2
    exit 1
  fi
  echo "$want" >"$stamp"
fi
