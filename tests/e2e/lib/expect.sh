# Sourced by the e2e scripts that check many command lines in a row (cli_errors, hostile_input):
# a scratch folder to work in, and `expect`, which counts a failure instead of stopping, so that
# one run lists every broken check; the script reports `$failures` at its end.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0

# expect CODE PATTERN -- COMMAND...: the command exits with CODE and its output matches PATTERN.
expect() {
  local code=$1 pattern=$2; shift 3
  local output status
  output=$("$@" 2>&1); status=$?
  if [[ $status -ne $code ]] || ! grep -qaE -- "$pattern" <<<"$output"; then
    echo "FAIL: $* → exit $status (wanted $code), output lacks /$pattern/:"
    echo "$output" | head -c 2000 | sed 's/^/    /'
    failures=$((failures + 1))
  fi
}
