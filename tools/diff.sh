#!/usr/bin/env bash
# make diff: synthesizes the registry again and compares every stack, alarm and monitoring
# stacks included, with the last make synth (OUT), with no AWS account. A stack whose template is
# unchanged is reported as such without starting the CDK CLI; the others get `cdk diff`.
#
#   tools/diff.sh OUT REGISTRY
set -uo pipefail
out=${1:?usage: tools/diff.sh OUT REGISTRY} registry=${2:?usage: tools/diff.sh OUT REGISTRY}
new="$out.new"
here=$(dirname "$0")

if ! compgen -G "$out/*.template.json" >/dev/null; then
  echo "no templates in $out: run make synth before the change first" >&2
  exit 2
fi
# Quiet when it succeeds (make synth printed the same warnings); everything when it fails.
if ! synthesis=$("$here/synth.sh" "$new" "$registry" 2>&1); then
  echo "$synthesis" >&2
  exit 1
fi

stacks() { find "$1" -maxdepth 1 -name '*.template.json' -printf '%f\n' | sed 's/\.template\.json$//'; }
changed=() same=() added=() removed=()
for stack in $(sort -u <(stacks "$out") <(stacks "$new")); do
  before="$out/$stack.template.json" after="$new/$stack.template.json"
  if [ ! -f "$before" ]; then
    added+=("$stack")
    echo "$stack: a new stack (cdk deploy creates it)"
  elif [ ! -f "$after" ]; then
    removed+=("$stack")
    echo "$stack: no longer in the app (cdk deploy leaves it; cdk destroy $stack deletes it)"
  elif cmp -s "$before" "$after"; then
    same+=("$stack")
  else
    changed+=("$stack")
    # --exclusively: an alarm stack depends on its monitoring stack, and a fixed template
    # compares exactly one stack.
    npx --no-install cdk diff --app "$new" --exclusively --template "$before" "$stack" 2>&1 |
      sed -u -e '/Number of stacks with differences/d' | cat -s
    [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  fi
done
total=$((${#changed[@]} + ${#same[@]} + ${#added[@]} + ${#removed[@]}))
echo "compared $total stacks with $out: ${#changed[@]} changed (${changed[*]:-none}), ${#added[@]} new, ${#removed[@]} removed, ${#same[@]} unchanged"
