#!/bin/sh
# Print the path of a Python >= 3.12: on PATH first, then under `pyenv root`.
# Exits 1 with a message naming what to install when there is none.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for candidate in python3.14 python3.13 python3.12 python3 python; do
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if ok "$path"; then echo "$path"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for path in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -t. -k2,2nr -k3,3nr); do
        if ok "$path/bin/python"; then echo "$path/bin/python"; exit 0; fi
    done
fi
echo "Rapport needs Python 3.12 or newer: install it (or set PYTHON=/path/to/python3.12) and run make again." >&2
exit 1
