#!/usr/bin/env bash
# `make test-wheel`: the Python package as pip users get it, from the files of this tree.
#
#   1. `python -m build` makes the sdist, then the wheel from the sdist (the version read
#      from the sdist's PKG-INFO: DESCRIPTION is not in it);
#   2. `twine check --strict` passes both;
#   3. the wheel holds every module of python/lrschedule and py.typed, nothing else,
#      with pyproject.toml's Requires-Python and Requires-Dist and DESCRIPTION's version;
#      the sdist holds the sources, py.typed and PKG-INFO;
#   4. a fresh virtualenv (`python3 -m venv`, no --system-site-packages) gets the wheel
#      and TensorFlow, nothing else, at the floors' versions (the pins of
#      requirements-dev.txt as constraints: the metadata must admit them), `pip check`;
#   5. there, outside the source tree, lrschedule reports the version and has py.typed,
#      and README.md's Python example (the code block after the marker comment
#      "tools/check-wheel.sh runs the next code block") runs and prints what README
#      says it prints (a `# ...` line after a print()).
#
# Usage: bash tools/check-wheel.sh [python with build and twine, default .venv/bin/python]
# Needs the package index (pip installs setuptools for the isolated build, and Keras and
# TensorFlow into the fresh virtualenv; pip's cache makes a second run fast).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/lrschedule-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset PYTHONPATH VIRTUAL_ENV PIP_REQUIRE_VIRTUALENV
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 PIP_DISABLE_PIP_VERSION_CHECK=1
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
started=$(date +%s)
version=$(sed -n 's/^Version:[[:space:]]*//p' DESCRIPTION)

step "the sources, as a clone has them (lrschedule $version)"
mkdir "$work/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -cf - -T - 2>/dev/null \
    | tar -xf - -C "$work/src"
else
  tar --exclude=./.venv --exclude=./.venv-np2 --exclude=./.rlib --exclude=./.r-current \
    --exclude=./.stamps -cf - . | tar -xf - -C "$work/src"
fi

step "python -m build: the sdist, then the wheel from it"
"$python" -m build --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
sdist="$work/dist/lrschedule-$version.tar.gz"
wheel="$work/dist/lrschedule-$version-py3-none-any.whl"
ls -l "$sdist" "$wheel"

step "twine check"
"$python" -m twine --no-color check --strict "$sdist" "$wheel"

step "what the wheel and the sdist hold"
"$python" - "$work/src" "$wheel" "$sdist" "$version" <<'PY'
import email, pathlib, re, sys, tarfile, tomllib, zipfile

from packaging.requirements import Requirement

src, wheel, sdist, version = sys.argv[1:]
src = pathlib.Path(src)
modules = sorted(str(p.relative_to(src / "python")) for p in (src / "python").rglob("*.py"))
package = modules + ["lrschedule/py.typed"]

names = zipfile.ZipFile(wheel).namelist()
info = f"lrschedule-{version}.dist-info/"
missing = sorted(set(package) - set(names))
stray = sorted(n for n in names if n not in package and not n.startswith(info))
assert not missing, f"the wheel lacks {missing}"
assert not stray, f"the wheel holds files outside the package: {stray}"
meta = email.message_from_bytes(zipfile.ZipFile(wheel).read(info + "METADATA"))
project = tomllib.loads((src / "pyproject.toml").read_text())["project"]
norm = lambda s: re.sub(r"\s+", "", s)
assert meta["Version"] == version, (meta["Version"], version)
assert norm(meta["Requires-Python"]) == norm(project["requires-python"]), meta["Requires-Python"]
required = [Requirement(r) for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
declared = [Requirement(r) for r in project["dependencies"]]
assert sorted(map(str, required)) == sorted(map(str, declared)), (required, declared)
print(f"wheel: {len(names)} files, {len(modules)} modules and py.typed; "
      f"Requires-Python {meta['Requires-Python']}; Requires-Dist {', '.join(map(str, required))}")

top = f"lrschedule-{version}/"
held = {n[len(top):] for n in tarfile.open(sdist).getnames() if n.startswith(top)}
wanted = {"PKG-INFO", "setup.py", "pyproject.toml", "README.md"} | {"python/" + m for m in package}
assert not wanted - held, f"the sdist lacks {sorted(wanted - held)}"
print(f"sdist: {len(held)} entries, the sources, py.typed and PKG-INFO")
PY

step "a fresh virtualenv: the wheel and TensorFlow at the floors' versions"
grep -E '^(numpy|keras|tensorflow-cpu)==' requirements-dev.txt >"$work/floors.txt"
tensorflow=$(grep -E '^tensorflow-cpu==' "$work/floors.txt")
python3 -m venv "$work/venv"
venv_python="$work/venv/bin/python"
"$venv_python" -m pip install -q -c "$work/floors.txt" "$wheel" "$tensorflow" >"$work/pip.log" 2>&1 \
  || { cat "$work/pip.log"; exit 1; }
"$venv_python" -m pip check
"$venv_python" -m pip list 2>/dev/null | grep -E '^(lrschedule|keras|numpy|tensorflow[-_]cpu) '

step "there: the version, py.typed, and README's Python example"
"$python" - README.md "$work/readme.py" "$work/readme.expected" <<'PY'
import re, sys
readme, script, expected = sys.argv[1:]
text = open(readme).read()
marker = "<!-- tools/check-wheel.sh runs the next code block"
assert marker in text, f"README.md has no marker comment: {marker} ... -->"
block = re.search(r"```python\n(.*?)```", text[text.index(marker):], re.S)
assert block, "no ```python block after the marker in README.md"
lines = block.group(1).splitlines()
# the outputs README shows: the comment lines right after a print()
shown = [lines[i + 1][1:].strip() for i in range(len(lines) - 1)
         if lines[i].startswith("print(") and lines[i + 1].startswith("#")]
open(script, "w").write(block.group(1))
open(expected, "w").write("\n".join(shown) + "\n")
PY
cd "$work"   # nothing of the source tree importable from here
"$venv_python" -I -c '
import pathlib, sys, lrschedule
assert lrschedule.__version__ == sys.argv[1], (lrschedule.__version__, sys.argv[1])
where = pathlib.Path(lrschedule.__file__).parent
assert "site-packages" in where.parts and (where / "py.typed").exists(), where
print("lrschedule", lrschedule.__version__, "from", where, "with py.typed")' "$version" \
  2>"$work/import.err" || { cat "$work/import.err"; exit 1; }
"$venv_python" -I "$work/readme.py" >"$work/readme.out" 2>"$work/readme.err" \
  || { cat "$work/readme.out" "$work/readme.err"; exit 1; }
got=$(tr -s ' \n' ' ' <"$work/readme.out"); want=$(tr -s ' \n' ' ' <"$work/readme.expected")
echo "README's example printed: $(cat "$work/readme.out")"
if [ "$got" != "$want" ]; then
  echo "README.md says it prints: $(cat "$work/readme.expected")"; exit 1
fi

step "done in $(( $(date +%s) - started )) s"
