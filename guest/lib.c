#include "lib.h"

void serial_putc(char c)
{
	/* Bounded wait: khyve's THR is always ready, a broken LSR must not hang us. */
	for (int i = 0; i < 64 && !(inb(COM1 + 5) & COM_LSR_THRE); i++)
		;
	outb(COM1, (u8)c);
}

void serial_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s);
	}
}

void serial_hex(u32 v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	while (digits-- > 0)
		serial_putc(hex[(v >> (digits * 4)) & 0xf]);
}

int serial_getc(void)
{
	while (!(inb(COM1 + 5) & COM_LSR_DR))
		;
	return inb(COM1);
}

void halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void poweroff(void)
{
	outw(PM1A_CNT, (5 << 10) | (1 << 13));	/* SLP_TYP = S5, SLP_EN */
	serial_puts("poweroff: still running after S5\n");
	halt();
}

void serial_hex64(u64 v)
{
	serial_hex((u32)(v >> 32), 8);
	serial_hex((u32)v, 8);
}

void serial_dec(u32 v)
{
	char buf[10];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0)
		serial_putc(buf[--n]);
}

#ifdef __x86_64__
/* 256 trap stubs, 16 bytes apart: push a zero error code where the CPU
 * pushes none, push the vector, join trap_common. */
__asm__(
	"	.text\n"
	"	.p2align 4\n"
	"	.globl	trap_stubs\n"
	"trap_stubs:\n"
	"	.set	trap_vec, 0\n"
	"	.rept	256\n"
	"	.p2align 4\n"
	"	.if (trap_vec == 8) || ((trap_vec >= 10) && (trap_vec <= 14)) || (trap_vec == 17) || (trap_vec == 21) || (trap_vec == 29) || (trap_vec == 30)\n"
	"	.else\n"
	"	pushq	$0\n"
	"	.endif\n"
	"	pushq	$trap_vec\n"
	"	jmp	trap_common\n"
	"	.set	trap_vec, trap_vec + 1\n"
	"	.endr\n"
	"trap_common:\n"
	"	pushq	%rax\n"
	"	pushq	%rbx\n"
	"	pushq	%rcx\n"
	"	pushq	%rdx\n"
	"	pushq	%rsi\n"
	"	pushq	%rdi\n"
	"	pushq	%rbp\n"
	"	pushq	%r8\n"
	"	pushq	%r9\n"
	"	pushq	%r10\n"
	"	pushq	%r11\n"
	"	pushq	%r12\n"
	"	pushq	%r13\n"
	"	pushq	%r14\n"
	"	pushq	%r15\n"
	"	movq	%rsp, %rdi\n"
	"	cld\n"
	"	call	trap_dispatch\n"
	"	popq	%r15\n"
	"	popq	%r14\n"
	"	popq	%r13\n"
	"	popq	%r12\n"
	"	popq	%r11\n"
	"	popq	%r10\n"
	"	popq	%r9\n"
	"	popq	%r8\n"
	"	popq	%rbp\n"
	"	popq	%rdi\n"
	"	popq	%rsi\n"
	"	popq	%rdx\n"
	"	popq	%rcx\n"
	"	popq	%rbx\n"
	"	popq	%rax\n"
	"	addq	$16, %rsp\n"		/* vector, error code */
	"	iretq\n");

extern const char trap_stubs[];
void trap_dispatch(struct trap_frame *f);

struct idt_gate {
	u16 off0, sel;
	u8 ist, attr;
	u16 off1;
	u32 off2, zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_handler_fn trap_handler;

void trap_dispatch(struct trap_frame *f)
{
	if (trap_handler) {
		trap_handler(f);
		return;
	}
	serial_puts("trap: vector ");
	serial_dec((u32)f->vector);
	serial_puts(" with no handler\n");
	poweroff();
}

void idt_install(trap_handler_fn h)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) d = { sizeof(idt) - 1, (u64)(unsigned long)idt };
	u16 cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	trap_handler = h;
	for (int i = 0; i < 256; i++) {
		u64 a = (u64)(unsigned long)trap_stubs + (u64)i * 16;

		idt[i] = (struct idt_gate){
			.off0 = (u16)a, .sel = cs, .ist = 0,
			.attr = 0x8E,	/* present, DPL 0, 64-bit interrupt gate */
			.off1 = (u16)(a >> 16), .off2 = (u32)(a >> 32), .zero = 0,
		};
	}
	__asm__ volatile("lidt %0" :: "m"(d) : "memory");
}
#endif
