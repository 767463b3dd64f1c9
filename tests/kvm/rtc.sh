#!/usr/bin/env bash
# CMOS RTC with -u (UTC): the date and time the guest reads are the host's
# UTC time at the moment it ran (within 2 s), in the format status B says.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest rtc
vm_args rtc -u -l com1,stdio
before=$(date -u +%s)
run_vm "${ARGS[@]}"
after=$(date -u +%s)
expect_status 1
expect_console '^rtc century=[0-9a-f]{2} year=[0-9a-f]{2} month=[0-9a-f]{2} day=[0-9a-f]{2} hour=[0-9a-f]{2} min=[0-9a-f]{2} sec=[0-9a-f]{2} a=[0-9a-f]{2} b=[0-9a-f]{2}$'
line=$(sed 's/\r$//' "$OUT" | grep -E '^rtc century=')
if ! msg=$(python3 - "$line" "$before" "$after" 2>&1 <<'PY'
import calendar, sys
f = dict(kv.split("=") for kv in sys.argv[1].split()[1:])
r = {k: int(v, 16) for k, v in f.items()}
before, after = int(sys.argv[2]), int(sys.argv[3])
binary = r["b"] & 0x04
h24 = r["b"] & 0x02
def val(x):
    if binary:
        return x
    if (x >> 4) > 9 or (x & 0xf) > 9:
        raise SystemExit("register value %02x is not BCD though status B=%02x says BCD" % (x, r["b"]))
    return (x >> 4) * 10 + (x & 0xf)
hour = val(r["hour"] & 0x7f)
if not h24:
    hour = hour % 12 + (12 if r["hour"] & 0x80 else 0)
cent = r["century"]
century = val(cent) if cent not in (0, 0xff) else 20
t = (century * 100 + val(r["year"]), val(r["month"]), val(r["day"]),
     hour, val(r["min"]), val(r["sec"]))
try:
    guest = calendar.timegm(t + (0, 0, 0))
except Exception as e:
    raise SystemExit("bad date %r: %s" % (t, e))
if not (1 <= t[1] <= 12 and 1 <= t[2] <= 31 and t[3] < 24 and t[4] < 60 and t[5] < 60):
    raise SystemExit("out-of-range date/time %r" % (t,))
if not (before - 2 <= guest <= after + 2):
    raise SystemExit("guest RTC %04d-%02d-%02d %02d:%02d:%02d is %+d s from host UTC"
                     % (t + (guest - before,)))
print("%04d-%02d-%02d %02d:%02d:%02d UTC" % t)
PY
); then
	fail "$msg"
fi
pass "$msg"
