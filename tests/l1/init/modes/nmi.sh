# khyve.test=nmi: waits for an NMI injected from the host (khyvectl
# --inject-nmi) and prints the kernel's own report of it:
#   KHYVE-GUEST-NMI-WAITING            ready for the host
#   KHYVE-GUEST-NMI-SEEN=<dmesg line>  the kernel logged an NMI
#   KHYVE-GUEST-NMI-SEEN=none          nothing within 120 s
# then waits for the host to power it off.
echo "KHYVE-GUEST-NMI-WAITING"
n=1200
while [ $n -gt 0 ]; do
    line=$(dmesg | grep -m1 -i 'NMI received')
    [ -n "$line" ] && break
    sleep 0.1; n=$((n - 1))
done
echo "KHYVE-GUEST-NMI-SEEN=${line:-none}"
while :; do sleep 3600; done
