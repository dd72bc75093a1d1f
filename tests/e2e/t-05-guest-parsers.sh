#!/usr/bin/env bash
# The tiny guest's cloud-config and meta-data parsers (busybox awk), on the host.
exec "$(dirname "$0")/../guest/test-tiny-parsers.sh"
