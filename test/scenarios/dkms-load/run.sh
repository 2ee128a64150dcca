# The module as Debian's dkms built and installed it (test/packaging/dkms.sh),
# not the rig's own build: it loads on the stock kernel, tracks the baseline's
# three VMs and matches the oracle page for page.
. ../lib.sh

# which file was loaded: the host compares it with what dkms installed
sha256sum "$MODULE" | awk '{ print $1 }' >"$RUN/ko.sha256"
data dkms-load/ko-sha256 "$RUN/ko.sha256"

ksm_setup
module_load || exit 1
check_eq dkms-load/loaded ksm_vmshare "$(awk '$1 == "ksm_vmshare" { print $1 }' /proc/modules)"
start_vms ../baseline/recipe || exit 1
wait_quiesce || exit 1
wait_tracking
check_eq dkms-load/state tracking "$(module_key state)"
compare_module dkms-load/module
stop_vms
module_unload
exit $FAILED
