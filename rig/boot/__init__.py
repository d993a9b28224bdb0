"""One boot of one kernel under QEMU: the machine profile and its argv, the device tree,
the console, the gates, the benchmark, counters, DMA integrity and probe. Offers a
gated guest and what it measured."""
