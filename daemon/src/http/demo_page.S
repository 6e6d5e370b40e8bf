/* f8d's demo page (demo.html) built into the binary as bytes: f8d_demo_page[0 ..
 * f8d_demo_page_end). The path is the repository's: make runs from its root. */
    .section .rodata
    .global f8d_demo_page
    .type f8d_demo_page, @object
f8d_demo_page:
    .incbin "daemon/src/http/demo.html"
    .global f8d_demo_page_end
    .type f8d_demo_page_end, @object
f8d_demo_page_end:
    .byte 0
    .section .note.GNU-stack, "", @progbits
