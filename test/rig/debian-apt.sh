# A private apt state for one Debian release's suites, sourced by the
# scripts that fetch Debian packages (kernels.sh, selftests.sh): it never
# touches the machine's own sources or preferences. Set before sourcing:
# aptdir (where the state lives), mirror, and optionally apt_release:
# bookworm (the default: bookworm, bookworm-security, bookworm-backports),
# trixie (trixie, trixie-security, trixie-updates) or sid. Each release
# needs an aptdir of its own: versions of one package from two releases
# must never be compared. Gives apt_opts (for apt-get and apt-cache),
# apt_sources and apt_refresh.
# shellcheck shell=bash

apt_opts=(
	-o Dir::Etc::SourceList="$aptdir/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o Dir::Etc::Preferences=/dev/null
	-o Dir::Etc::PreferencesParts=/dev/null
	-o Dir::State="$aptdir/state"
	-o Dir::State::Lists="$aptdir/lists"
	-o Dir::State::status="$aptdir/state/status"
	-o Dir::Cache="$aptdir/cache"
	-o APT::Get::List-Cleanup=0
	-o APT::Sandbox::User=root
)

# apt_sources: the sources.list lines of apt_release
apt_sources() {
	local extra
	case ${apt_release:-bookworm} in
	bookworm) extra=bookworm-backports ;;
	trixie) extra=trixie-updates ;;
	sid)
		echo "deb $mirror/debian sid main"
		return 0
		;;
	*)
		echo "debian-apt: unknown release '$apt_release'" >&2
		return 1
		;;
	esac
	printf 'deb %s main\n' "$mirror/debian ${apt_release:-bookworm}" \
		"$mirror/debian-security ${apt_release:-bookworm}-security" \
		"$mirror/debian $extra"
}

# Write the sources and update the lists, at most once an hour: versions
# move daily at most.
apt_refresh() {
	mkdir -p "$aptdir/state" "$aptdir/lists/partial" \
		"$aptdir/cache/archives/partial"
	touch "$aptdir/state/status"
	apt_sources >"$aptdir/sources.list" || return 1
	local stamp=$aptdir/updated
	if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
		apt-get "${apt_opts[@]}" -qq update >&2 && touch "$stamp"
	fi
}
