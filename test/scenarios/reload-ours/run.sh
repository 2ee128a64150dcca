# Issue 13: load and unload ksm_vmshare N times (default 50) under a ksmd
# that scans without pauses, on multi-threaded TCG; reload-control does the
# same with empty kprobes. Run by test/rig/reload-experiment.sh.
. ../lib.sh
. ../reload-ours/reload.sh

RELOAD_NAME=reload-ours
RELOAD_KO=$MODULE
RELOAD_MOD=ksm_vmshare
reload_run
exit $FAILED
