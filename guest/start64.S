/* Entry for ELF64 guests: khyve enters in long mode, paging on, RSP set. */
	.code64
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	cld
	movq	$0x9F000, %rsp
	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	xorl	%eax, %eax
	rep stosb
	call	main
1:	cli
	hlt
	jmp	1b
	.section .note.GNU-stack, "", @progbits
