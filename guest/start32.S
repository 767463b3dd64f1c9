/* Entry for ELF32 guests: khyve enters in flat 32-bit protected mode. */
	.code32
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	cld
	movl	$0x9F000, %esp
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	call	main
1:	cli
	hlt
	jmp	1b
	.section .note.GNU-stack, "", @progbits
