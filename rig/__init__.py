"""smmu-rig: A/B benchmarks of Linux IOMMU page-table patches on QEMU's emulated Arm SMMU.

This module and ``rig.paths``/``rig.prereqs`` use the standard library only: they run
before the virtualenv exists.
"""

__version__ = "0.1.0"
