# The devices the rig's QEMU is built with: what its profiles and tests boot, nothing
# more. QEMU is configured with --without-default-devices and this file as its
# aarch64-softmmu device configuration (rig.build.qemu_devices), so Kconfig's "default
# y" and "imply" add nothing; every device below is asked for by name.
#
# A "# -machine NAME" or "# -device NAME" line names what the option before it builds.
# A profile that names a machine or device this file does not is refused when the run
# is planned (rig.build.qemu_devices.check). Changing this file changes the QEMU build
# key, so the next run rebuilds QEMU.

# -machine virt
# The board every profile boots. It selects its own parts: the GIC, the PL011 UART,
# the PCIe host bridge, fw_cfg, the SMMUv3 and (the upstream series) the MMU-500.
CONFIG_ARM_VIRT=y
# virt selects ACPI_CXL, whose table builder calls into CXL's host code: without CXL
# (which depends on the PCIe expander bridge) and the CXL memory device it calls the
# link fails, and whose root port needs the PCIe port's base type (QEMU 10.2).
CONFIG_PCIE_PORT=y
CONFIG_PXB=y
CONFIG_CXL=y
CONFIG_CXL_MEM_DEVICE=y

# -device pci-testdev
# -device pci-dma-probe
# Every profile's benchmark device; the rig series builds its probe device with it.
CONFIG_PCI_TESTDEV=y

# -device virtio-blk-pci
# The disk of the integrity check and of the stress mode's iothread.
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=y

# -device edu
# The device the context-fault test points at an unmapped address.
CONFIG_EDU=y
