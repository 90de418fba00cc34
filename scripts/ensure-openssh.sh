#!/bin/sh
# OpenSSH's client for the SSH door test (crates/bbs-server/tests/
# door_openssh.rs), which runs the system ssh and ssh-keygen against bbsd.
exec sh "$(dirname "$0")/ensure-packages.sh" ssh ssh-keygen -- openssh-client
