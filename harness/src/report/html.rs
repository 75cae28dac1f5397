//! The static HTML pages: the matrix and one page per case and target.
//! Inline CSS only, no scripts, no network.

use std::collections::BTreeMap;

use super::{slug, Index};
use crate::case::{Case, Origin, Verdict};
use crate::runner::{CaseResult, Judged};
use crate::trace::{Body, Dir, What};

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #d0d0d0;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2}
tr.section th{background:#2f3e4e;color:#fff;font-size:14px;padding:6px}
tr.section th small{color:#c8d3de;font-weight:normal}
td.v{white-space:nowrap;text-align:center;min-width:7.5em}
td.v a{color:inherit;text-decoration:none;display:block}
.OK{background:#2e9b4f;color:#fff}.NON-STRICT{background:#e0b000;color:#000}
.INFORMATIONAL{background:#5b8fd1;color:#fff}.UNSUPPORTED{background:#9a9a9a;color:#fff}
.FAILED{background:#d6322f;color:#fff}.ERROR{background:#7b1fa2;color:#fff}.TIMEOUT{background:#c25700;color:#fff}
.MISSING{background:#f4f4f4;color:#888}
.sub{font-size:11px;opacity:.9}
.id{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
.legend span{display:inline-block;padding:2px 8px;margin:2px;border-radius:3px}
.accepted{outline:2px dashed #000;outline-offset:-4px}
pre,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;margin:0}
tr.out td{background:#f3f8ff}tr.in td{background:#f4fbf2}tr.note td{background:#fafafa;color:#555;font-style:italic}
blockquote{border-left:4px solid #bbb;margin:.5em 0;padding:.2em .8em;color:#333;background:#fafafa}
.meta td:first-child{font-weight:bold;white-space:nowrap}
"#;

pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

fn legend() -> String {
    let mut s = String::from("<p class=\"legend\">");
    for (v, text) in [
        (Verdict::Ok, "as the protocol requires"),
        (
            Verdict::NonStrict,
            "a SHOULD or a reference-server habit not followed; still conformant",
        ),
        (
            Verdict::Informational,
            "behaviour the protocol leaves open, recorded",
        ),
        (Verdict::Unsupported, "optional feature absent"),
        (Verdict::Failed, "a MUST not followed"),
        (Verdict::Timeout, "the case did not finish in time"),
        (Verdict::Error, "the harness could not run the case"),
    ] {
        s.push_str(&format!(
            "<span class=\"{0}\" title=\"{1}\">{0}</span>",
            v.name(),
            esc(text)
        ));
    }
    s.push_str(" <span class=\"accepted\">accepted by the baseline</span></p>");
    s
}

/// `report.html`: targets × cases, grouped by section.
pub fn matrix(index: &Index, catalogue: &[Case]) -> String {
    let targets: Vec<&String> = index.targets.keys().collect();
    let mut body = String::from("<h1>siospec conformance report</h1>\n");
    body.push_str(&format!(
        "<p>{} — {} case(s) in the catalogue.</p>\n",
        esc(&index.generator),
        catalogue.len()
    ));
    body.push_str(
        "<table><tr><th>target</th><th>description</th><th>started</th><th>duration</th>",
    );
    for v in Verdict::ALL {
        body.push_str(&format!("<th class=\"{0}\">{0}</th>", v.name()));
    }
    body.push_str("</tr>\n");
    for (name, run) in &index.targets {
        body.push_str(&format!(
            "<tr><td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{:.1} s</td>",
            esc(name),
            esc(&run.description),
            esc(&run.started),
            run.duration_ms / 1000.0
        ));
        for v in Verdict::ALL {
            body.push_str(&format!(
                "<td>{}</td>",
                run.counts.get(v.name()).copied().unwrap_or(0)
            ));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</table>\n");
    body.push_str(&legend());
    let mut sections: BTreeMap<(usize, &str), Vec<&Case>> = BTreeMap::new();
    let mut order: BTreeMap<&str, usize> = BTreeMap::new();
    for case in catalogue {
        let n = order.len();
        let pos = *order.entry(case.section.id).or_insert(n);
        sections
            .entry((pos, case.section.id))
            .or_default()
            .push(case);
    }
    body.push_str("<table>\n");
    for ((_, _), cases) in sections {
        let sec = cases[0].section;
        body.push_str(&format!(
            "<tr class=\"section\"><th colspan=\"2\">{} <small>{} — {}</small></th>",
            esc(sec.id),
            esc(sec.title),
            esc(sec.spec)
        ));
        for t in &targets {
            body.push_str(&format!("<th>{}</th>", esc(t)));
        }
        body.push_str("</tr>\n");
        for case in cases {
            body.push_str(&format!(
                "<tr><td class=\"id\">{}</td><td>{}{}</td>",
                esc(&case.id),
                esc(&case.description),
                match case.origin {
                    Origin::Official { .. } => " <small>(official)</small>",
                    Origin::Added => "",
                }
            ));
            for t in &targets {
                let run = &index.targets[*t];
                match run.cases.get(&case.id) {
                    Some(s) => {
                        let close = match s.close {
                            Some(c) => {
                                format!("<br><span class=\"sub\">close: {}</span>", c.name())
                            }
                            None => String::new(),
                        };
                        body.push_str(&format!(
                            "<td class=\"v {}{}\" title=\"{}\"><a href=\"cases/{}/{}.html\">{}{}<br><span class=\"sub\">{:.0} ms</span></a></td>",
                            s.verdict.name(),
                            if s.accepted.is_some() { " accepted" } else { "" },
                            esc(&s.actual),
                            esc(&slug(t)),
                            esc(&case.id),
                            s.verdict.name(),
                            close,
                            s.duration_ms
                        ));
                    }
                    None => body.push_str("<td class=\"v MISSING\">—</td>"),
                }
            }
            body.push_str("</tr>\n");
        }
    }
    body.push_str("</table>\n");
    page("siospec conformance report", &body)
}

/// Text with control characters made visible (`\x1e` → `␞`, others as `\u{..}`).
fn visible(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '\u{1e}' => out.push('␞'),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn body_html(b: &Body) -> String {
    let mut s = match (&b.text, &b.hex) {
        (Some(t), _) => format!("<code>{}</code>", esc(&visible(t))),
        (_, Some(h)) => format!("hex: {}", esc(h)),
        _ => String::new(),
    };
    s.push_str(&format!(
        " <small>({} bytes{})</small>",
        b.len,
        if b.truncated { ", cut" } else { "" }
    ));
    s
}

fn headers_html(h: &[(String, String)]) -> String {
    h.iter()
        .map(|(k, v)| format!("{}: {}", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn judged_html(axis: &str, j: &Judged) -> String {
    format!(
        "<tr><td>{axis}</td><td class=\"v {0}\">{0}</td><td>{1}</td><td><pre>{2}</pre></td></tr>",
        j.verdict.name(),
        esc(j
            .expected
            .as_deref()
            .unwrap_or("(no declared outcome matched)")),
        esc(&j.actual)
    )
}

/// One case's page for one target, with its trace.
pub fn case_page(target: &str, case: &Case, r: &CaseResult) -> String {
    let mut b = format!(
        "<p><a href=\"../../report.html\">← report</a></p><h1 class=\"id\">{}</h1><p>{}</p>",
        esc(&case.id),
        esc(&case.description)
    );
    b.push_str("<table class=\"meta\">");
    let origin = match &case.origin {
        Origin::Official { title, fixes } => format!(
            "official suite: {}{}",
            title,
            fixes
                .map(|f| format!(" — fixed here: {f}"))
                .unwrap_or_default()
        ),
        Origin::Added => "added by siospec (not in the official suites)".to_owned(),
    };
    for (k, v) in [
        ("target", target.to_owned()),
        ("verdict", r.verdict.name().to_owned()),
        (
            "section",
            format!(
                "{} — {} ({})",
                case.section.id, case.section.title, case.section.spec
            ),
        ),
        ("level", format!("{:?}", case.level).to_uppercase()),
        ("origin", origin),
        ("duration", format!("{:.1} ms", r.duration_ms)),
    ] {
        b.push_str(&format!("<tr><td>{k}</td><td>{}</td></tr>", esc(&v)));
    }
    if let Some(reason) = &r.accepted {
        b.push_str(&format!(
            "<tr><td>baseline</td><td>accepted: {}</td></tr>",
            esc(reason)
        ));
    }
    b.push_str("</table>");
    b.push_str(&format!(
        "<h2>Requirement</h2><blockquote>{}</blockquote>",
        esc(case.requirement)
    ));
    b.push_str("<h2>Expected outcomes</h2><table><tr><th>axis</th><th>outcome</th><th>verdict</th><th>description</th></tr>");
    for (axis, list) in [("behaviour", &case.expect), ("close", &case.close)] {
        for e in list {
            b.push_str(&format!(
                "<tr><td>{axis}</td><td class=\"id\">{}</td><td class=\"v {2}\">{2}</td><td>{}</td></tr>",
                esc(e.key),
                esc(&e.text),
                e.verdict.name()
            ));
        }
    }
    b.push_str(&format!(
        "<tr><td>any</td><td class=\"id\">anything else</td><td class=\"v {0}\">{0}</td><td></td></tr></table>",
        case.otherwise().name()
    ));
    b.push_str("<h2>Result</h2><table><tr><th>axis</th><th>verdict</th><th>matched outcome</th><th>what was seen</th></tr>");
    b.push_str(&judged_html("behaviour", &r.behaviour));
    if let Some(c) = &r.close {
        b.push_str(&judged_html("close", c));
    }
    b.push_str("</table>");
    b.push_str(&format!(
        "<h2>Wire trace</h2><p>{} event(s){}; → sent by siospec, ← sent by the server.</p>",
        r.trace.len(),
        if r.trace_dropped > 0 {
            format!(", {} more dropped", r.trace_dropped)
        } else {
            String::new()
        }
    ));
    b.push_str("<table><tr><th>ms</th><th>conn</th><th></th><th>event</th><th>details</th></tr>");
    for e in &r.trace {
        let (class, arrow) = match e.dir {
            Dir::Out => ("out", "→"),
            Dir::In => ("in", "←"),
            Dir::Note => ("note", "·"),
        };
        let (kind, detail) = match &e.what {
            What::HttpRequest {
                method,
                path,
                query,
                headers,
                body,
            } => (
                "HTTP request",
                format!(
                    "<b>{} {}{}</b><br>{}{}",
                    esc(method),
                    esc(path),
                    if query.is_empty() {
                        String::new()
                    } else {
                        format!("?{}", esc(query))
                    },
                    headers_html(headers),
                    if body.len > 0 {
                        format!("<br>body: {}", body_html(body))
                    } else {
                        String::new()
                    }
                ),
            ),
            What::HttpResponse {
                status,
                headers,
                body,
            } => (
                "HTTP response",
                format!(
                    "<b>{status}</b><br>{}<br>body: {}",
                    headers_html(headers),
                    body_html(body)
                ),
            ),
            What::HttpError { error } => ("HTTP failure", esc(error)),
            What::WsConnect {
                path,
                query,
                headers,
            } => (
                "WebSocket open",
                format!(
                    "<b>GET {}?{}</b><br>{}",
                    esc(path),
                    esc(query),
                    headers_html(headers)
                ),
            ),
            What::WsOpen { headers } => ("101 Switching Protocols", headers_html(headers)),
            What::WsRefused {
                status,
                body,
                error,
            } => (
                "WebSocket refused",
                format!(
                    "{}{}{}",
                    status.map(|s| format!("<b>{s}</b> ")).unwrap_or_default(),
                    esc(error),
                    body.as_ref()
                        .map(|b| format!("<br>body: {}", body_html(b)))
                        .unwrap_or_default()
                ),
            ),
            What::WsText { data } => ("text frame", body_html(data)),
            What::WsBinary { data } => ("binary frame", body_html(data)),
            What::WsClose { code, reason } => (
                "close frame",
                format!(
                    "code {} {}",
                    code.map(|c| c.to_string())
                        .unwrap_or_else(|| "(none)".into()),
                    esc(reason)
                ),
            ),
            What::WsEnd { detail } => ("connection end", esc(detail)),
            What::Note { text } => ("note", esc(text)),
        };
        b.push_str(&format!(
            "<tr class=\"{class}\"><td>{:.1}</td><td class=\"id\">{}</td><td>{arrow}</td><td>{kind}</td><td><pre>{detail}</pre></td></tr>",
            e.t_ms,
            esc(&e.conn)
        ));
    }
    b.push_str("</table>");
    page(&format!("{} — {target}", case.id), &b)
}
