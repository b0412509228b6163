#!/bin/sh
# install.sh — install or remove ocir-credential-provider on a Kubernetes node.
#
#   install.sh install     put the binary and its CredentialProviderConfig in
#                          place, add the two kubelet flags, and restart the
#                          kubelet if (and only if) something it reads changed
#   install.sh uninstall   undo exactly that
#
# Run as root on the node, or by the DaemonSet installer (which runs it in the
# host's mount namespace). Running it twice changes nothing the second time and
# does not restart the kubelet.
#
# Environment, with defaults:
#   PAYLOAD_DIR    holds ocir-credential-provider and
#                  credential-provider-config.yaml      [this script's directory]
#   BIN_DIR        --image-credential-provider-bin-dir [/usr/local/lib/ocir-credential-provider]
#   CONFIG_FILE    --image-credential-provider-config  [/etc/kubernetes/ocir-credential-provider.yaml]
#   FLAGS_FILE     environment file whose KUBELET_EXTRA_ARGS the kubelet unit
#                  expands                              [found with `systemctl cat kubelet`]
#   FLAGS_VAR      the variable                         [KUBELET_EXTRA_ARGS]
#   KUBELET_UNIT   [kubelet]
#   VERIFY_TIMEOUT seconds to wait for the restarted kubelet to run with the
#                  flags                                [90]
# For tests: HOST_ROOT prefixes every host path [empty], SYSTEMCTL replaces
# systemctl, PROC replaces /proc.
set -eu

prog=ocir-credential-provider-installer
mode=${1:-}

root=${HOST_ROOT:-}
root=${root%/}
PAYLOAD_DIR=${PAYLOAD_DIR:-$(cd "$(dirname "$0")" && pwd)}
BIN_DIR=${BIN_DIR:-/usr/local/lib/ocir-credential-provider}
CONFIG_FILE=${CONFIG_FILE:-/etc/kubernetes/ocir-credential-provider.yaml}
FLAGS_FILE=${FLAGS_FILE:-}
FLAGS_VAR=${FLAGS_VAR:-KUBELET_EXTRA_ARGS}
KUBELET_UNIT=${KUBELET_UNIT:-kubelet}
VERIFY_TIMEOUT=${VERIFY_TIMEOUT:-90}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
PROC=${PROC:-/proc}

name=ocir-credential-provider
state_dir=$root/var/lib/ocir-credential-provider/state
flag_config="--image-credential-provider-config=$CONFIG_FILE"
flag_bin="--image-credential-provider-bin-dir=$BIN_DIR"

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

# --- the kubelet's flags -----------------------------------------------------

# unit_text prints the kubelet unit with its drop-ins, comments removed.
unit_text() {
	$SYSTEMCTL cat "$KUBELET_UNIT" 2>/dev/null | grep -v '^[[:space:]]*[#;]' || true
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

# flags_line prints the first "VAR=..." line of the flags file, if any.
flags_line() {
	[ -f "$root$FLAGS_FILE" ] || return 0
	grep -m1 "^[[:space:]]*$FLAGS_VAR=" "$root$FLAGS_FILE" || true
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

# replace_line writes the flags file with its first VAR= line replaced by
# $1 (deleted when $1 is empty; appended when there was none).
replace_line() {
	file=$root$FLAGS_FILE
	tmp=$file.ocir-tmp.$$
	if [ -f "$file" ]; then
		NEWLINE=$1 FLAGS_VAR=$FLAGS_VAR awk '
			!done && $0 ~ "^[ \t]*" ENVIRON["FLAGS_VAR"] "=" {
				done = 1
				if (ENVIRON["NEWLINE"] != "") print ENVIRON["NEWLINE"]
				next
			}
			{ print }
			END { if (!done && ENVIRON["NEWLINE"] != "") print ENVIRON["NEWLINE"] }
		' "$file" >"$tmp"
		chmod "$(stat -c %a "$file")" "$tmp"
	else
		mkdir -p "$(dirname "$file")"
		printf '%s\n' "$1" >"$tmp"
		chmod 644 "$tmp"
	fi
	mv -f "$tmp" "$file"
}

# check_flags fails before anything is touched if the kubelet already uses
# another credential provider config: overwriting it would break that one.
check_flags() {
	line=$(flags_line)
	split_value "$line"
	for word in $value; do
		case $word in
		--image-credential-provider-config=* | --image-credential-provider-bin-dir=*)
			has_flag "$flag_config $flag_bin" "$word" ||
				die "$FLAGS_FILE already has $word; merge $CONFIG_FILE into that config (or use a config directory, kubelet 1.34+) instead"
			;;
		--image-credential-provider-config | --image-credential-provider-bin-dir)
			die "$FLAGS_FILE already has $word; merge the configs by hand"
			;;
		esac
	done
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

# --- the kubelet process -----------------------------------------------------

# kubelet_cmdlines prints the command line of each running kubelet.
kubelet_cmdlines() {
	for d in "$PROC"/[0-9]*; do
		if [ -r "$d/comm" ] && [ "$(cat "$d/comm" 2>/dev/null)" = kubelet ]; then
			tr '\0' ' ' <"$d/cmdline" 2>/dev/null && echo
		fi
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

restart_kubelet() {
	log "restarting $KUBELET_UNIT"
	$SYSTEMCTL restart "$KUBELET_UNIT" || die "'$SYSTEMCTL restart $KUBELET_UNIT' failed; see: journalctl -u $KUBELET_UNIT"
}

wait_for_flags() {
	waited=0
	while :; do
		rc=0
		kubelet_has_flags || rc=$?
		[ "$rc" -eq 0 ] && return 0
		if [ "$waited" -ge "$VERIFY_TIMEOUT" ]; then
			if [ "$rc" -eq 2 ]; then
				die "the kubelet is not running after the restart; see: journalctl -u $KUBELET_UNIT"
			fi
			die "the kubelet runs without $flag_config after the restart: its unit does not read $FLAGS_FILE as assumed; set FLAGS_FILE (see docs/kubernetes.md)"
		fi
		sleep 1
		waited=$((waited + 1))
	done
}

# --- modes -------------------------------------------------------------------

do_install() {
	bin_src=$PAYLOAD_DIR/$name
	cfg_src=$PAYLOAD_DIR/credential-provider-config.yaml
	[ -x "$bin_src" ] || die "no executable $bin_src"
	[ -f "$cfg_src" ] || die "no $cfg_src"

	# Everything that can fail is checked before anything is changed: an
	# invalid config or a missing binary makes the kubelet exit at start.
	find_flags_file
	check_flags
	# One binary, one name per provider entry (node mode and service-account
	# mode need two): the other names are symlinks.
	names=$("$bin_src" validate-config --names "$cfg_src") ||
		die "$cfg_src is not a valid credential provider config"
	staged=$(mktemp -d)
	trap 'rm -rf "$staged"' EXIT
	cp "$bin_src" "$staged/$name"
	chmod 755 "$staged/$name"
	for n in $names; do
		[ "$n" = "$name" ] || ln -s "$name" "$staged/$n"
	done
	"$bin_src" validate-config --bin-dir "$staged" "$cfg_src" >/dev/null ||
		die "$cfg_src names providers this binary cannot serve"

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
	if put "$cfg_src" "$root$CONFIG_FILE" 644; then
		log "installed $CONFIG_FILE"
		restart=yes
	else
		log "$CONFIG_FILE unchanged"
	fi
	if add_flags; then
		log "added the credential provider flags to $FLAGS_VAR in $FLAGS_FILE"
		restart=yes
	else
		log "$FLAGS_FILE already has the flags"
	fi
	if [ "$restart" = no ]; then
		rc=0
		kubelet_has_flags || rc=$?
		if [ "$rc" -eq 1 ]; then
			log "the running kubelet lacks the flags"
			restart=yes
		fi
	fi
	if [ "$restart" = yes ]; then
		restart_kubelet
		wait_for_flags
		log "the kubelet runs with ocir-credential-provider"
	else
		log "nothing changed; the kubelet was not restarted"
	fi
}

do_uninstall() {
	restart=no
	if remove_flags; then
		log "removed the credential provider flags from $FLAGS_FILE"
		restart=yes
	fi
	if [ -f "$root$CONFIG_FILE" ]; then
		rm -f "$root$CONFIG_FILE"
		log "removed $CONFIG_FILE"
	fi
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
	# State, and the copy of this script the DaemonSet installer staged.
	rm -rf "$root/var/lib/ocir-credential-provider"
	if [ "$restart" = yes ]; then
		restart_kubelet
	else
		log "nothing to undo in the kubelet's flags; the kubelet was not restarted"
	fi
}

umask 022
"do_$mode"
