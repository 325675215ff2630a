# Sourced by ./run and ./test: make .venv and install yibao with its dev tools,
# again only when pyproject.toml or the interpreter changed (a stamp holds both).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.yibao-installed"

# The interpreter: YIBAO_PYTHON when set; else the distribution's python3 when it is 3.11
# or newer, because Debian builds it with profile-guided and link-time optimisation and
# links the interpreter into the executable, while pyenv's default build (often first in
# PATH) has neither: the same settlement costs about a fifth more CPU there
# (docs/operations.md, "The interpreter"); else whatever python3 is first in PATH.
pick_python() {
    if [ -n "${YIBAO_PYTHON:-}" ]; then
        echo "$YIBAO_PYTHON"
    elif [ -x /usr/bin/python3 ] \
        && /usr/bin/python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo /usr/bin/python3
    else
        command -v python3
    fi
}
python="$(pick_python)"
# What the venv was made from: its real executable, as pyvenv.cfg records it.
base="$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1) $base"

if [ -x "$venv/bin/python" ] && ! grep -qxF "executable = $base" "$venv/pyvenv.cfg" 2>/dev/null; then
    echo "remaking $venv from $base" >&2
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "setting up $venv from $base" >&2
    "$python" -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet -e "$root[dev]" >&2
    echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
