"""report.html: one self-contained page per run with everything a reviewer asks for.

Configuration and gate evidence come from run.json, the numbers from the same tables as
summary.md, the plots are the PNGs beside it (relative links, so the folder can be moved
or published as it is). Every piece of text from a file goes through html.escape.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from rig.boot.hardware_time import HardwareTiming
from rig.report import hardware_report, seed, stats, summary, tables
from rig.run import correctness, records
from rig.sizes import format_size

COMPARISON = "comparison.png"
IMAGES = (
    ("latency.png", "Latency vs size per variant (bars: min-max over boots)"),
    ("improvement.png", "% improvement vs size (bars: 95% CI over boots)"),
    (COMPARISON, "Unmap % improvement: the rig (emulated) beside the seed (hardware)"),
)
NO_RUN_JSON = "run.json not found"

# Counts images that really decoded, so a headless browser test can tell a page whose
# pictures load from one with broken links.
_IMAGE_CHECK = """<script>
window.addEventListener("load", function () {
  var images = document.images, loaded = 0;
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) { loaded++; }
  }
  document.body.setAttribute("data-images-ok", loaded + "/" + images.length);
});
</script>"""

_STYLE = """<style>
body { font-family: sans-serif; margin: 1.5em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
th { background: #f2f2f2; }
td.left, th.left { text-align: left; }
td.improved { background: #d8f0d8; font-weight: bold; }
td.regressed { background: #f6d4d4; font-weight: bold; }
td.inconclusive { background: #fbeec8; }
td.pass { color: #1a6b1a; font-weight: bold; }
td.fail { color: #a31515; font-weight: bold; }
pre { margin: 0; font-size: 0.85em; white-space: pre-wrap; text-align: left; }
.note { background: #f4f6fa; border-left: 4px solid #8aa; padding: 0.5em 0.8em; }
.warning { background: #fff4e0; border-left: 4px solid #e0a030; padding: 0.5em 0.8em; }
.missing { color: #a31515; }
img { max-width: 100%; border: 1px solid #ddd; }
ul.headline { font-size: 1.1em; font-weight: bold; padding-left: 1.2em; }
.beside { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.beside figure { flex: 1 1 40em; margin: 0; }
.beside h2 { margin-top: 0; }
</style>"""

_VERDICT_CLASS = {
    stats.IMPROVED: "improved",
    stats.REGRESSED: "regressed",
    stats.NO_CHANGE: "no-change",
    stats.INCONCLUSIVE: "inconclusive",
    correctness.FAILED: "regressed",
}


@dataclass(frozen=True)
class Inputs:
    """What the page is made of; everything but `frame` may be absent for older runs."""

    frame: pd.DataFrame
    run_info: dict[str, Any] | None
    counters: pd.DataFrame | None
    criteria: stats.Criteria
    seed_table: str
    run_dir: Path
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Said first on the page: an incomplete run's note (summary.incomplete_note).
    title_note: str = ""
    # A run on a timed profile: its timing and hardware-equivalent latencies against the
    # seed's (hardware_report.hardware_comparison).
    hardware: tuple[HardwareTiming, pd.DataFrame] | None = None


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _markdown_bold(text: str) -> str:
    """Escape, then turn summary.md's **bold** into <strong>, its only markup."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", esc(text))


def render_table(table: tables.Table) -> str:
    def cell_class(index: int, text: str) -> str:
        classes = []
        if index in table.left_columns:
            classes.append("left")
        if index in table.verdict_columns:
            classes.append(_VERDICT_CLASS.get(text, ""))
        joined = " ".join(c for c in classes if c)
        return f' class="{joined}"' if joined else ""

    head = "".join(f"<th{cell_class(i, '')}>{esc(h)}</th>" for i, h in enumerate(table.header))
    rows = [
        "<tr>"
        + "".join(f"<td{cell_class(i, c)}>{esc(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in table.rows
    ]
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _key_values(rows: list[tuple[str, object]]) -> str:
    body = "\n".join(
        f'<tr><th class="left">{esc(key)}</th><td class="left">{esc(value)}</td></tr>'
        for key, value in rows
    )
    return f"<table>\n<tbody>\n{body}\n</tbody>\n</table>"


def _flat(value: object) -> str:
    """A nested run.json value as one readable line."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_flat(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list | tuple):
        return ", ".join(_flat(v) for v in value) if value else "none"
    return "unknown" if value is None else str(value)


def _link(path: object, label: str) -> str:
    """A link to a file of the run folder; paths that leave it are shown, not linked."""
    text = str(path)
    pure = PurePosixPath(text)
    if not text or pure.is_absolute() or ".." in pure.parts or ":" in text:
        return esc(text)
    return f'<a href="{esc(urllib.parse.quote(text))}">{esc(label)}</a>'


def configuration(run_info: dict[str, Any] | None, criteria: stats.Criteria) -> str:
    if run_info is None:
        return (
            f'<p class="missing">{NO_RUN_JSON}: the configuration, the gates, the console '
            "logs and the phase timings of this run are not known to this report.</p>"
        )
    profile = run_info.get("profile") or {}
    mode = run_info.get("mode") or {}
    kernel = run_info.get("kernel") or {}
    qemu = run_info.get("qemu") or {}
    rows: list[tuple[str, object]] = [
        ("run", run_info.get("run_id", "unknown")),
        ("created", run_info.get("created", "unknown")),
        ("rig version", run_info.get("rig_version", "unknown")),
        ("profile", f"{profile.get('name', 'unknown')}: {profile.get('description', '')}"),
        ("profile details", _flat({k: v for k, v in profile.items() if k != "description"})),
        ("timing mode", f"{mode.get('name', 'unknown')}: {mode.get('description', '')}"),
        ("settings", _flat(run_info.get("settings"))),
        ("kernel version", kernel.get("version", "unknown")),
        ("kernel source", _flat(kernel.get("source"))),
        ("config fragment sha256", kernel.get("config_fragment_sha256", "unknown")),
        ("support patches", _flat(kernel.get("support_patches") or [])),
        ("toolchain", kernel.get("toolchain", "unknown")),
        ("QEMU", qemu.get("version", "unknown")),
        ("device tree edits", _flat(qemu.get("dtb_edits") or [])),
        ("host", _flat(run_info.get("host"))),
        ("verdict threshold", f"{criteria.threshold_pct:g}%"),
    ]
    variant_rows = [
        (
            v.get("name", "?"),
            v.get("release", "?"),
            _patches_cell(v),
            v.get("patch_sha256") or "",
            "cached" if v.get("cached") else f"built in {v.get('build_seconds', '?')} s",
        )
        for v in run_info.get("variants") or []
    ]
    variants = tables.Table(
        ("variant", "kernel release", "patches, in order", "patch sha256", "build"),
        tuple(variant_rows),
        left_columns=frozenset(range(5)),
    )
    link = _link("run.json", "run.json")
    return (
        _key_values(rows)
        + "\n<h3>Variants</h3>\n"
        + render_table(variants)
        + f"\n<p>Everything else (every boot's QEMU argv included): {link}.</p>"
    )


def _patches_cell(variant: dict[str, Any]) -> str:
    listed = records.recorded_patches(variant)
    if not listed:
        return "none (the tree as it is)"
    return " + ".join(
        f"{'revert:' if p.get('reverse') else ''}{p.get('file', '?')}" for p in listed
    )


def boots(run_info: dict[str, Any] | None, run_dir: Path) -> str:
    if run_info is None:
        return f'<p class="missing">{NO_RUN_JSON}: no gate results or console logs.</p>'
    listed = run_info.get("boots") or []
    boot_rows, gate_rows = [], []
    for boot in listed:
        name = f"{boot.get('order', '?')}: {boot.get('variant', '?')} " + (
            "checks" if boot.get("kind") == "checks" else f"r{boot.get('repeat', '?')}"
        )
        gates = boot.get("gates")
        # None: the run stopped before this boot was reached.
        passed = (
            "not run"
            if gates is None
            else f"{sum(bool(g.get('passed')) for g in gates)}/{len(gates)}"
        )
        log = boot.get("console_log") or ""
        links = _link(log, "console") if log else "none"
        dmesg = str(PurePosixPath(log).with_suffix(".dmesg")) if log else ""
        if dmesg and (run_dir / dmesg).is_file():
            links += " " + _link(dmesg, "dmesg")
        ready = boot.get("boot_to_ready_s")
        boot_rows.append(
            "<tr>"
            f'<td class="left">{esc(name)}</td>'
            f'<td class="left">{esc(boot.get("expected_release", "?"))}</td>'
            f"<td>{esc('n/a' if ready is None else f'{ready} s')}</td>"
            f"<td>{esc(passed)}</td>"
            f'<td class="left">{links}</td>'
            "</tr>"
        )
        for gate in gates or []:
            ok = bool(gate.get("passed"))
            evidence = "\n".join(str(line) for line in gate.get("evidence") or [])
            gate_rows.append(
                "<tr>"
                f'<td class="left">{esc(name)}</td>'
                f'<td class="left">{esc(gate.get("name", "?"))}</td>'
                f'<td class="{"pass" if ok else "fail"}">{"PASS" if ok else "FAIL"}</td>'
                f'<td class="left">{esc(gate.get("detail", ""))}</td>'
                f"<td><pre>{esc(evidence)}</pre></td>"
                "</tr>"
            )
    head_boots = "".join(
        f"<th>{h}</th>" for h in ("boot", "kernel release", "to ready", "gates passed", "logs")
    )
    head_gates = "".join(f"<th>{h}</th>" for h in ("boot", "gate", "result", "detail", "evidence"))
    return (
        f"<table>\n<thead><tr>{head_boots}</tr></thead>\n<tbody>\n"
        + "\n".join(boot_rows)
        + "\n</tbody>\n</table>\n<h3>Gates, with the log lines they rest on</h3>\n"
        + f"<table>\n<thead><tr>{head_gates}</tr></thead>\n<tbody>\n"
        + "\n".join(gate_rows)
        + "\n</tbody>\n</table>"
    )


def timings(run_info: dict[str, Any] | None) -> str:
    if run_info is None:
        return f'<p class="missing">{NO_RUN_JSON}: no phase timings.</p>'
    phases = run_info.get("phase_seconds") or {}
    rows = tuple((str(name), f"{seconds} s") for name, seconds in phases.items())
    return render_table(tables.Table(("phase", "seconds"), rows, left_columns=frozenset({0})))


def seed_reference(name: str) -> str:
    reference = seed.table(seed.load(), name)
    rows = tuple(
        (
            format_size(int(row["size_bytes"])),
            f"{float(row['without_us']):g}",
            f"{float(row['with_us']):g}",
            tables.format_change(float(row["improvement_pct"])),
        )
        for row in reference.to_dict("records")
    )
    table = tables.Table(("Size", "without (us)", "with (us)", "% improvement"), rows)
    return (
        f"<p>{esc(seed.TABLES[name])}; hardware: {esc(seed.HARDWARE)}. Numbers as posted in "
        "the May 2024 RFC thread; results/reference/ has them and their source.</p>\n"
        + render_table(table)
    )


def hardware_section(inputs: Inputs) -> list[str]:
    if inputs.hardware is None:
        return []
    timing, compared = inputs.hardware
    intro = hardware_report.intro(timing, seed.TABLES[inputs.seed_table])
    return [
        f"<h2>{esc(hardware_report.TITLE)}</h2>",
        f"<p>{esc(intro)}</p>",
        render_table(hardware_report.table(compared)),
    ]


def _metric_section(
    inputs: Inputs, metric: str, shown: tuple[tables.Table, pd.DataFrame]
) -> list[str]:
    table, compared = shown
    parts = [f"<h2>{esc(summary.METRICS[metric])} latency (us)</h2>", render_table(table)]
    parts += [f"<p>Verdicts: {esc(line)}.</p>" for line in tables.verdict_digest(compared)]
    for warning in stats.noise_warnings(inputs.frame, compared, metric, inputs.criteria):
        parts.append(
            f'<p class="warning"><strong>Warning</strong> ({esc(metric)}): {esc(warning)}.</p>'
        )
    return parts


def _figure(name: str, caption: str) -> str:
    return (
        f'<figure><img src="{esc(name)}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def results(inputs: Inputs) -> list[str]:
    """The answer first: the headline per variant, the comparison plot beside the seed,
    the unmap table (then the hardware-time section, where the run has one), correctness,
    the work counted and the map table."""
    failed = summary.failed_variants(inputs.verdicts)
    shown = {
        metric: summary.display_table(inputs.frame, metric, inputs.criteria, failed)
        for metric in summary.METRICS
    }
    complete = not inputs.title_note
    said = summary.headlines(inputs.frame, shown["unmap"][1], inputs.verdicts, complete)
    note = summary.revert_note(inputs.frame)
    parts = [
        '<ul class="headline">',
        *(f"<li>{esc(line)}</li>" for line in said),
        "</ul>",
        *([f"<p>{_markdown_bold(note.replace('`', ''))}</p>"] if note else []),
        '<div class="beside">',
        _figure(COMPARISON, dict(IMAGES)[COMPARISON]),
        "<div>",
        "<h2>Seed reference (hardware)</h2>",
        seed_reference(inputs.seed_table),
        "</div>",
        "</div>",
        "<h2>Results</h2>",
        f"<p>{_markdown_bold(summary.how_to_read(inputs.frame, inputs.criteria))}</p>",
        *_metric_section(inputs, "unmap", shown["unmap"]),
        *hardware_section(inputs),
    ]
    if inputs.verdicts:
        parts += [
            "<h2>Correctness</h2>",
            f"<p>{esc(summary.CORRECTNESS_NOTE)}</p>",
            render_table(summary.correctness_table(inputs.verdicts)),
        ]
    if inputs.counters is not None:
        counted = tables.counters_table(inputs.counters, summary.variants(inputs.frame))
        parts += ["<h2>Work counted per unmap</h2>", f"<p>{esc(summary.COUNTERS_NOTE)}</p>"]
        parts.append(render_table(counted))
    parts += _metric_section(inputs, "map", shown["map"])
    return parts


def render(inputs: Inputs) -> str:
    frame = inputs.frame
    mode = str(frame["mode"].iloc[0])
    title = summary.title(frame)
    note = summary.ICOUNT_NOTE if mode == "icount" else summary.WALLCLOCK_NOTE
    body = [
        f"<h1>{esc(title)}</h1>",
        *(
            [f'<p class="warning">{_markdown_bold(inputs.title_note)}</p>']
            if inputs.title_note
            else []
        ),
        *results(inputs),
        "<h2>Plots</h2>",
        *(_figure(name, caption) for name, caption in IMAGES if name != COMPARISON),
        "<h2>Configuration</h2>",
        f'<p class="note">{esc(note)}</p>',
        configuration(inputs.run_info, inputs.criteria),
        "<h2>Boots and gates</h2>",
        boots(inputs.run_info, inputs.run_dir),
        "<h2>Phase timings</h2>",
        timings(inputs.run_info),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{esc(title)}</title>",
            _STYLE,
            _IMAGE_CHECK,
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )
