# Sourced by the bench scripts: the benchmark virtualenv with the given requirement files installed,
# a release build, and LEADSCORE pointing at its binary. Usage: source bench/env.sh REQUIREMENTS...
venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
fi
for requirements in "$@"; do
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
done
cargo build --release --locked --quiet
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export LEADSCORE="$target/release/leadscore"
