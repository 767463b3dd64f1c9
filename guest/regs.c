/* Register and memory access through khyvectl.  Prints, in this order:
 *	regs: pattern at=0x0000000000300000 len=4096
 *	regs: moved-at=0x<address of regs_moved>
 *	regs: ready rip=0x<address of regs_spin>
 * (all addresses 0x + 16 lower-case hex digits), then spins at regs_spin
 * ("jmp regs_spin") with interrupts off and these values in its registers:
 *	rax 0x0123456789abcdef	rbx 0x1111222233334444	rcx 0xcccc0000cccc0000
 *	rdx 0xdddd0000dddd0000	rsi 0x5151515151515151	rdi 0xd1d1d1d1d1d1d1d1
 *	rbp 0xb0b0b0b0b0b0b0b0	rsp 0x000000000009f000
 *	r8  0x0808080808080808	r9  0x0909090909090909	r10 0x1010101010101010
 *	r11 0x1111111111111111	r12 0x5555666677778888	r13 0x1313131313131313
 *	r14 0x1414141414141414	r15 0xfedcba9876543210
 * All but rax, rdx and rsi are loaded before the "ready" line goes out
 * (the line is written by the same asm, using only those three), and
 * those three two instructions after its last byte.
 * The 4096 bytes at 0x300000 (3 MiB, past the ELF at 1 MiB; the page is
 * identity mapped) hold byte i = (i * 7 + 3) & 0xff.
 * Setting RIP to regs_moved (e.g. through the control socket) prints
 *	regs: moved rbx=0x<rbx at that moment, 16 hex digits>
 * and powers off (exit 1); regs_moved does not depend on rsp (it loads its
 * own, 0x9f000), so a test may change any register first. */
#include "lib.h"

#define PATTERN_ADDR	0x300000UL
#define PATTERN_LEN	4096

extern const char regs_spin[], regs_moved[];
void regs_enter(const char *line) __attribute__((noreturn));
void regs_report_moved(u64 rbx) __attribute__((noreturn));

__asm__(
	"	.text\n"
	"	.globl	regs_enter, regs_spin, regs_moved\n"
	"	.p2align 4\n"
	"regs_enter:\n"			/* rdi = NUL-terminated ready line */
	"	cli\n"
	"	cld\n"
	"	movq	%rdi, %rsi\n"
	"	movq	$0x000000000009f000, %rsp\n"
	"	movq	$0x1111222233334444, %rbx\n"
	"	movq	$0xcccc0000cccc0000, %rcx\n"
	"	movq	$0xd1d1d1d1d1d1d1d1, %rdi\n"
	"	movq	$0xb0b0b0b0b0b0b0b0, %rbp\n"
	"	movq	$0x0808080808080808, %r8\n"
	"	movq	$0x0909090909090909, %r9\n"
	"	movq	$0x1010101010101010, %r10\n"
	"	movq	$0x1111111111111111, %r11\n"
	"	movq	$0x5555666677778888, %r12\n"
	"	movq	$0x1313131313131313, %r13\n"
	"	movq	$0x1414141414141414, %r14\n"
	"	movq	$0xfedcba9876543210, %r15\n"
	"	movw	$0x3f8, %dx\n"		/* COM1 THR: always ready in khyve */
	"1:	lodsb\n"
	"	testb	%al, %al\n"
	"	jz	2f\n"
	"	outb	%al, %dx\n"
	"	jmp	1b\n"
	"2:	movq	$0x0123456789abcdef, %rax\n"
	"	movq	$0xdddd0000dddd0000, %rdx\n"
	"	movq	$0x5151515151515151, %rsi\n"
	"regs_spin:\n"
	"	jmp	regs_spin\n"
	"	.p2align 4\n"
	"regs_moved:\n"
	"	movq	$0x9f000, %rsp\n"
	"	movq	%rbx, %rdi\n"
	"	call	regs_report_moved\n"
	"	ud2\n");

void regs_report_moved(u64 rbx)
{
	serial_puts("regs: moved rbx=0x");
	serial_hex64(rbx);
	serial_puts("\n");
	poweroff();
}

static char *put_hex64(char *p, u64 v)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 60; i >= 0; i -= 4)
		*p++ = hex[(v >> i) & 0xf];
	return p;
}

int main(void)
{
	static char line[64];
	volatile u8 *pat = (volatile u8 *)PATTERN_ADDR;
	const char *s;
	char *p = line;

	for (u32 i = 0; i < PATTERN_LEN; i++)
		pat[i] = (u8)(i * 7 + 3);
	serial_puts("regs: pattern at=0x");
	serial_hex64(PATTERN_ADDR);
	serial_puts(" len=4096\n");
	serial_puts("regs: moved-at=0x");
	serial_hex64((u64)(unsigned long)regs_moved);
	serial_puts("\n");

	for (s = "regs: ready rip=0x"; *s; s++)
		*p++ = *s;
	p = put_hex64(p, (u64)(unsigned long)regs_spin);
	*p++ = '\r';
	*p++ = '\n';
	*p = 0;
	regs_enter(line);
}
