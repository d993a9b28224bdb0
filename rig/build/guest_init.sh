#!/bin/busybox sh
# shellcheck shell=dash
# /init of the rig's initramfs: mount what the benchmark and the gates read, then
# print the ready marker with the running kernel's release for the rig to check.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
# tracefs at its own place: Linux 7.x no longer mounts it under debugfs by default.
mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs tmpfs /tmp
echo "SMMU-RIG-READY release=$(uname -r)"
export PS1='rig# '
exec setsid cttyhack sh
