/* Tiny freestanding library for khyve's test guests (32- and 64-bit). */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

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
void serial_hex64(u64 v);			/* 16 digits, lower-case, no "0x" */
void serial_dec(u32 v);				/* decimal, no padding */
int serial_getc(void);				/* polls LSR.DR */

void poweroff(void) __attribute__((noreturn));	/* ACPI PM1a S5 */
void halt(void) __attribute__((noreturn));	/* cli; hlt forever */

#ifdef __x86_64__
/* Traps (64-bit guests only).  idt_install() loads an IDT whose 256 gates
 * (interrupt gates: IF is cleared on entry; selector = the current CS,
 * 0x10 under khyve's ELF64 boot) all go through one stub path that saves
 * every general register and calls h with this frame; when h returns the
 * registers are restored and the stub does iretq.  Vectors without a CPU
 * error code get error 0. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;		/* pushed by the CPU */
};
typedef void (*trap_handler_fn)(struct trap_frame *f);
void idt_install(trap_handler_fn h);
#endif

int main(void);

#endif
