/* Tiny freestanding library for khyve's test guests (32- and 64-bit). */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

#define COM1		0x3F8	/* THR/RBR; LSR at +5 */
#define COM_LSR_DR	0x01	/* receive data ready */
#define COM_LSR_THRE	0x20	/* transmit holding register empty */
#define I8042_CMD	0x64
#define PM1A_CNT	0x404
#define RESET_PORT	0xCF9
#define PCI_ADDR	0xCF8
#define PCI_DATA	0xCFC
#define RTC_INDEX	0x70
#define RTC_DATA	0x71

static inline void outb(u16 port, u8 v)  { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)  { u8 v;  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

void serial_putc(char c);
void serial_puts(const char *s);		/* "\n" goes out as "\r\n" */
void serial_hex(u32 v, int digits);		/* lower-case, zero padded */
int serial_getc(void);				/* polls LSR.DR */

void poweroff(void) __attribute__((noreturn));	/* ACPI PM1a S5 */
void halt(void) __attribute__((noreturn));	/* cli; hlt forever */

int main(void);

#endif
