#!/usr/bin/env bash
# make synth: synthesizes the registry into a staging folder and replaces OUT only when synthesis
# succeeds, so a failed synthesis leaves the last good assembly (what make diff compares with) as
# it was. The CDK CLI's lines that are about the CLI, not about this app, are left out.
#
#   tools/synth.sh OUT REGISTRY
set -uo pipefail
out=${1:?usage: tools/synth.sh OUT REGISTRY} registry=${2:?usage: tools/synth.sh OUT REGISTRY}
staging="$out.synth"

# "N feature flags are not configured": setting them would change the deployed templates.
# "Successfully synthesized to" names the staging folder; "Supply a stack id" is for cdk synth STACK.
cdk_lines_not_ours='/feature flags are not configured/d; /^Successfully synthesized to /d; /^Supply a stack id /d;
  /^ *Acknowledge with .Annotation::warning-annotation.$/d'

rm -rf "$staging"
echo "synthesizing $registry (cdk-nag and the quota guard on) …"
npx --no-install cdk synth --quiet --output "$staging" --context "registry=$registry" 2>&1 |
  sed -u -e "$cdk_lines_not_ours"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  rm -rf "$staging"
  echo "synthesis failed; ${out} is as it was before" >&2
  exit "$status"
fi
rm -rf "$out.old"
if [ -e "$out" ]; then mv "$out" "$out.old"; fi
mv "$staging" "$out"
rm -rf "$out.old"
stacks=$(find "$out" -maxdepth 1 -name '*.template.json' | wc -l)
echo "synthesized $stacks stacks to $out"
