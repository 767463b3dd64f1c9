/* ACPI fixed hardware (PM1a event and control blocks, PM timer) and the
 * 0xCF9 reset control register, at the ports in hw/layout.h. */
#ifndef KHYVE_ACPI_PM_H
#define KHYVE_ACPI_PM_H

#include "hw/iobus.h"
#include "hw/platform.h"

struct acpi_pm;

/* sci and exit are borrowed.  NULL + errno on failure. */
struct acpi_pm *acpi_pm_new(const struct irq_line *sci, const struct vm_exit_sink *exit);
void acpi_pm_free(struct acpi_pm *pm);
/* Thread-safe: sets PWRBTN_STS, raising the SCI if the guest enabled it. */
void acpi_pm_power_button(struct acpi_pm *pm);

/* dev = the acpi_pm for all four. */
extern const struct io_ops acpi_pm_evt_ops;	/* PM1a_EVT: status +0, enable +2 */
extern const struct io_ops acpi_pm_cnt_ops;	/* PM1a_CNT */
extern const struct io_ops acpi_pm_tmr_ops;	/* PM_TMR, 24 bits */
extern const struct io_ops acpi_reset_ops;	/* 0xCF9 */

/* Checkpoint: the device's state into/from the caller's section.
 * restore: -EPROTO for values the device cannot hold. */
struct snap_writer;
struct snap_cursor;
void acpi_pm_save(struct acpi_pm *pm, struct snap_writer *w);
int acpi_pm_restore(struct acpi_pm *pm, struct snap_cursor *c);

#endif
