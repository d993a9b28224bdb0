"""Hardware time under icount: what a profile charges for the work TCG does for free, and
the scale from instruction-counted guest time to hardware-equivalent microseconds.

Under icount each guest instruction is 2**shift ns of guest time, while a data-cache
maintenance, the barrier that waits for it, an access to the SMMU's registers and a TLB
sync cost the real part far more than one instruction. A profile's ``timing`` block
states, in hardware nanoseconds, what one instruction stands for and what each of those
operations costs; the rig turns the costs into the QEMU properties that charge them (in
guest nanoseconds, so that guest time divided by the scale is hardware time). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rig.errors import UserError

# Cost name -> the QEMU property (-global) that charges it, in guest ns.
QEMU_PROPERTIES = {
    "dc_line_ns": "arm-cpu.dc-poc-line-ns",
    "dsb_poc_ns": "arm-cpu.dsb-poc-ns",
    "reg_access_ns": "arm-mmu500.reg-access-ns",
    "tlb_sync_ns": "arm-mmu500.tlb-sync-ns",
}
COST_NAMES = tuple(QEMU_PROPERTIES)
# What each cost is, in a report's words.
COST_MEANINGS = {
    "instruction_ns": "one guest instruction",
    "dc_line_ns": "a data-cache line cleaned or invalidated to the PoC by VA",
    "dsb_poc_ns": "a DSB that waits for cache maintenance to reach the PoC",
    "reg_access_ns": "a read or write of an SMMU register",
    "tlb_sync_ns": "a TLB sync, from TLBSYNC until TLBSTATUS reads idle",
}
GUEST_NS_MAX = 2**32 - 1  # the QEMU properties are uint32


@dataclass(frozen=True)
class HardwareTiming:
    """Hardware nanoseconds: one guest instruction, and each costed operation."""

    instruction_ns: float
    dc_line_ns: float = 0.0
    dsb_poc_ns: float = 0.0
    reg_access_ns: float = 0.0
    tlb_sync_ns: float = 0.0
    # What the numbers come from: a calibration's name, or "by hand".
    calibration: str = "by hand"
    # The calibration's fit, a line per reference row (rig calibrate writes them).
    residuals: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.instruction_ns > 0:
            raise UserError(
                f"timing: instruction_ns={self.instruction_ns} must be above 0 "
                "(hardware ns one guest instruction stands for)"
            )
        for name in COST_NAMES:
            if getattr(self, name) < 0:
                raise UserError(f"timing: {name}={getattr(self, name)} must be 0 or more (ns)")

    def scale(self, icount_shift: int) -> float:
        """Hardware us per guest us: one instruction is 2**shift guest ns."""
        return float(self.instruction_ns) / float(2**icount_shift)


def guest_ns(hardware_ns: float, timing: HardwareTiming, icount_shift: int) -> int:
    """A hardware cost in the guest ns QEMU charges, so that guest time x scale is it."""
    value = round(hardware_ns / timing.scale(icount_shift))
    if value > GUEST_NS_MAX:
        raise UserError(
            f"timing: {hardware_ns} ns is {value} guest ns at instruction_ns="
            f"{timing.instruction_ns}, more than a QEMU property holds ({GUEST_NS_MAX})"
        )
    return value


def qemu_globals(timing: HardwareTiming | None, icount_shift: int | None) -> tuple[str, ...]:
    """The -global settings that charge the costs. Nothing without icount (QEMU charges
    time only under icount) or without a timing block; a zero cost is left at its
    default, so a profile with all costs zero runs exactly as one without them."""
    if timing is None or icount_shift is None:
        return ()
    settings = []
    for name, prop in QEMU_PROPERTIES.items():
        value = guest_ns(getattr(timing, name), timing, icount_shift)
        if value:
            settings.append(f"{prop}={value}")
    return tuple(settings)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(HardwareTiming))
