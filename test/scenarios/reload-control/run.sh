# Issue 13's control: the reload-ours loop with the rig's control module
# (test/control: empty kprobes on ksm_vmshare's probe points, nothing else).
# Run by test/rig/reload-experiment.sh.
. ../lib.sh
. ../reload-ours/reload.sh

RELOAD_NAME=reload-control
RELOAD_KO=/ksmvs/ksmvs_control.ko
RELOAD_MOD=ksmvs_control
reload_run
exit $FAILED
