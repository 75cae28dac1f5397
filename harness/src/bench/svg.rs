//! `load.svg`: throughput per client count and latency percentiles per
//! target, hand-written SVG (no script, no external resource).

use std::fmt::Write;

use super::report::View;
use super::stats::{Point, Scenario};
use super::Run;
use crate::report::escape::xml as escape;

const WIDTH: f64 = 960.0;
const PANEL_H: f64 = 240.0;
const PAD_L: f64 = 70.0;
const PAD_T: f64 = 34.0;
const PAD_B: f64 = 36.0;

/// By target, whatever the transport (`rust (polling)` is `rust`'s colour).
fn color(series: &str) -> &'static str {
    match series.split(" (").next().unwrap_or(series) {
        "rust" => "#d9480f",
        "node" => "#2b8a3e",
        "sink" => "#868e96",
        "generator" => "#7048e8",
        _ => "#1c7ed6",
    }
}

/// A series: name and one value per x position (missing where not measured).
struct Series {
    name: String,
    values: Vec<Option<f64>>,
}

/// Short number for an axis label.
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// A line chart with a log-scale y axis at (`x0`, `y0`), `w` wide.
fn chart(
    out: &mut String,
    (x0, y0, w): (f64, f64, f64),
    title: &str,
    y_label: &str,
    x_labels: &[String],
    series: &[Series],
) {
    let h = PANEL_H;
    let (px, py) = (x0 + PAD_L, y0 + PAD_T);
    let (pw, ph) = (w - PAD_L - 20.0, h - PAD_T - PAD_B);
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="title">{}</text>"#,
        x0 + PAD_L,
        y0 + 18.0,
        escape(title)
    );
    let values: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    let _ = writeln!(
        out,
        r##"<rect x="{px:.1}" y="{py:.1}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#ced4da"/>"##
    );
    if values.is_empty() {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="axis">no data</text>"#,
            px + 10.0,
            py + ph / 2.0
        );
        return;
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let lo_exp = lo.log10().floor() as i32;
    let hi_exp = (hi.log10().ceil() as i32).max(lo_exp + 1);
    let y_of = |v: f64| py + ph - (v.log10() - lo_exp as f64) / (hi_exp - lo_exp) as f64 * ph;
    for e in lo_exp..=hi_exp {
        let v = 10f64.powi(e);
        let y = y_of(v);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e9ecef"/><text x="{:.1}" y="{:.1}" class="axis" text-anchor="end">{}</text>"##,
            px + pw,
            px - 6.0,
            y + 4.0,
            short(v)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="axis" transform="rotate(-90 {:.1} {:.1})" text-anchor="middle">{}</text>"#,
        x0 + 14.0,
        py + ph / 2.0,
        x0 + 14.0,
        py + ph / 2.0,
        escape(y_label)
    );
    let n = x_labels.len().max(1);
    let x_of = |i: usize| px + pw * (i as f64 + 0.5) / n as f64;
    for (i, l) in x_labels.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{}</text>"#,
            x_of(i),
            py + ph + 16.0,
            escape(l)
        );
    }
    for (k, s) in series.iter().enumerate() {
        let c = color(&s.name);
        let pts: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.filter(|v| *v > 0.0).map(|v| (x_of(i), y_of(v))))
            .collect();
        if pts.len() > 1 {
            let path = pts
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(
                out,
                r#"<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>"#
            );
        }
        for (x, y) in &pts {
            let _ = writeln!(
                out,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{c}"/>"#
            );
        }
        let lx = px + 10.0 + 90.0 * k as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="{c}"/><text x="{:.1}" y="{:.1}" class="axis">{}</text>"#,
            py + 6.0,
            lx + 14.0,
            py + 15.0,
            escape(&s.name)
        );
    }
}

fn targets_of(points: &[&Point]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in points {
        if !names.contains(&p.target) {
            names.push(p.target.clone());
        }
    }
    names
}

/// The chart for `run`.
pub fn render(run: &Run) -> String {
    render_of(&View::of(run))
}

/// The chart of a set of points, merged from several runs or not.
pub fn render_of(view: &View) -> String {
    let run = &view.run;
    let scenarios: Vec<Scenario> = Scenario::ALL
        .into_iter()
        .filter(|s| run.points.iter().any(|p| p.scenario == *s))
        .collect();
    let costs = cost_rows(run);
    // The per-point panels are full width, one above the other: a label per point.
    let rows = scenarios.len().max(1) + if costs.is_empty() { 0 } else { 2 };
    let height = 50.0 + PANEL_H * rows as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">"#
    );
    let _ = writeln!(
        out,
        r#"<style>.title{{font-size:13px;font-weight:bold}}.axis{{font-size:11px;fill:#495057}}</style><rect width="100%" height="100%" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="20" y="28" style="font-size:16px;font-weight:bold">siospec bench — {} clients, {} s per point, {} cores ({}){}</text>"#,
        run.transport.name(),
        trim(run.duration.as_secs_f64()),
        run.machine.cores,
        escape(&run.machine.commit),
        match view.kept() {
            0 => String::new(),
            k => format!("; {k} of {} points from earlier runs", run.points.len()),
        }
    );
    let half = WIDTH / 2.0;
    for (row, &scenario) in scenarios.iter().enumerate() {
        let y0 = 40.0 + PANEL_H * row as f64;
        let points: Vec<&Point> = run
            .points
            .iter()
            .filter(|p| p.scenario == scenario)
            .collect();
        let mut clients: Vec<usize> = points.iter().map(|p| p.clients).collect();
        clients.sort_unstable();
        clients.dedup();
        let targets = targets_of(&points);
        let find = |t: &str, c: usize| points.iter().find(|p| p.target == t && p.clients == c);
        let x_labels: Vec<String> = clients.iter().map(|c| format!("{c} clients")).collect();
        // One series per target, one value per client count.
        let per_client_count = |value: &dyn Fn(&Point) -> Option<f64>| -> Vec<Series> {
            targets
                .iter()
                .map(|t| Series {
                    name: t.clone(),
                    values: clients
                        .iter()
                        .map(|&c| find(t, c).and_then(|p| value(p)))
                        .collect(),
                })
                .collect()
        };
        if scenario == Scenario::Idle {
            let series = per_client_count(&|p| p.memory.map(|m| m.per_connection));
            chart(
                &mut out,
                (0.0, y0, half),
                "idle: server memory per connection",
                "bytes per connection",
                &x_labels,
                &series,
            );
            continue;
        }
        let series = per_client_count(&|p| Some(p.throughput));
        chart(
            &mut out,
            (0.0, y0, half),
            &format!("{}: throughput per client count", scenario.name()),
            scenario.unit(),
            &x_labels,
            &series,
        );
        let Some(&most) = clients.last() else {
            continue;
        };
        let series: Vec<Series> = targets
            .iter()
            .map(|t| Series {
                name: t.clone(),
                values: match find(t, most).and_then(|p| p.latency) {
                    Some(l) => vec![Some(l.p50), Some(l.p90), Some(l.p99), Some(l.p999)],
                    None => vec![None; 4],
                },
            })
            .collect();
        chart(
            &mut out,
            (half, y0, half),
            &format!(
                "{}: latency distribution at {most} clients",
                scenario.name()
            ),
            "µs",
            &["p50", "p90", "p99", "p99.9"].map(str::to_owned),
            &series,
        );
    }
    if !costs.is_empty() {
        let y0 = 40.0 + PANEL_H * scenarios.len() as f64;
        let labels: Vec<String> = costs.iter().map(|c| c.label.clone()).collect();
        let ceiling = Series {
            name: "sink / best server".to_owned(),
            values: costs.iter().map(|c| c.ceiling).collect(),
        };
        chart(
            &mut out,
            (0.0, y0, WIDTH),
            "generator ceiling / best server, per point (target 5×)",
            "×",
            &labels,
            &[ceiling],
        );
        let per_op = vec![
            Series {
                name: "best server".to_owned(),
                values: costs.iter().map(|c| c.server).collect(),
            },
            Series {
                name: "generator".to_owned(),
                values: costs.iter().map(|c| c.generator).collect(),
            },
        ];
        chart(
            &mut out,
            (0.0, y0 + PANEL_H, WIDTH),
            "CPU per operation against the best server",
            "µs",
            &labels,
            &per_op,
        );
    }
    out.push_str("</svg>\n");
    out
}

/// One point's ceiling ratio and the two sides' CPU per operation.
struct Cost {
    label: String,
    ceiling: Option<f64>,
    server: Option<f64>,
    generator: Option<f64>,
}

/// Every throughput point with both a sink and a server figure.
fn cost_rows(run: &Run) -> Vec<Cost> {
    use super::report::{best_server, client_counts, cpu_per_op, find, generator_cpu_per_op};
    let mut rows = Vec::new();
    for s in [Scenario::Echo, Scenario::Broadcast, Scenario::Connect] {
        for c in client_counts(run, s) {
            let (Some(sink), Some(best)) = (find(run, s, "sink", c), best_server(run, s, c)) else {
                continue;
            };
            rows.push(Cost {
                label: format!("{} {c}", s.name()),
                ceiling: (best.throughput > 0.0).then(|| sink.throughput / best.throughput),
                server: cpu_per_op(best),
                generator: generator_cpu_per_op(best),
            });
        }
    }
    rows
}
