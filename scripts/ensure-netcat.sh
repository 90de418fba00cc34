#!/bin/sh
# OpenBSD netcat, the `nc` that `bbs-bench files` copies a file with over
# loopback TCP as the baseline of the transfer figures.
exec sh "$(dirname "$0")/ensure-packages.sh" nc -- netcat-openbsd
