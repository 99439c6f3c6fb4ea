# Step: list the lab's machines in /etc/hosts as one managed block. A re-run replaces the
# block and never duplicates it; lines outside the block are left alone. Inputs: HOSTS_BLOCK.
begin='# BEGIN kafka-lab'
end='# END kafka-lab'
current=$(cat /etc/hosts 2>/dev/null || true)
# Drop any earlier block (and only it), then append the new one.
others=$(printf '%s\n' "$current" | awk -v b="$begin" -v e="$end" 'index($0,b)==1{skip=1;next} index($0,e)==1{skip=0;next} !skip')
write_file /etc/hosts 0644 root:root "$(printf '%s\n%s' "$others" "$HOSTS_BLOCK")"
names=$(printf '%s\n' "$HOSTS_BLOCK" | awk '!/^#/ && NF >= 2 {print $2}')
for name in $names; do
    getent hosts "$name" >/dev/null || die "$name does not resolve after writing /etc/hosts"
done
log "/etc/hosts lists $(echo $names | sed 's/ /, /g')"
