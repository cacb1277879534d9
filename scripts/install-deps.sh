#!/bin/sh
# Install what siglatch needs to build and test on Debian 12 (run as root).
# The package list is scripts/packages.txt, shared with .ci/run.
set -e
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2046
apt-get install -y -qq --no-install-recommends $(cat packages.txt) >/dev/null
echo "install-deps: done"
