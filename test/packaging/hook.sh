# Sourced by test/rig/run.sh: the packaging tests, counted like the rest
# (its count, fail_step and summary). Results in build/results/.

# run_counted LABEL RESULTS COMMAND...: run COMMAND with its PASS/FAIL lines
# into RESULTS and count them; a command that failed without saying FAIL
# is a failure too
run_counted() {
	local label=$1 results=$2 status t0
	shift 2
	mkdir -p "$(dirname "$results")"
	t0=$(date +%s)
	"$@" >"$results" 2>"${results%.txt}.log"
	status=$?
	count "$results"
	if [ "$status" != 0 ] && ! grep -q '^FAIL ' "$results"; then
		cat "${results%.txt}.log" >&2
		fail_step "${label#* }" "$* exited $status (${results%.txt}.log)" "${label%% *}"
	else
		summary+=("$(printf '%-28s %-12s %-22s %4ss' "${label%% *}" "${label#* }" \
			"$counted" $(($(date +%s) - t0)))")
	fi
}

# add_node_exporter INITRAMFS: append an archive with Debian's
# node_exporter and the libraries ldd names (the kernel unpacks
# concatenated archives one after the other)
add_node_exporter() {
	local out=$1 bin stage lib
	bin=$(test/packaging/prometheus-bin.sh)/prometheus-node-exporter || return 1
	stage=$(mktemp -d)
	mkdir -p "$stage/usr/bin"
	cp -L "$bin" "$stage/usr/bin/prometheus-node-exporter"
	for lib in $(ldd "$bin" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >>"$out"
	local status=$?
	rm -rf "$stage"
	return $status
}

# dkms_in_root KERNEL_DIR WORK: dkms.sh run inside the kernel's own
# release's root (chroot.sh: its dkms, compiler and headers), on a copy of
# this tree; what it leaves comes back to WORK as dkms.sh leaves it here.
dkms_in_root() {
	local kernel=$1 work=$2 release root scratch status
	release=$(cat "$kernel/release")
	root=$(test/rig/chroot.sh "$(cat "$kernel/chroot")" "$release") || return 1
	scratch=$(mktemp -d "$root/tmp/ksmvs-dkms.XXXXXX") || return 1
	mkdir -p "$scratch/src" "$scratch/kernel"
	tar -cf - --exclude=./build --exclude=./.git . | tar -xf - -C "$scratch/src"
	echo "$release" >"$scratch/kernel/release"
	ln -s "/usr/src/linux-headers-$release" "$scratch/kernel/kdir"
	test/rig/in-root.sh "$root" bash "/tmp/${scratch##*/}/src/test/packaging/dkms.sh" \
		"/tmp/${scratch##*/}/kernel" "/tmp/${scratch##*/}/work"
	status=$?
	rm -rf "$work"
	mkdir -p "$work"
	cp -r "$scratch/work/install" "$scratch/work/log" "$work/" 2>/dev/null
	rm -rf "$scratch"
	return $status
}

# packaging_kernel KERNEL_DIR WORK: Debian's dkms builds and installs the
# module for this kernel (on trixie and sid, that release's dkms in its own
# root); the guest then loads that module (scenario dkms-load), checks it
# against the oracle, and serves it through ksm-victim --prometheus and
# the real node_exporter.
packaging_kernel() {
	local kernel=$1 work=$2 release out ko initramfs want got t0 dkms=test/packaging/dkms.sh
	release=$(cat "$kernel/release")
	[ -f "$kernel/chroot" ] && dkms=dkms_in_root
	echo "== $release: dkms" >&2
	run_counted "$release dkms" "build/results/$release/dkms/results.txt" \
		"$dkms" "$kernel" "$work/dkms"
	ko=$work/dkms/install/$release/updates/dkms/ksm_vmshare.ko
	[ -f "$ko" ] || return 0
	initramfs=$work/initramfs-dkms.cpio.gz
	if ! test/rig/initramfs.sh "$initramfs" build "$ko" ||
		! add_node_exporter "$initramfs"; then
		fail_step initramfs "initramfs with the DKMS module and node_exporter failed" "$release"
		return 0
	fi
	out=build/results/$release/dkms-load
	t0=$(date +%s)
	echo "== $release: dkms-load" >&2
	test/rig/boot.sh "$kernel/vmlinuz" "$initramfs" dkms-load "$out"
	# the guest loaded the file dkms installed, byte for byte
	want=$(sha256sum "$ko" | awk '{ print $1 }')
	# (the guest writes its serial port with CRLF line ends)
	got=$(sed -n 's/^DATA dkms-load\/ko-sha256 //p' "$out/results.txt" | tr -d '\r')
	if [ "$want" = "$got" ]; then
		echo "PASS dkms-load/ko-is-dkms-build" >>"$out/results.txt"
	else
		echo "FAIL dkms-load/ko-is-dkms-build: guest loaded sha256 '$got', dkms installed $want" \
			>>"$out/results.txt"
	fi
	# a user's build has none of the rig's planted bugs (module/planted.c)
	if modinfo -F parm "$ko" | grep -q '^planted_bugs:'; then
		echo "FAIL dkms-load/no-planted-bugs: the DKMS build has the planted_bugs parameter" \
			>>"$out/results.txt"
	else
		echo "PASS dkms-load/no-planted-bugs" >>"$out/results.txt"
	fi
	count "$out/results.txt"
	summary+=("$(printf '%-28s %-12s %-22s %4ss' "$release" dkms-load "$counted" \
		$(($(date +%s) - t0)))")
}

# packaging_host: make install, the Prometheus rules (promtool, then a
# real server over three node_exporters), then the Debian packages in a
# Debian root.
packaging_host() {
	echo "== host: make install" >&2
	run_counted "host install" build/results/host/install/results.txt \
		test/packaging/install.sh build/packaging/install
	echo "== host: prometheus rules" >&2
	run_counted "host prometheus" build/results/host/prometheus/results.txt \
		test/packaging/prom.sh build/packaging/prometheus
	echo "== host: the rules on a Prometheus server" >&2
	run_counted "host cluster" build/results/host/cluster/results.txt \
		test/packaging/cluster.sh build/packaging/cluster
	echo "== host: Debian packages" >&2
	run_counted "host deb" build/results/host/deb/results.txt \
		test/packaging/deb.sh build/packaging/deb
}
