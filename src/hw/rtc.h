/* MC146818 CMOS RTC at 0x70 (index) / 0x71 (data).  Time follows the host
 * clock (localtime or UTC) plus an offset the guest sets by writing it. */
#ifndef KHYVE_RTC_H
#define KHYVE_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/iobus.h"
#include "hw/platform.h"

struct rtc;

/* lowmem/highmem: guest RAM below 4 GiB and above it, in bytes, reported
 * in the CMOS memory-size bytes as bhyve does.  NULL + errno on failure. */
struct rtc *rtc_new(const struct irq_line *irq, bool utc, uint64_t lowmem, uint64_t highmem);
void rtc_free(struct rtc *rtc);
struct evloop;
/* Runs the update, alarm and periodic interrupts (IRQ 8) on loop's thread.
 * Without it the flags are still computed when register C is read, for
 * guests that poll.  0 or a negative errno. */
int rtc_attach_loop(struct rtc *rtc, struct evloop *loop);

/* bhyve's RTC time (vm_rtc_gettime/settime): the seconds since the epoch
 * that the clock registers show, read as UTC.  Setting it moves the
 * guest's clock as if the guest had written the registers. */
int64_t rtc_get_time(struct rtc *rtc);
void rtc_set_time(struct rtc *rtc, int64_t secs);

/* Two ports, dev = the rtc. */
extern const struct io_ops rtc_ops;

/* Checkpoint: the device's state into/from the caller's section.
 * restore: -EPROTO for values the device cannot hold. */
struct snap_writer;
struct snap_cursor;
void rtc_save(struct rtc *rtc, struct snap_writer *w);
int rtc_restore(struct rtc *rtc, struct snap_cursor *c);

#endif
