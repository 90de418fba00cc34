#!/bin/sh
# systemd-analyze for crates/bbs-server/tests/service.rs, which checks
# contrib/bbsd.service with `systemd-analyze verify`.
exec sh "$(dirname "$0")/ensure-packages.sh" systemd-analyze -- systemd
