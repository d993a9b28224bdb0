"""smmu-rig: A/B benchmarks of Linux IOMMU page-table patches on QEMU's emulated Arm SMMU.

The packages follow the data: build -> boot -> run -> report, with calibration and
nightly beside the report and the command line (cli) on top; the root holds the shared
basics (errors, paths, hashing, locking, progress, sizes, schema). This module,
``rig.paths`` and ``rig.build.prereqs`` (with ``rig/build/__init__.py``) use the standard
library only: they run before the virtualenv exists.
"""

__version__ = "0.1.0"
