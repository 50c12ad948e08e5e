"""The report of a benchmark run: a summary for the terminal, report.json, and a self-contained
report.html (inline CSS and SVG, no script, nothing fetched) with every trajectory rendered
as a page of its own.

It reads the run's results.json: {"dataset", "model", ..., "instances": {id: record}} as the
runner writes it (or a plain object keyed by instance_id). Of each record it uses
`instance_id`, `repo` (else derived from the id), `status` (how the agent's run ended),
`eval_status` or `evaluation.status` (resolved / unresolved / error / empty_patch), `cost`,
`steps`, `seconds` or `timing.total`, `trajectory` (a path relative to the run's directory),
`patch_empty` or `patch_files`, and `log`.

report.json starts with the official harness's run report keys (`resolved_ids`,
`unresolved_ids`, `error_ids`, `empty_patch_ids`, `completed_ids`, ..., `schema_version` 2),
so it compares with the field's; patchsmith's own figures follow.
"""

from __future__ import annotations

import functools
import html
import json
import re
import statistics
import textwrap
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

OUTCOMES = ("resolved", "unresolved", "error", "empty_patch", "not_evaluated")
LABELS = {
    "resolved": "resolved",
    "unresolved": "unresolved",
    "error": "error",
    "empty_patch": "empty patch",
    "not_evaluated": "not evaluated",
}
COLORS = {
    "resolved": "#1a7f37",
    "unresolved": "#cf222e",
    "error": "#9a6700",
    "empty_patch": "#6e7781",
    "not_evaluated": "#afb8c1",
}
RICH_STYLES = {"resolved": "green", "unresolved": "red", "error": "yellow", "empty_patch": "dim"}
SHORT_LABELS = {**LABELS, "empty_patch": "empty", "not_evaluated": "not run"}
REPORT_JSON, REPORT_HTML, TRAJ_PAGES = "report.json", "report.html", "trajs"
OBSERVATION_LIMIT = 20_000  # characters of one observation shown on a trajectory page


@dataclass
class Row:
    """One instance, as the report shows it."""

    instance_id: str
    repo: str
    outcome: str  # one of OUTCOMES
    agent_status: str | None
    cost: float
    steps: int
    seconds: float
    trajectory: str | None  # relative to the run's directory
    log: str | None
    message: str
    evaluator: str | None = None  # which evaluator graded (built-in or swebench's script)
    patch_applied: bool | None = None  # False: the evaluator could not apply the patch


def repo_of(instance_id: str) -> str:
    """SWE-bench ids are owner__name-NUMBER."""
    match = re.fullmatch(r"(.+?)__(.+)-\d+", instance_id)
    return f"{match[1]}/{match[2]}" if match else "(unknown)"


def read_rows(output_dir: Path, results_file: str = "results.json") -> tuple[dict, list[Row]]:
    """The run's header (dataset, model...) and one Row per instance."""
    path = Path(output_dir) / results_file
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a results file (expected a JSON object)")
    records = data.get("instances") if isinstance(data.get("instances"), dict) else data
    header = {k: v for k, v in data.items() if k != "instances"} if records is not data else {}
    rows = [_row(str(key), record) for key, record in records.items() if isinstance(record, dict)]
    return header, rows


def _row(key: str, record: dict[str, Any]) -> Row:
    iid = str(record.get("instance_id") or key)
    evaluation = record.get("evaluation") if isinstance(record.get("evaluation"), dict) else {}
    outcome = record.get("eval_status") or evaluation.get("status")
    empty = record.get("patch_empty")
    if empty is None and isinstance(record.get("patch_files"), list):
        empty = not record["patch_files"]
    if outcome not in OUTCOMES:
        outcome = "empty_patch" if empty else "not_evaluated"
    timing = record.get("timing") if isinstance(record.get("timing"), dict) else {}
    return Row(
        instance_id=iid,
        repo=str(record.get("repo") or repo_of(iid)),
        outcome=outcome,
        agent_status=record.get("status"),
        cost=float(record.get("cost") or 0.0),
        steps=int(record.get("steps") or 0),
        seconds=float(record.get("seconds") or timing.get("total") or 0.0),
        trajectory=record.get("trajectory") or None,
        log=record.get("log") or None,
        message=str(evaluation.get("message") or record.get("message") or ""),
        evaluator=evaluation.get("evaluator"),
        patch_applied=(
            evaluation["applied_with"] is not None
            if outcome == "unresolved" and "applied_with" in evaluation
            else None
        ),
    )


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"total": 0.0, "mean": 0.0, "median": 0.0, "max": 0.0}
    return {
        "total": round(sum(values), 6),
        "mean": round(statistics.fmean(values), 6),
        "median": round(statistics.median(values), 6),
        "max": round(max(values), 6),
    }


def summarize(rows: list[Row]) -> dict[str, Any]:
    """Counts of each outcome, overall and per repository; cost, steps and time figures."""
    outcomes = {o: sum(r.outcome == o for r in rows) for o in OUTCOMES}
    by_repo: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r.repo):
        repo = by_repo.setdefault(row.repo, {**dict.fromkeys(OUTCOMES, 0), "total": 0, "cost": 0.0})
        repo[row.outcome] += 1
        repo["total"] += 1
        repo["cost"] = round(repo["cost"] + row.cost, 6)
    agent_statuses: dict[str, int] = {}
    for row in rows:
        name = row.agent_status or "(none)"
        agent_statuses[name] = agent_statuses.get(name, 0) + 1
    return {
        "instances_total": len(rows),
        "outcomes": outcomes,
        "resolved_rate": round(outcomes["resolved"] / len(rows), 4) if rows else 0.0,
        "by_repo": by_repo,
        "agent_statuses": agent_statuses,
        "cost": _stats([r.cost for r in rows]),
        "steps": _stats([float(r.steps) for r in rows]),
        "seconds": _stats([r.seconds for r in rows]),
    }


def official_report(rows: list[Row]) -> dict[str, Any]:
    """The keys of the official harness's run report (schema_version 2), with its meaning:
    a prediction the evaluator could not apply is among the errors there (patchsmith's own
    outcome calls it unresolved), and an instance never evaluated is incomplete."""
    ids: dict[str, list[str]] = {
        key: [] for key in ("resolved", "unresolved", "error", "empty_patch", "incomplete")
    }
    for row in rows:
        if row.outcome == "not_evaluated":
            ids["incomplete"].append(row.instance_id)
        elif row.outcome == "unresolved" and row.patch_applied is False:
            ids["error"].append(row.instance_id)
        else:
            ids[row.outcome].append(row.instance_id)
    ids = {key: sorted(value) for key, value in ids.items()}
    completed = sorted(ids["resolved"] + ids["unresolved"])
    submitted = sorted(r.instance_id for r in rows if r.outcome != "not_evaluated")
    return {
        "total_instances": len(rows),
        "submitted_instances": len(submitted),
        "completed_instances": len(completed),
        "resolved_instances": len(ids["resolved"]),
        "unresolved_instances": len(ids["unresolved"]),
        "empty_patch_instances": len(ids["empty_patch"]),
        "error_instances": len(ids["error"]),
        "completed_ids": completed,
        "incomplete_ids": ids["incomplete"],
        "empty_patch_ids": ids["empty_patch"],
        "submitted_ids": submitted,
        "resolved_ids": ids["resolved"],
        "unresolved_ids": ids["unresolved"],
        "error_ids": ids["error"],
        "schema_version": 2,
    }


def build_report(
    output_dir: Path, dataset_name: str, results_file: str = "results.json"
) -> dict[str, Any]:
    header, rows = read_rows(output_dir, results_file)
    evaluators: dict[str, int] = {}
    for row in rows:
        if row.evaluator:
            evaluators[row.evaluator] = evaluators.get(row.evaluator, 0) + 1
    return {
        **official_report(rows),
        "dataset": dataset_name or header.get("dataset") or "",
        "model": header.get("model") or "",
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "evaluators": evaluators,  # which evaluator graded how many instances
        **summarize(rows),
        "instances": [asdict(row) for row in rows],
    }


def write_report(output_dir: Path, dataset_name: str, results_file: str = "results.json") -> Path:
    """Write report.json, report.html and trajs/<id>.html in `output_dir`; the HTML's path.
    A ValueError when the results cannot be read."""
    output_dir = Path(output_dir)
    report = build_report(output_dir, dataset_name, results_file)
    links = {}
    for row in report["instances"]:
        page = _write_trajectory_page(output_dir, row)
        if page is not None:
            links[row["instance_id"]] = page
    _write(output_dir / REPORT_JSON, json.dumps(report, indent=1, ensure_ascii=False))
    target = output_dir / REPORT_HTML
    _write(target, render_html(report, links))
    return target


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# -- terminal ----------------------------------------------------------------------------


def summary_tables(report: dict[str, Any]) -> list[Any]:
    """Rich tables: outcomes per repository (the outcomes that occur, resolved always), then
    cost, steps and time."""
    from rich.table import Table

    shown = [o for o in OUTCOMES if o == "resolved" or report["outcomes"][o]]
    outcomes = Table(title=f"{report['dataset']}: outcomes per repository", title_justify="left")
    outcomes.add_column("repository", no_wrap=True)
    for outcome in shown:
        outcomes.add_column(SHORT_LABELS[outcome], justify="right", style=RICH_STYLES.get(outcome))
    outcomes.add_column("resolved %", justify="right")
    for repo, counts in report["by_repo"].items():
        outcomes.add_row(repo, *_counts(counts, shown))
    outcomes.add_section()
    outcomes.add_row("all", *_counts(report["outcomes"], shown), style="bold")

    figures = Table(title="cost, steps and time per instance", title_justify="left")
    for column in ("", "mean", "median", "max", "total"):
        figures.add_column(column, justify="right" if column else "left")
    for name, label, unit in (
        ("cost", "cost", "$"),
        ("steps", "steps", ""),
        ("seconds", "time", "s"),
    ):
        stats = report[name]
        figures.add_row(
            label, *(_figure(stats[k], unit) for k in ("mean", "median", "max", "total"))
        )
    return [outcomes, figures]


def _counts(counts: dict[str, int], shown: list[str]) -> list[str]:
    total = sum(counts[o] for o in OUTCOMES)
    share = f"{100 * counts['resolved'] / total:.1f}" if total else "-"
    return [str(counts[o]) for o in shown] + [share]


def _figure(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:.4f}"
    return f"{value:.1f}{unit}" if unit else f"{value:g}"


# -- HTML --------------------------------------------------------------------------------


@functools.cache  # the same for every page of a report
def _css() -> str:
    return resources.files("patchsmith.agent.bench").joinpath("report.css").read_text("utf-8")


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{_css()}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _e(value: Any) -> str:
    return html.escape(str(value))


def render_html(report: dict[str, Any], links: dict[str, str] | None = None) -> str:
    """report.html: the figures, a chart per repository, the distributions of cost and
    steps, and a table of instances linking their trajectory pages."""
    links = links or {}
    total = report["instances_total"]
    resolved = report["outcomes"]["resolved"]
    parts = [
        f"<h1>{_e(report['dataset'] or 'benchmark')} report</h1>",
        f'<p class="meta">model {_e(report["model"] or "-")} · {total} instances · '
        f"generated {_e(report['generated'])}</p>",
        _graded_by(report.get("evaluators") or {}),
        '<div class="cards">',
        f'<div class="card"><b>{resolved} / {total}</b>resolved '
        f"({100 * report['resolved_rate']:.1f}%)</div>",
    ]
    for outcome in OUTCOMES[1:]:
        parts.append(
            f'<div class="card"><b>{report["outcomes"][outcome]}</b>{LABELS[outcome]}</div>'
        )
    parts.append(
        f'<div class="card"><b>${report["cost"]["total"]:.2f}</b>cost '
        f"(mean ${report['cost']['mean']:.4f})</div>"
        f'<div class="card"><b>{report["steps"]["mean"]:.1f}</b>steps on average</div>'
        f'<div class="card"><b>{report["seconds"]["total"] / 60:.1f} min</b>total time</div>'
        "</div>"
    )
    parts.append("<h2>Results per repository</h2>")
    parts.append(repo_chart(report["by_repo"]))
    costs = [row["cost"] for row in report["instances"]]
    steps = [float(row["steps"]) for row in report["instances"]]
    if any(costs) or any(steps):
        parts.append('<h2>Distribution of cost and steps</h2><div class="charts">')
        if any(costs):
            parts.append(histogram(costs, "cost per instance ($)", "${:.3f}"))
        if any(steps):
            parts.append(histogram(steps, "steps per instance", "{:.0f}"))
        parts.append("</div>")
    parts.append("<h2>Instances</h2>")
    parts.append(_instances_table(report["instances"], links))
    return _page(f"{report['dataset']} report", "\n".join(parts))


def _graded_by(evaluators: dict[str, int]) -> str:
    if not evaluators:
        return ""
    shown = ", ".join(f"{_e(name)} ({count})" for name, count in sorted(evaluators.items()))
    return f'<p class="meta">graded by {shown}</p>'


def repo_chart(by_repo: dict[str, dict[str, Any]]) -> str:
    """Stacked horizontal bars, one per repository, a segment per outcome."""
    if not by_repo:
        return "<p>No instances.</p>"
    label_width, bar_width, row_height = 230, 560, 24
    widest = max(counts["total"] for counts in by_repo.values())
    height = row_height * len(by_repo) + 30
    out = [
        f'<svg width="{label_width + bar_width + 60}" height="{height}" role="img" '
        'aria-label="results per repository">'
    ]
    for i, (repo, counts) in enumerate(by_repo.items()):
        y = i * row_height
        out.append(f'<text x="{label_width - 6}" y="{y + 16}" text-anchor="end">{_e(repo)}</text>')
        x = float(label_width)
        for outcome in OUTCOMES:
            if counts[outcome]:
                width = bar_width * counts[outcome] / widest
                out.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="{row_height - 8}" '
                    f'fill="{COLORS[outcome]}"><title>{_e(repo)}: {counts[outcome]} '
                    f"{LABELS[outcome]}</title></rect>"
                )
                x += width
        out.append(
            f'<text x="{x + 6:.1f}" y="{y + 16}">{counts["resolved"]}/{counts["total"]}</text>'
        )
    y = row_height * len(by_repo) + 8
    x = label_width
    for outcome in OUTCOMES:
        out.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{COLORS[outcome]}"/>'
            f'<text x="{x + 14}" y="{y + 9}">{LABELS[outcome]}</text>'
        )
        x += 14 + 8 * len(LABELS[outcome]) + 14
    out.append("</svg>")
    return "".join(out)


def histogram(values: list[float], title: str, tick: str, bins: int = 10) -> str:
    """An SVG histogram of `values` in equal-width bins, labelled with `tick`."""
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    chart_w, chart_h, left, top = 360, 140, 30, 22
    tallest = max(counts)
    bar = chart_w / bins
    out = [
        f'<svg width="{chart_w + left + 20}" height="{chart_h + top + 36}" role="img" '
        f'aria-label="{_e(title)}"><text x="{left}" y="14">{_e(title)}</text>'
    ]
    for i, count in enumerate(counts):
        h = chart_h * count / tallest
        x, y = left + i * bar, top + chart_h - h
        start = low + i * width
        label = f"{tick.format(start)} – {tick.format(start + width)}: {count}"
        out.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
            f'fill="#0969da"><title>{_e(label)}</title></rect>'
        )
        if count:
            out.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{count}</text>'
            )
    base = top + chart_h
    out.append(
        f'<line x1="{left}" y1="{base}" x2="{left + chart_w}" y2="{base}" stroke="#59636e"/>'
    )
    out.append(f'<text x="{left}" y="{base + 16}">{_e(tick.format(low))}</text>')
    high_label = _e(tick.format(high))
    out.append(f'<text x="{left + chart_w}" y="{base + 16}" text-anchor="end">{high_label}</text>')
    out.append("</svg>")
    return "".join(out)


def _instances_table(rows: list[dict[str, Any]], links: dict[str, str]) -> str:
    out = [
        "<table><tr><th>instance</th><th>repository</th><th>result</th><th>agent</th>"
        '<th class="num">steps</th><th class="num">cost</th><th class="num">time</th>'
        "<th>log</th></tr>"
    ]
    for row in rows:
        iid = row["instance_id"]
        name = _e(iid)
        if iid in links:
            name = f'<a href="{_e(links[iid])}">{name}</a>'
        badge = (
            f'<span class="badge {row["outcome"]}" title="{_e(row["message"])}">'
            f"{LABELS[row['outcome']]}</span>"
        )
        log = f'<a href="{_e(row["log"])}">log</a>' if row["log"] else ""
        out.append(
            f"<tr><td>{name}</td><td>{_e(row['repo'])}</td><td>{badge}</td>"
            f'<td>{_e(row["agent_status"] or "-")}</td><td class="num">{row["steps"]}</td>'
            f'<td class="num">${row["cost"]:.4f}</td><td class="num">{row["seconds"]:.0f}s</td>'
            f"<td>{log}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


# -- trajectory pages --------------------------------------------------------------------


def _write_trajectory_page(output_dir: Path, row: dict[str, Any]) -> str | None:
    """Render the row's trajectory JSON as trajs/<id>.html; its link, or None without one."""
    if not row["trajectory"]:
        return None
    source = output_dir / row["trajectory"]
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    name = re.sub(r"[^\w.-]", "_", row["instance_id"]) + ".html"
    _write(output_dir / TRAJ_PAGES / name, render_trajectory(data, row["instance_id"]))
    return f"{TRAJ_PAGES}/{name}"


def render_trajectory(data: dict[str, Any], title: str, back: str = "../report.html") -> str:
    """One trajectory as a page: the issue, each step (thought, actions, observations), how
    it ended, and the diff."""
    parts = [
        f'<p><a href="{_e(back)}">← report</a></p><h1>{_e(title)}</h1>',
        f'<p class="meta">status {_e(data.get("status") or "-")}'
        + (f" ({_e(data['message'])})" if data.get("message") else "")
        + f" · {len(data.get('steps') or [])} steps · ${float(data.get('cost') or 0):.4f}</p>",
        "<h2>Issue</h2>",
        f"<pre>{_e(data.get('issue') or '')}</pre>",
        "<h2>Steps</h2>",
    ]
    for step in data.get("steps") or []:
        parts.append(_step_html(step))
    parts.append("<h2>Diff</h2>")
    parts.append(diff_html(data.get("diff") or ""))
    return _page(title, "\n".join(parts))


def _step_html(step: dict[str, Any]) -> str:
    response = step.get("response") or {}
    out = [
        f'<div class="step"><h3>step {_e(step.get("index", "?"))} '
        f'<span class="meta">${float(response.get("cost") or 0):.4f} · '
        f"{float(step.get('seconds') or 0):.1f}s</span></h3>"
    ]
    if (response.get("text") or "").strip():
        out.append(f'<div class="thought">{_e(response["text"].strip())}</div>')
    for action in step.get("actions") or []:
        shown = arguments_text(action.get("arguments") or {})
        observation = str(action.get("observation") or "")
        if len(observation) > OBSERVATION_LIMIT:
            cut = len(observation) - OBSERVATION_LIMIT
            observation = observation[:OBSERVATION_LIMIT] + f"\n[... {cut:,} more characters]"
        error = " obs-error" if action.get("is_error") else ""
        out.append(f'<p class="action">→ {_e(action.get("tool", "?"))}</p>')
        out.append(f'<pre class="cmd">{_e(shown)}</pre>')
        out.append(f'<pre class="observation{error}">{_e(observation)}</pre>')
    for note in (step.get("format_error"), step.get("warning")):
        if note:
            out.append(f'<p class="note">! {_e(note)}</p>')
    out.append("</div>")
    return "\n".join(out)


def arguments_text(arguments: dict[str, Any]) -> str:
    """A tool call's arguments as a person reads them: a command or code as it is, others as
    `name: value` with multi-line text (an edit's old and new code) below its name."""
    if set(arguments) in ({"command"}, {"code"}):
        return str(next(iter(arguments.values())))
    lines = []
    for name, value in arguments.items():
        if isinstance(value, str) and "\n" in value:
            lines.append(f"{name}:\n" + textwrap.indent(value, "    "))
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"{name}: {text}")
    return "\n".join(lines)


def diff_html(diff: str) -> str:
    if not diff.strip():
        return "<p>No changes.</p>"
    lines = []
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            lines.append(f'<span class="add">{_e(line)}</span>')
        elif line.startswith("-") and not line.startswith("---"):
            lines.append(f'<span class="del">{_e(line)}</span>')
        elif line.startswith("@@"):
            lines.append(f'<span class="hunk">{_e(line)}</span>')
        else:
            lines.append(_e(line))
    return "<pre>" + "\n".join(lines) + "</pre>"
