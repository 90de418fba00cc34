#!/bin/sh
# tmux for the terminal tests (crates/bbs-client/tests/terminal_tmux.rs),
# which run the real client inside it and read its screen.
exec sh "$(dirname "$0")/ensure-packages.sh" tmux -- tmux
