#!/bin/sh
# Install what siglatch needs to build and test on Debian 12 (run as root).
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	gcc make pkg-config libc6-dev \
	libssl-dev libinih-dev libcmocka-dev \
	iproute2 procps coreutils ca-certificates >/dev/null
echo "install-deps: done"
