"""Everything made before a boot: Debian's archive and sources, user trees, patches and
their application, the kernel config and build, QEMU's source and build, the guest image,
and the host prerequisites. Offers built kernels, a built QEMU and an initramfs."""
