#!/bin/sh
# Checks the layering rules of docs/design.md on the source tree; prints each breach and exits 1
# when there is one. Run by `make test` (tests/run.sh) and by hand: tools/check_layers.sh.
#
#   1. Folders are layers, lowest first: core, segments, gateways, campaigns, web, engine, cli. A file
#      includes headers of its own layer or of lower ones only, so there is no cycle; in
#      particular core includes only core, and only cli includes cli.
#   2. No C string writes messages.state or campaigns.status: every change of state goes
#      through the SQL functions of sql/functions/ (which the database checks).
#   3. No engine/ file is over 600 lines.
cd "$(dirname "$0")/.." || exit 2
LAYERS="core segments gateways campaigns web engine cli"
rank() {
  i=0
  for l in $LAYERS; do
    [ "$l" = "$1" ] && { echo $i; return; }
    i=$((i + 1))
  done
  echo -1
}
bad=0
for layer in $LAYERS; do
  r=$(rank "$layer")
  for f in "$layer"/*.c "$layer"/*.h; do
    [ -e "$f" ] || continue
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)\/[^"]*".*/\1/p' "$f" | sort -u); do
      ir=$(rank "$inc")
      [ "$ir" -lt 0 ] && continue
      if [ "$ir" -gt "$r" ]; then
        echo "layers: $f ($layer) includes $inc/, a higher layer" \
             "($(grep -n "#include \"$inc/" "$f" | head -n 1 | cut -d: -f1))"
        bad=1
      fi
    done
  done
done
# A C string that sets a message's state or a campaign's status.
for f in $(ls core/*.c segments/*.c gateways/*.c campaigns/*.c web/*.c engine/*.c cli/*.c 2>/dev/null); do
  grep -n -i -E '"[^"]*\bSET[[:space:]]+(state|status)[[:space:]]*=' "$f" | while IFS= read -r line; do
    echo "state writer: $f:${line%%:*}: a C string sets state or status; call the SQL function instead"
    echo x
  done | grep -v '^x$' && bad=1
done
for f in engine/*.c engine/*.h; do
  [ -e "$f" ] || continue
  n=$(wc -l < "$f")
  if [ "$n" -gt 600 ]; then
    echo "size: $f has $n lines (at most 600 in engine/)"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "layers: ok ($(ls core segments gateways campaigns web engine cli | grep -c '\.[ch]$') files)"
exit "$bad"
