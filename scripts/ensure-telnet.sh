#!/bin/sh
# The system telnet client for the full-screen door's terminal test
# (crates/bbs-server/tests/screen_tmux.rs), which runs it inside tmux.
exec sh "$(dirname "$0")/ensure-packages.sh" telnet -- telnet
