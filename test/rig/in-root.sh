#!/bin/bash
# Run one command inside a build root made by chroot.sh, as that release's
# user would run it: its own programs and PATH, C locale, and a /proc of
# its own (objtool and dkms read it) in a mount namespace that goes with
# the command.
#
#   in-root.sh ROOT COMMAND [ARG...]
#
# Exits with the command's status. Needs root (chroot, unshare).
set -uo pipefail

root=${1:?usage: in-root.sh ROOT COMMAND [ARG...]}
shift
[ $# -gt 0 ] || { echo "usage: in-root.sh ROOT COMMAND [ARG...]" >&2; exit 2; }
[ -d "$root/usr" ] || { echo "in-root: no root at $root" >&2; exit 2; }
exec unshare --mount-proc="$root/proc" chroot "$root" env LC_ALL=C \
	PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
