#!/bin/sh
# Chromium for the browser test of the web door (crates/bbs-server/tests/
# door_browser.rs), which drives it headless over the DevTools protocol.
exec sh "$(dirname "$0")/ensure-packages.sh" chromium -- chromium fonts-dejavu-core
