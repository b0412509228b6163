#!/bin/sh
# install.sh — install or remove ocir-credential-provider on a Kubernetes node.
#
#   install.sh install     put the binary and its CredentialProviderConfig in
#                          place, add the two kubelet flags, and restart the
#                          kubelet if (and only if) something it reads changed;
#                          if the restarted kubelet does not stay up with the
#                          flags, put everything back as it was, restart it
#                          again and fail
#   install.sh uninstall   undo exactly that; refuses (changing nothing) while
#                          anything else still hands the kubelet the config or
#                          the bin dir, since the kubelet exits without them
#
# k3s and RKE2 nodes (no systemd kubelet unit; a k3s, k3s-agent, rke2-server
# or rke2-agent unit instead) are detected: there the binary and config go
# to /var/lib/rancher/credentialprovider/bin and .../config.yaml, which
# k3s and RKE2 (1.26+) hand to their kubelet by themselves, and the unit is
# restarted only when the config changed. No flags are edited.
#
# Run as root on the node, or by the DaemonSet installer (which runs it in the
# host's mount namespace). Running it twice changes nothing the second time and
# does not restart the kubelet. An install that had to be rolled back is not
# retried with the same payload and kubelet (each try restarts the kubelet)
# until RETRY_FAILED=1 or the payload changes.
#
# Environment, with defaults:
#   PAYLOAD_DIR    holds ocir-credential-provider and
#                  credential-provider-config.yaml      [this script's directory]
#   BIN_DIR        --image-credential-provider-bin-dir [/usr/local/lib/ocir-credential-provider]
#   CONFIG_FILE    --image-credential-provider-config  [/etc/kubernetes/ocir-credential-provider.yaml]
#   FLAGS_FILE     environment file whose KUBELET_EXTRA_ARGS the kubelet unit
#                  expands                              [found with `systemctl cat kubelet`]
#   FLAGS_VAR      the variable                         [KUBELET_EXTRA_ARGS]
#   KUBELET_UNIT   [kubelet; on k3s/RKE2 the k3s(-agent) or rke2-(server|agent) unit]
#   KUBELET_BIN    the kubelet binary, asked for its --version [the unit's ExecStart]
#   KUBELET_VERSION  the kubelet's version (1.33, v1.33.4) instead of asking it
#   VERIFY_TIMEOUT seconds to wait for the restarted kubelet  [90]
#   VERIFY_STABLE  seconds it must then stay up with the same PID, unless its
#                  healthz answers ok first                   [10]
#   HEALTHZ_URL    the kubelet's healthz; empty: don't ask
#                                       [http://127.0.0.1:10248/healthz]
#   RETRY_FAILED   1: try again a payload whose install was rolled back
# For tests: HOST_ROOT prefixes every host path [empty], SYSTEMCTL replaces
# systemctl, PROC replaces /proc.
set -eu

prog=ocir-credential-provider-installer
mode=${1:-}

root=${HOST_ROOT:-}
root=${root%/}
PAYLOAD_DIR=${PAYLOAD_DIR:-$(cd "$(dirname "$0")" && pwd)}
user_bin_dir=${BIN_DIR:-}
user_config_file=${CONFIG_FILE:-}
user_unit=${KUBELET_UNIT:-}
BIN_DIR=${BIN_DIR:-/usr/local/lib/ocir-credential-provider}
BIN_DIR=${BIN_DIR%/}
CONFIG_FILE=${CONFIG_FILE:-/etc/kubernetes/ocir-credential-provider.yaml}
FLAGS_FILE=${FLAGS_FILE:-}
FLAGS_VAR=${FLAGS_VAR:-KUBELET_EXTRA_ARGS}
KUBELET_UNIT=${KUBELET_UNIT:-kubelet}
KUBELET_BIN=${KUBELET_BIN:-}
KUBELET_VERSION=${KUBELET_VERSION:-}
VERIFY_TIMEOUT=${VERIFY_TIMEOUT:-90}
VERIFY_STABLE=${VERIFY_STABLE:-10}
HEALTHZ_URL=${HEALTHZ_URL-http://127.0.0.1:10248/healthz}
RETRY_FAILED=${RETRY_FAILED:-}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
PROC=${PROC:-/proc}

name=ocir-credential-provider
top_dir=$root/var/lib/ocir-credential-provider
state_dir=$top_dir/state
# failed_memo records an install that was rolled back, so that a retry of
# the same payload (the DaemonSet restarts its init container) does not
# restart the kubelet again.
failed_memo=$top_dir/failed-install
flag_config="--image-credential-provider-config=$CONFIG_FILE"
flag_bin="--image-credential-provider-bin-dir=$BIN_DIR"
# Where k3s and RKE2 look for a credential provider (since their 1.26 lines).
rancher_bin_dir=/var/lib/rancher/credentialprovider/bin
rancher_config=/var/lib/rancher/credentialprovider/config.yaml
# rancher is the distribution (k3s or rke2) when the node runs one.
rancher=''

log() { printf '%s: %s\n' "$prog" "$*"; }
die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}

case $mode in
install | uninstall) ;;
*) die "usage: $0 install|uninstall" ;;
esac
case $FLAGS_VAR in
'' | *[!A-Za-z0-9_]*) die "FLAGS_VAR '$FLAGS_VAR' is not a variable name" ;;
esac
# check_path NAME VALUE refuses a host path that is not plainly absolute
# or that a flags line or a shell word would split: these land in the
# kubelet's flags and name files this script replaces.
check_path() {
	case $2 in
	/*) ;;
	*) die "$1 '$2' is not an absolute path" ;;
	esac
	case $2 in
	/ | */ | *//* | */./* | */. | */../* | */..) die "$1 '$2' must name a file or directory plainly (no trailing /, no empty, '.' or '..' component)" ;;
	*[![:alnum:]._+@%=:,/-]*) die "$1 '$2' has a character other than letters, digits and ._+@%=:,/-" ;;
	esac
}
check_path BIN_DIR "${BIN_DIR:-/}"
check_path CONFIG_FILE "$CONFIG_FILE"
[ -z "$FLAGS_FILE" ] || check_path FLAGS_FILE "$FLAGS_FILE"
for v in "VERIFY_TIMEOUT=$VERIFY_TIMEOUT" "VERIFY_STABLE=$VERIFY_STABLE"; do
	case ${v#*=} in
	'' | *[!0-9]*) die "${v%%=*} '${v#*=}' is not a number of seconds" ;;
	esac
done

# --- the kubelet's flags -----------------------------------------------------

# unit_text prints the kubelet unit with its drop-ins, comments removed.
unit_text() {
	$SYSTEMCTL cat "$KUBELET_UNIT" 2>/dev/null | grep -v '^[[:space:]]*[#;]' || true
}

# env_files prints every environment file the kubelet unit reads (host
# paths, globs expanded, existing ones only) and FLAGS_FILE, once each.
env_files() {
	{
		unit_text | sed -n 's/^[[:space:]]*EnvironmentFile=//p' | tr -s ' \t' '\n' | sed 's/^-//'
		[ -z "$FLAGS_FILE" ] || printf '%s\n' "$FLAGS_FILE"
	} | while IFS= read -r pattern; do
		[ -n "$pattern" ] || continue
		for f in "$root"$pattern; do
			[ -f "$f" ] && printf '%s\n' "${f#"$root"}"
		done
	done | awk '!seen[$0]++'
}

# provider_flags WHERE prints "WHERE<tab>config|bin<tab>VALUE" for every
# --image-credential-provider-config and -bin-dir flag in its input: unit
# text, an environment file or a command line. Comment lines are skipped;
# quotes are separators; "--flag value" counts as "--flag=value".
provider_flags() {
	awk -v where="$1" '
		BEGIN { OFS = "\t" }
		/^[ \t]*[#;]/ { next }
		{
			gsub(/["\047]/, " ")
			for (i = 1; i <= NF; i++) {
				w = $i
				p = index(w, "--image-credential-provider-")
				if (p == 0) continue
				w = substr(w, p + 28)
				eq = index(w, "=")
				if (eq) { flag = substr(w, 1, eq - 1); value = substr(w, eq + 1) }
				else { flag = w; value = $(i + 1); i++ }
				if (value != "/") sub(/\/+$/, "", value)
				if (value == "") continue
				if (flag == "config") print where, "config", value
				else if (flag == "bin-dir") print where, "bin", value
			}
		}'
}

# static_flag_sources prints (see provider_flags) the credential provider
# flags the kubelet would get at its next start: from its unit (ExecStart,
# Environment=) and from every environment file.
static_flag_sources() {
	unit_text | provider_flags "the $KUBELET_UNIT unit (systemctl cat $KUBELET_UNIT)"
	env_files | while IFS= read -r f; do
		provider_flags "$f" <"$root$f"
	done
}

# running_flag_sources prints the flags the running kubelet has.
running_flag_sources() {
	kubelet_cmdlines | provider_flags "the running kubelet's command line"
}

# ours_in SOURCES prints the places in SOURCES that name our config or bin
# dir; others_in SOURCES the first flag naming another one.
ours_in() {
	printf '%s\n' "$1" | awk -F '\t' -v cfg="$CONFIG_FILE" -v bin="$BIN_DIR" \
		'($2 == "config" && $3 == cfg) || ($2 == "bin" && $3 == bin) { if (!seen[$1]++) print $1 }'
}
others_in() {
	printf '%s\n' "$1" | awk -F '\t' -v cfg="$CONFIG_FILE" -v bin="$BIN_DIR" '
		$2 == "config" && $3 != cfg { print $1 ": --image-credential-provider-config=" $3; exit }
		$2 == "bin" && $3 != bin { print $1 ": --image-credential-provider-bin-dir=" $3; exit }'
}

# find_flags_file sets FLAGS_FILE (a host path) to the environment file that
# defines the variable the kubelet's ExecStart expands.
find_flags_file() {
	[ -n "$FLAGS_FILE" ] && return 0
	unit=$(unit_text)
	[ -n "$unit" ] || die "cannot read the $KUBELET_UNIT unit with '$SYSTEMCTL cat $KUBELET_UNIT'; set FLAGS_FILE"
	if ! printf '%s\n' "$unit" | grep -v '^[[:space:]]*Environment' | grep -q "\\\$$FLAGS_VAR\\b\\|\\\${$FLAGS_VAR}"; then
		die "the $KUBELET_UNIT unit does not expand \$$FLAGS_VAR; add the flags yourself (see docs/kubernetes.md) or set FLAGS_FILE and FLAGS_VAR"
	fi
	files=$(printf '%s\n' "$unit" | sed -n 's/^[[:space:]]*EnvironmentFile=-\{0,1\}[[:space:]]*//p')
	defining='' conventional='' last=''
	for f in $files; do
		if [ -f "$root$f" ] && grep -q "^[[:space:]]*$FLAGS_VAR=" "$root$f"; then
			defining=$f # the last one wins in systemd, as here
		fi
		case $f in
		/etc/default/kubelet | /etc/sysconfig/kubelet) conventional=$f ;;
		*kubeadm-flags.env) ;;
		*) last=$f ;;
		esac
	done
	FLAGS_FILE=${defining:-${conventional:-$last}}
	[ -n "$FLAGS_FILE" ] || die "the $KUBELET_UNIT unit reads no EnvironmentFile to put \$$FLAGS_VAR in; set FLAGS_FILE"
	# An Environment= line setting the variable would be silently replaced
	# by a new definition in the file (EnvironmentFile wins): refuse.
	if [ -z "$defining" ] && printf '%s\n' "$unit" | grep -q "^[[:space:]]*Environment=.*$FLAGS_VAR="; then
		die "the $KUBELET_UNIT unit sets $FLAGS_VAR with Environment=; defining it in $FLAGS_FILE would drop those flags. Add ours there yourself, or set FLAGS_FILE"
	fi
}

# flags_line prints the last "VAR=..." line of the flags file, if any: the
# one systemd uses when the variable is defined more than once.
flags_line() {
	[ -f "$root$FLAGS_FILE" ] || return 0
	grep "^[[:space:]]*$FLAGS_VAR=" "$root$FLAGS_FILE" | tail -n 1 || true
}

# split_value sets quote and value from a "VAR=value" line, value unquoted.
split_value() {
	value=${1#*=}
	quote=''
	case $value in
	\"*\") quote='"' value=${value#\"} value=${value%\"} ;;
	\'*\') quote="'" value=${value#\'} value=${value%\'} ;;
	esac
}

# has_flag VALUE FLAG: is FLAG one of the space-separated words of VALUE?
has_flag() {
	case " $1 " in
	*" $2 "*) return 0 ;;
	esac
	return 1
}

# replace_line writes the flags file with its last VAR= line (the one
# systemd uses) replaced by $1 (deleted when $1 is empty; appended when
# there was none).
replace_line() {
	file=$root$FLAGS_FILE
	tmp=$file.ocir-tmp.$$
	if [ -f "$file" ]; then
		NEWLINE=$1 FLAGS_VAR=$FLAGS_VAR awk '
			NR == FNR { if ($0 ~ "^[ \t]*" ENVIRON["FLAGS_VAR"] "=") last = FNR; next }
			FNR == last {
				if (ENVIRON["NEWLINE"] != "") print ENVIRON["NEWLINE"]
				next
			}
			{ print }
			END { if (!last && ENVIRON["NEWLINE"] != "") print ENVIRON["NEWLINE"] }
		' "$file" "$file" >"$tmp"
		chmod "$(stat -c %a "$file")" "$tmp"
	else
		mkdir -p "$(dirname "$file")"
		printf '%s\n' "$1" >"$tmp"
		chmod 644 "$tmp"
	fi
	mv -f "$tmp" "$file"
}

# check_flags fails before anything is touched if the kubelet already uses,
# or would use at its next start, another credential provider config or bin
# dir: from its unit, any of its environment files (kubeadm-flags.env
# included) or its running command line. Overwriting that would break it.
check_flags() {
	other=$(others_in "$(static_flag_sources; running_flag_sources)")
	[ -z "$other" ] ||
		die "${other%%: *} already has ${other#*: }: the kubelet uses another credential provider config. Merge $CONFIG_FILE into that config (or use a config directory, kubelet 1.34+) instead"
}

# add_flags returns 0 when it changed the flags file.
add_flags() {
	line=$(flags_line)
	split_value "$line"
	if has_flag "$value" "$flag_config" && has_flag "$value" "$flag_bin"; then
		return 1
	fi
	new=$value
	has_flag "$new" "$flag_config" || new="${new:+$new }$flag_config"
	has_flag "$new" "$flag_bin" || new="${new:+$new }$flag_bin"
	[ -n "$quote" ] || quote='"'
	newline="$FLAGS_VAR=$quote$new$quote"
	if [ ! -f "$state_dir/flags-after" ]; then
		# Remember the line as it was, to restore it byte for byte.
		mkdir -p "$state_dir"
		printf '%s\n' "$FLAGS_FILE" >"$state_dir/flags-file"
		if [ -n "$line" ]; then printf '%s\n' "$line" >"$state_dir/flags-before"; fi
		[ -f "$root$FLAGS_FILE" ] || : >"$state_dir/flags-file-created"
	fi
	replace_line "$newline"
	printf '%s\n' "$newline" >"$state_dir/flags-after"
	return 0
}

# remove_flags returns 0 when it changed the flags file.
remove_flags() {
	# Only flags this script added are removed; without its state there
	# are none (flags someone else wrote stay, as they were before install).
	[ -f "$state_dir/flags-file" ] || return 1
	FLAGS_FILE=$(cat "$state_dir/flags-file")
	line=$(flags_line)
	[ -n "$line" ] || return 1
	if [ -f "$state_dir/flags-after" ] && [ "$line" = "$(cat "$state_dir/flags-after")" ]; then
		# Untouched since install: restore what was there.
		before=''
		[ -f "$state_dir/flags-before" ] && before=$(cat "$state_dir/flags-before")
		replace_line "$before"
	else
		split_value "$line"
		has_flag "$value" "$flag_config" || has_flag "$value" "$flag_bin" || return 1
		new=''
		for word in $value; do
			[ "$word" = "$flag_config" ] || [ "$word" = "$flag_bin" ] || new="${new:+$new }$word"
		done
		if [ -n "$new" ] || [ -f "$state_dir/flags-before" ]; then
			replace_line "$FLAGS_VAR=$quote$new$quote"
		else
			replace_line ''
		fi
	fi
	if [ -f "$state_dir/flags-file-created" ] && [ ! -s "$root$FLAGS_FILE" ]; then
		rm -f "$root$FLAGS_FILE"
	fi
	return 0
}

# --- files -------------------------------------------------------------------

# put SRC DST MODE copies atomically; returns 0 when DST changed.
put() {
	if [ -f "$2" ] && cmp -s "$1" "$2"; then
		if [ "$(stat -c %a "$2")" != "$3" ]; then chmod "$3" "$2"; fi
		return 1
	fi
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.ocir-tmp.$$"
	chmod "$3" "$2.ocir-tmp.$$"
	mv -f "$2.ocir-tmp.$$" "$2"
	return 0
}

# save HOSTPATH keeps a copy of a host file (or notes its absence) in
# $backup, for restore.
save() {
	key=$(printf '%s' "$1" | tr '/' '%')
	if [ -e "$root$1" ] || [ -L "$root$1" ]; then
		cp -a "$root$1" "$backup/$key"
	else
		: >"$backup/$key.absent"
	fi
	printf '%s\n' "$1" >>"$backup/list"
}

# restore puts every saved host path back as it was.
restore() {
	[ -f "$backup/list" ] || return 0
	while IFS= read -r p; do
		key=$(printf '%s' "$p" | tr '/' '%')
		rm -rf "$root$p"
		if [ ! -e "$backup/$key.absent" ]; then
			mkdir -p "$(dirname "$root$p")"
			cp -a "$backup/$key" "$root$p"
		fi
	done <"$backup/list"
	# Directories this run created, if they are empty again.
	[ ! -f "$backup/dirs" ] || remove_new_dirs "$(cat "$backup/dirs")"
}

# note_new_dirs HOSTPATH... records which of these directories do not exist
# yet, so restore can remove them again.
note_new_dirs() {
	for d in "$@"; do
		[ -d "$root$d" ] || printf '%s\n' "$d" >>"$backup/dirs"
	done
}

# keep_new_dirs remembers, past this run, the directories this install
# created, so that uninstall can remove them again once they are empty.
keep_new_dirs() {
	[ -f "$backup/dirs" ] || return 0
	while IFS= read -r d; do
		grep -qxF -- "$d" "$state_dir/created-dirs" 2>/dev/null || printf '%s\n' "$d" >>"$state_dir/created-dirs"
	done <"$backup/dirs"
}

# remove_new_dirs DIRS removes those of the directories an install created
# that are empty now, deepest first.
remove_new_dirs() {
	printf '%s\n' "$1" | awk 'NF { print length($0), $0 }' | sort -rn | cut -d ' ' -f 2- | while IFS= read -r d; do
		rmdir "$root$d" 2>/dev/null || true
	done
}

# --- the kubelet process -----------------------------------------------------

# kubelet_pids prints the PID of each running kubelet.
kubelet_pids() {
	for d in "$PROC"/[0-9]*; do
		if [ -r "$d/comm" ] && [ "$(cat "$d/comm" 2>/dev/null)" = kubelet ]; then
			printf '%s\n' "${d##*/}"
		fi
	done
}

# kubelet_cmdlines prints the command line of each running kubelet.
kubelet_cmdlines() {
	for pid in $(kubelet_pids); do
		tr '\0' ' ' <"$PROC/$pid/cmdline" 2>/dev/null && echo
	done
}

# kubelet_has_flags: 0 yes, 1 no, 2 no kubelet running.
kubelet_has_flags() {
	cmdlines=$(kubelet_cmdlines)
	[ -n "$cmdlines" ] || return 2
	printf '%s\n' "$cmdlines" | while IFS= read -r c; do
		if has_flag "$c" "$flag_config" && has_flag "$c" "$flag_bin"; then
			echo yes
		fi
	done | grep -q yes
}

# flags_match PID WANT: does that kubelet run with our flags (WANT=with),
# without any flag naming our config or bin dir (without), or either (any)?
flags_match() {
	c=$(tr '\0' ' ' <"$PROC/$1/cmdline" 2>/dev/null) || return 1
	case $2 in
	with) has_flag "$c" "$flag_config" && has_flag "$c" "$flag_bin" ;;
	without) [ -z "$(ours_in "$(printf '%s\n' "$c" | provider_flags kubelet)")" ] ;;
	*) return 0 ;;
	esac
}

healthz_ok() {
	[ -n "$HEALTHZ_URL" ] || return 1
	if command -v curl >/dev/null 2>&1; then
		[ "$(curl -fsS -m 2 "$HEALTHZ_URL" 2>/dev/null || true)" = ok ]
	elif command -v wget >/dev/null 2>&1; then
		[ "$(wget -q -T 2 -O - "$HEALTHZ_URL" 2>/dev/null || true)" = ok ]
	else
		return 1
	fi
}

restart_kubelet() {
	log "restarting $KUBELET_UNIT"
	if ! $SYSTEMCTL restart "$KUBELET_UNIT"; then
		verify_error="'$SYSTEMCTL restart $KUBELET_UNIT' failed"
		return 1
	fi
}

# verify_kubelet WANT waits until the kubelet is active with the flags WANT
# says (see flags_match) and either its healthz answers ok or it has kept
# the same PID for VERIFY_STABLE seconds: a kubelet that exits a second
# after it started (a config it cannot use, say) does not pass. On failure
# verify_error says why.
verify_kubelet() {
	limit=$VERIFY_TIMEOUT
	[ "$limit" -gt "$VERIFY_STABLE" ] || limit=$((VERIFY_STABLE + 1))
	waited=0 stable=0 last='' seen=
	while :; do
		pid=$(kubelet_pids | head -n 1)
		if [ -n "$pid" ] && $SYSTEMCTL is-active --quiet "$KUBELET_UNIT" 2>/dev/null; then
			if [ "$pid" = "$last" ]; then
				stable=$((stable + 1))
			else
				stable=0 last=$pid
			fi
			if flags_match "$pid" "$1"; then
				seen=up
				if [ "$stable" -ge "$VERIFY_STABLE" ] || healthz_ok; then
					return 0
				fi
			elif [ "$stable" -ge "$VERIFY_STABLE" ]; then
				# Up and steady with the wrong flags: that will not change.
				if [ "$1" = with ]; then
					verify_error="the kubelet runs without $flag_config after the restart: its unit does not read $FLAGS_FILE as assumed; set FLAGS_FILE (see docs/kubernetes.md)"
				else
					verify_error="the restarted kubelet still runs with $flag_config or $flag_bin"
				fi
				return 1
			fi
		else
			stable=0 last=''
		fi
		if [ "$waited" -ge "$limit" ]; then
			if [ -n "$seen" ]; then
				verify_error="the kubelet did not stay up for ${VERIFY_STABLE}s after the restart (it exited, or systemd restarted it); see: journalctl -u $KUBELET_UNIT"
			elif [ -n "$last" ]; then
				verify_error="the kubelet does not run with the expected flags ${limit}s after the restart"
			else
				verify_error="the kubelet is not running ${limit}s after the restart; see: journalctl -u $KUBELET_UNIT"
			fi
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
}

# --- the kubelet's version -----------------------------------------------------

# kubelet_minor prints the kubelet's minor version (1.NN): KUBELET_VERSION,
# or what `kubelet --version` says, asking the binary of the unit's
# ExecStart, of the running kubelet, or the usual places.
kubelet_minor() {
	v=$KUBELET_VERSION
	tried=''
	if [ -z "$v" ]; then
		candidates=$KUBELET_BIN
		if [ -z "$candidates" ]; then
			exec_bin=$(unit_text | sed -n 's/^[[:space:]]*ExecStart=[-@:+!]*[[:space:]]*\([^[:space:]]*\).*/\1/p' | grep . | tail -n 1 || true)
			case $exec_bin in */kubelet | */k3s | */rke2) candidates=$exec_bin ;; esac
			for pid in $(kubelet_pids); do
				exe=$(readlink "$PROC/$pid/exe" 2>/dev/null || true)
				case $exe in /*kubelet) candidates="$candidates $exe" ;; esac
			done
			candidates="$candidates /usr/bin/kubelet /usr/local/bin/kubelet"
		fi
		for b in $candidates; do
			case " $tried " in *" $b "*) continue ;; esac
			tried="$tried $b"
			[ -x "$root$b" ] || continue
			v=$("$root$b" --version 2>/dev/null || true)
			[ -z "$v" ] || break
		done
	fi
	minor=$(printf '%s\n' "$v" | sed -e 's/^k3s //' -e 's/^rke2 //' | sed -n 's/^[^0-9]*\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -n 1)
	case $minor in
	"1 "*) printf '%s\n' "${minor#1 }" ;;
	[2-9]" "* | [1-9][0-9]*" "*) echo 999 ;; # a 2.x kubelet is newer than anything here
	*) die "cannot tell the kubelet's version (asked:${tried:- nothing}; got '$v'); set KUBELET_VERSION, e.g. KUBELET_VERSION=1.33" ;;
	esac
}

# --- k3s and RKE2 ----------------------------------------------------------------

# detect_rancher sets rancher (k3s or rke2), KUBELET_UNIT, BIN_DIR and
# CONFIG_FILE on a k3s or RKE2 node: one whose KUBELET_UNIT names their
# unit, or, when KUBELET_UNIT is not set, one without a kubelet unit but
# with a k3s-agent, k3s, rke2-agent or rke2-server unit.
detect_rancher() {
	case $user_unit in
	k3s | k3s-agent | k3s.service | k3s-agent.service) rancher=k3s ;;
	rke2-server | rke2-agent | rke2-server.service | rke2-agent.service) rancher=rke2 ;;
	'')
		[ -z "$(unit_text)" ] || return 0
		for u in k3s-agent k3s rke2-agent rke2-server; do
			if [ -n "$($SYSTEMCTL cat "$u" 2>/dev/null)" ]; then
				KUBELET_UNIT=$u rancher=${u%%-*}
				break
			fi
		done
		;;
	esac
	[ -n "$rancher" ] || return 0
	if [ -n "$user_bin_dir" ] && [ "${user_bin_dir%/}" != "$rancher_bin_dir" ]; then
		die "$rancher runs its kubelet with --image-credential-provider-bin-dir=$rancher_bin_dir; BIN_DIR=$user_bin_dir would not be read (unset it)"
	fi
	if [ -n "$user_config_file" ] && [ "$user_config_file" != "$rancher_config" ]; then
		die "$rancher runs its kubelet with --image-credential-provider-config=$rancher_config; CONFIG_FILE=$user_config_file would not be read (unset it)"
	fi
	BIN_DIR=$rancher_bin_dir CONFIG_FILE=$rancher_config
	flag_config="--image-credential-provider-config=$CONFIG_FILE"
	flag_bin="--image-credential-provider-bin-dir=$BIN_DIR"
	log "$rancher node ($KUBELET_UNIT unit): using $BIN_DIR and $CONFIG_FILE, which $rancher hands to its kubelet"
}

# check_config_file fails before anything is touched if CONFIG_FILE names
# something this script must not replace: the flags file, anything but a
# regular file, or a file with other contents that no earlier install of
# this script put there (the flags it added name it).
check_config_file() {
	[ "$CONFIG_FILE" != "$FLAGS_FILE" ] || die "CONFIG_FILE and the flags file are both $CONFIG_FILE"
	if [ -L "$root$CONFIG_FILE" ] || { [ -e "$root$CONFIG_FILE" ] && [ ! -f "$root$CONFIG_FILE" ]; }; then
		die "$CONFIG_FILE exists and is not a regular file; choose another CONFIG_FILE"
	fi
	[ -f "$root$CONFIG_FILE" ] && ! cmp -s "$1" "$root$CONFIG_FILE" || return 0
	if [ -f "$state_dir/flags-after" ]; then
		split_value "$(cat "$state_dir/flags-after")"
		has_flag "$value" "$flag_config" && return 0
	fi
	die "$CONFIG_FILE already exists and was not installed by this script; merge the providers of $1 into it yourself, or choose another CONFIG_FILE"
}

# check_rancher fails before anything is touched if the node already has
# another credential provider config where ours goes, or if its $rancher
# config sets the kubelet's credential provider flags itself.
check_rancher() {
	if [ -f "$root$CONFIG_FILE" ] && [ ! -f "$state_dir/rancher" ] && ! cmp -s "$1" "$root$CONFIG_FILE"; then
		die "$CONFIG_FILE already holds another credential provider config (not installed by this script). Merge the providers of $1 into it instead"
	fi
	for f in "$root/etc/rancher/$rancher/config.yaml" "$root/etc/rancher/$rancher/config.yaml.d"/*.yaml; do
		[ -f "$f" ] || continue
		if grep -v '^[[:space:]]*#' "$f" | grep -q 'image-credential-provider-'; then
			die "${f#"$root"} sets the kubelet's image-credential-provider flags (kubelet-arg): $rancher would not use $CONFIG_FILE. Remove them, or merge ours into the config they name"
		fi
	done
}

# verify_unit waits until KUBELET_UNIT is active and either the kubelet's
# healthz answers ok or the unit has kept the same main PID for
# VERIFY_STABLE seconds (k3s runs its kubelet in its own process). On
# failure verify_error says why.
verify_unit() {
	limit=$VERIFY_TIMEOUT
	[ "$limit" -gt "$VERIFY_STABLE" ] || limit=$((VERIFY_STABLE + 1))
	waited=0 stable=0 last=''
	while :; do
		pid=$($SYSTEMCTL show -p MainPID --value "$KUBELET_UNIT" 2>/dev/null || true)
		if [ -n "$pid" ] && [ "$pid" != 0 ] && $SYSTEMCTL is-active --quiet "$KUBELET_UNIT" 2>/dev/null; then
			if [ "$pid" = "$last" ]; then
				stable=$((stable + 1))
			else
				stable=0 last=$pid
			fi
			if [ "$stable" -ge "$VERIFY_STABLE" ] || healthz_ok; then
				return 0
			fi
		else
			stable=0 last=''
		fi
		if [ "$waited" -ge "$limit" ]; then
			verify_error="$KUBELET_UNIT did not stay up for ${VERIFY_STABLE}s after the restart; see: journalctl -u $KUBELET_UNIT"
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
}

# verify_restart WANT checks the restarted kubelet: verify_kubelet on a
# node with a kubelet unit, verify_unit on k3s and RKE2.
verify_restart() {
	if [ -n "$rancher" ]; then
		verify_unit
	else
		verify_kubelet "$1"
	fi
}

do_uninstall_rancher() {
	removed=no
	if [ -f "$state_dir/rancher" ] && [ -f "$root$CONFIG_FILE" ]; then
		rm -f "$root$CONFIG_FILE"
		log "removed $CONFIG_FILE"
		removed=yes
	fi
	remove_binaries
	rmdir "$root$(dirname "$BIN_DIR")" 2>/dev/null || true
	if [ "$removed" = yes ]; then
		verify_error=''
		if ! restart_kubelet || ! verify_unit; then
			die "$verify_error"
		fi
		log "$KUBELET_UNIT runs without ocir-credential-provider"
	else
		log "no config of ours in $CONFIG_FILE; $KUBELET_UNIT was not restarted"
	fi
	rm -rf "$top_dir"
}

# --- modes -------------------------------------------------------------------

do_install() {
	bin_src=$PAYLOAD_DIR/$name
	cfg_src=$PAYLOAD_DIR/credential-provider-config.yaml
	[ -x "$bin_src" ] || die "no executable $bin_src"
	[ -f "$cfg_src" ] || die "no $cfg_src"

	# Everything that can fail is checked before anything is changed: an
	# invalid config or a missing binary makes the kubelet exit at start.
	detect_rancher
	if [ -n "$rancher" ]; then
		check_rancher "$cfg_src"
	else
		find_flags_file
		check_flags
		check_config_file "$cfg_src"
	fi
	minor=$(kubelet_minor)
	validate_opts=''
	if [ "$minor" -lt 26 ]; then
		die "the kubelet is v1.$minor; ocir-credential-provider needs kubelet 1.26 or newer (credential provider API v1)"
	elif [ "$minor" -lt 34 ]; then
		# No service-account tokens for plugins before 1.34 (1.33's alpha
		# has another config format): validate as such a kubelet does.
		validate_opts=--no-service-account-tokens
	fi
	# One binary, one name per provider entry (node mode and service-account
	# mode need two): the other names are symlinks.
	# shellcheck disable=SC2086 # validate_opts is empty or one flag
	if ! names=$("$bin_src" validate-config $validate_opts --names "$cfg_src"); then
		if [ -n "$validate_opts" ] && grep -q '^[^#]*tokenAttributes' "$cfg_src"; then
			die "$cfg_src uses service-account token mode (tokenAttributes), which needs kubelet 1.34 or newer; this kubelet is v1.$minor"
		fi
		die "$cfg_src is not a valid credential provider config for kubelet v1.$minor"
	fi
	staged=$(mktemp -d)
	trap 'rm -rf "$staged"' EXIT
	cp "$bin_src" "$staged/$name"
	chmod 755 "$staged/$name"
	for n in $names; do
		[ "$n" = "$name" ] || ln -s "$name" "$staged/$n"
	done
	# shellcheck disable=SC2086
	"$bin_src" validate-config $validate_opts --bin-dir "$staged" "$cfg_src" >/dev/null ||
		die "$cfg_src names providers this binary cannot serve"

	# A payload whose install was rolled back on this kubelet is not tried
	# again: each try would restart the kubelet.
	attempt=$({
		cat "$bin_src" "$cfg_src"
		printf '%s\n' "$FLAGS_FILE" "$FLAGS_VAR" "$CONFIG_FILE" "$BIN_DIR" "kubelet 1.$minor"
	} | cksum | cut -d ' ' -f 1)
	if [ -f "$failed_memo" ] && [ "$(head -n 1 "$failed_memo")" = "$attempt" ]; then
		if [ "$RETRY_FAILED" = 1 ]; then
			log "retrying a payload that failed before (RETRY_FAILED=1)"
		else
			die "installing this same payload failed on this node before and was rolled back: $(sed -n 2p "$failed_memo")
Not trying again, which would restart the kubelet again. Fix the cause (or change the config or binary), then remove ${failed_memo#"$root"} or run with RETRY_FAILED=1"
		fi
	fi

	backup=$staged/backup
	mkdir "$backup"
	# Every directory this install creates, deepest first.
	for d in "$BIN_DIR" "$(dirname "$CONFIG_FILE")"; do
		while [ "$d" != / ] && [ ! -d "$root$d" ]; do
			note_new_dirs "$d"
			d=$(dirname "$d")
		done
	done
	note_new_dirs "${top_dir#"$root"}"
	save "$BIN_DIR/$name"
	for n in $names; do
		[ "$n" = "$name" ] || save "$BIN_DIR/$n"
	done
	save "$CONFIG_FILE"
	if [ -z "$rancher" ]; then
		note_new_dirs "$(dirname "$FLAGS_FILE")"
		save "$FLAGS_FILE"
	fi
	save "${state_dir#"$root"}"

	restart=no
	if put "$bin_src" "$root$BIN_DIR/$name" 755; then
		log "installed $BIN_DIR/$name ($("$root$BIN_DIR/$name" --version))"
	else
		log "$BIN_DIR/$name unchanged"
	fi
	mkdir -p "$state_dir"
	for n in $names; do
		[ "$n" != "$name" ] || continue
		if [ "$(readlink "$root$BIN_DIR/$n" 2>/dev/null || true)" != "$name" ]; then
			ln -sfn "$name" "$root$BIN_DIR/$n"
			log "linked $BIN_DIR/$n"
		fi
		grep -qx "$n" "$state_dir/links" 2>/dev/null || printf '%s\n' "$n" >>"$state_dir/links"
	done
	changed=no
	if put "$cfg_src" "$root$CONFIG_FILE" 644; then
		log "installed $CONFIG_FILE"
		restart=yes changed=yes
	else
		log "$CONFIG_FILE unchanged"
	fi
	if [ -n "$rancher" ]; then
		# Marks the config as ours, for the next install and uninstall.
		: >"$state_dir/rancher"
	elif add_flags; then
		log "added the credential provider flags to $FLAGS_VAR in $FLAGS_FILE"
		restart=yes changed=yes
	else
		log "$FLAGS_FILE already has the flags"
	fi
	if [ "$restart" = no ] && [ -z "$rancher" ]; then
		rc=0
		kubelet_has_flags || rc=$?
		if [ "$rc" -eq 1 ]; then
			log "the running kubelet lacks the flags"
			restart=yes
		fi
	fi
	if [ "$restart" = no ]; then
		rm -f "$failed_memo"
		keep_new_dirs
		log "nothing changed; the kubelet was not restarted"
		return 0
	fi
	verify_error=''
	if restart_kubelet && verify_restart with; then
		rm -f "$failed_memo"
		keep_new_dirs
		log "the kubelet runs with ocir-credential-provider"
		return 0
	fi

	# The kubelet did not come up, or not for long, or not with the flags:
	# put back what was there and restart it again.
	why=$verify_error
	log "error: $why"
	log "rolling back"
	restore
	mkdir -p "$top_dir"
	printf '%s\n%s (%s)\n' "$attempt" "$why" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$failed_memo"
	if [ "$changed" = yes ]; then
		verify_error=''
		if ! restart_kubelet || ! verify_restart any; then
			die "$why. Rolled back the files, but the kubelet did not come back after that either: $verify_error"
		fi
		die "$why. Rolled back: the kubelet runs as before the install"
	fi
	die "$why. Nothing had changed on this node; the kubelet was restarted once"
}

# remove_binaries removes the plugin and the links install made.
remove_binaries() {
	if [ -f "$state_dir/links" ]; then
		while IFS= read -r n; do
			case $n in '' | */* | . | ..) continue ;; esac
			if [ -L "$root$BIN_DIR/$n" ]; then
				rm -f "$root$BIN_DIR/$n"
				log "removed $BIN_DIR/$n"
			fi
		done <"$state_dir/links"
	fi
	if [ -f "$root$BIN_DIR/$name" ]; then
		rm -f "$root$BIN_DIR/$name"
		log "removed $BIN_DIR/$name"
	fi
	rmdir "$root$BIN_DIR" 2>/dev/null || true
}

do_uninstall() {
	detect_rancher
	if [ -n "$rancher" ]; then
		do_uninstall_rancher
		return
	fi
	staged=$(mktemp -d)
	trap 'rm -rf "$staged"' EXIT
	backup=$staged/backup
	mkdir "$backup"
	restart=no
	if [ -f "$state_dir/flags-file" ]; then
		save "$(cat "$state_dir/flags-file")"
	fi
	removed=no
	if remove_flags; then
		removed=yes
	fi
	# The kubelet exits at start when its provider config or bin dir is
	# missing: while anything else hands it ours (the shipped systemd
	# drop-in, kubeadm-flags.env, cloud-init's extra args, a hand edit),
	# they must stay.
	refs=$(ours_in "$(static_flag_sources)")
	if [ -n "$refs" ]; then
		restore
		die "the kubelet still gets $flag_config or $flag_bin from: $(printf '%s\n' "$refs" | paste -s -d ';' - | sed 's/;/; /g').
Changed nothing and kept $CONFIG_FILE and $BIN_DIR, without which the kubelet would not start. Remove the flags there (then systemctl daemon-reload if it is the unit), and run uninstall again"
	fi
	if [ "$removed" = yes ]; then
		log "removed the credential provider flags from $FLAGS_FILE"
		restart=yes
	fi
	if [ "$restart" = no ] && [ -n "$(ours_in "$(running_flag_sources)")" ]; then
		log "the running kubelet still has the credential provider flags"
		restart=yes
	fi
	if [ "$restart" = yes ]; then
		verify_error=''
		if ! restart_kubelet || ! verify_kubelet without; then
			if [ -n "$(ours_in "$(running_flag_sources)")" ]; then
				die "the restarted kubelet still runs with $flag_config or $flag_bin, from somewhere other than its unit and environment files. Kept $CONFIG_FILE and $BIN_DIR, without which it would not start; remove the flags there, then run uninstall again"
			fi
			die "$verify_error. Kept $CONFIG_FILE and $BIN_DIR; once the kubelet runs, run uninstall again"
		fi
		log "the kubelet runs without ocir-credential-provider"
	fi
	if [ -f "$root$CONFIG_FILE" ]; then
		rm -f "$root$CONFIG_FILE"
		log "removed $CONFIG_FILE"
	fi
	remove_binaries
	created=''
	[ -f "$state_dir/created-dirs" ] && created=$(cat "$state_dir/created-dirs")
	# State, the memo of a failed install, and the copy of this script the
	# DaemonSet installer staged.
	rm -rf "$top_dir"
	remove_new_dirs "$created"
	if [ "$restart" = no ]; then
		log "nothing to undo in the kubelet's flags; the kubelet was not restarted"
	fi
}

umask 022
"do_$mode"
