#!/bin/sh
# Writes dist/loa.conf.example from `loa config keys`, so that the example shipped with
# `make install` names every key with its default, range and meaning, all commented out:
#   tools/conf_example.sh build/loa > dist/loa.conf.example
# tests/integration/test_install.py checks that the committed file is what this writes.
set -eu
LOA=${1:-build/loa}
cat <<'HEAD'
# loa's configuration, installed as /etc/loa/loa.conf by `make install`.
#
# Every key is shown commented out with its default: the file as installed changes nothing.
# Uncomment what you change. `loa config keys` describes every key; `loa -c FILE config check`
# reports every error of a file with its line. A secret may be given as @/path/to/file (a file
# readable by the user loa only). Written by tools/conf_example.sh from `loa config keys`.
HEAD
"$LOA" config keys | awk '
function flush_section(s, t) {
    if (s == cur) return
    cur = s
    print ""
    if (s == "gateway.*") {
        print "# One [gateway.NAME] section per gateway; NAME is what campaigns name. These keys are"
        print "# common to every type; the keys of each type follow."
        print "# [gateway.sms]"
    } else if (s ~ /^gateway\.\* type=/) {
        split(s, a, "=")
        print "# Keys of a gateway with type = " a[2] ":"
        print "# [gateway." a[2] "]"
        print "# type = " a[2]
    } else {
        print "[" s "]"
    }
}
{
    s = $0; sub(/^\[/, "", s); sub(/\].*/, "", s)
    rest = $0; sub(/^\[[^]]*\] */, "", rest)
    key = rest; sub(/ .*/, "", key)
    rest = substr(rest, length(key) + 1); sub(/^ +/, "", rest)
    type = rest; sub(/ .*/, "", type)
    # the type column is padded: the default starts at "default="
    rest = substr(rest, index(rest, "default=") + 8)
    def = rest; sub(/  .*/, "", def)
    range = ""
    if (match(def, / range=.*/)) { range = substr(def, RSTART + 7); def = substr(def, 1, RSTART - 1) }
    desc = rest; sub(/^[^ ]*( range=[^ ]*)?  /, "", desc)
    flush_section(s)
    if (s ~ /type=/ && key == "type") next
    note = type
    if (range != "") note = note ", " range
    if (def == "(required)") { note = note ", required"; def = "" }
    if (def == "\"\"") def = ""
    print "# " desc " (" note ")"
    print "# " key " =" (def == "" ? "" : " " def)
}'
