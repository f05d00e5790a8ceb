#!/usr/bin/env bash
# Rebuilds the bundled samples from text with espeak-ng and sox (apt-get install espeak-ng sox).
# The texts are what the demo and the real-recognizer test expect to hear.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say() { espeak-ng -v en-us -s 140 -w "$tmp/$1" "$2"; }

say hello.wav "Hello, and thank you for calling. How can I help you today?"
sox "$tmp/hello.wav" -r 16000 -b 16 -c 1 "$out/hello.wav"

say r1.wav "Please send the report to the team before Friday."
say r2.wav "Numbers like one, two, and three are spoken clearly."
sox "$tmp/r1.wav" -r 16000 -b 16 -c 1 "$tmp/r1_16.wav"
sox "$tmp/r2.wav" -r 16000 -b 16 -c 1 "$tmp/r2_16.wav"
sox -n -r 16000 -b 16 -c 1 "$tmp/gap.wav" trim 0 0.8
sox "$tmp/r1_16.wav" "$tmp/gap.wav" "$tmp/r2_16.wav" "$out/report.wav"

# A two-party call: the agent on the left channel, the caller on the right.
say caller.wav "I would like to check the status of my order."
sox "$tmp/hello.wav" -r 16000 -b 16 -c 1 "$tmp/left.wav" pad 0 0.5
sox "$tmp/caller.wav" -r 16000 -b 16 -c 1 "$tmp/right.wav" pad 1.2 0
sox -M "$tmp/left.wav" "$tmp/right.wav" "$out/call-stereo.flac"
