# A private apt state for Debian's bookworm, bookworm-security and
# bookworm-backports suites, sourced by the scripts that fetch Debian
# packages (kernels.sh, selftests.sh): it never touches the machine's own
# sources or preferences. Set before sourcing: aptdir (where the state
# lives) and mirror. Gives apt_opts (for apt-get and apt-cache) and
# apt_refresh.
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

# Write the sources and update the lists, at most once an hour: versions
# move daily at most.
apt_refresh() {
	mkdir -p "$aptdir/state" "$aptdir/lists/partial" \
		"$aptdir/cache/archives/partial"
	touch "$aptdir/state/status"
	cat >"$aptdir/sources.list" <<SOURCES
deb $mirror/debian bookworm main
deb $mirror/debian-security bookworm-security main
deb $mirror/debian bookworm-backports main
SOURCES
	local stamp=$aptdir/updated
	if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
		apt-get "${apt_opts[@]}" -qq update >&2 && touch "$stamp"
	fi
}
