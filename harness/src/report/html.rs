//! The static HTML pages: the matrix and one page per case and target.
//! Inline CSS and a little plain JavaScript (filters, search, copy), no
//! network; they work from `file://`.

use std::collections::{BTreeMap, BTreeSet};

use super::escape::html as esc;
use super::{
    case_command, is_client_case, level_name, slug, spec_document, Index, RunInfo, TargetRun,
};
use crate::case::{Case, Origin, Verdict};
use crate::runner::{CaseResult, Judged};
use crate::trace::{Body, Dir, What};

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}h3{font-size:1em;margin:.8em 0 .3em}
a{color:#0b5cad}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #d0d0d0;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2}
tr.section th{background:#2f3e4e;color:#fff;font-size:14px;padding:6px}
tr.section th small{color:#c8d3de;font-weight:normal}
tr.section th a{color:#fff}tr.section th small a{color:#c8d3de}
td.v{white-space:nowrap;text-align:center;min-width:7.5em}
td.v a{color:inherit;text-decoration:none;display:block}
.OK{background:#2e9b4f;color:#fff}.NON-STRICT{background:#e0b000;color:#000}
.INFORMATIONAL{background:#5b8fd1;color:#fff}.UNSUPPORTED{background:#9a9a9a;color:#fff}
.FAILED{background:#d6322f;color:#fff}.ERROR{background:#7b1fa2;color:#fff}.TIMEOUT{background:#c25700;color:#fff}
.SKIPPED{background:#c9c9c9;color:#000}
.MISSING{background:#f4f4f4;color:#888}
td.lvl{font-size:11px;font-weight:600;text-align:center;white-space:nowrap}
td.MUST{color:#8a1c1a}td.SHOULD{color:#7a5a00}td.MAY{color:#34608f}
.sub{font-size:11px;opacity:.9}
.id{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
.legend span{display:inline-block;padding:2px 8px;margin:2px;border-radius:3px}
.accepted{outline:2px dashed #000;outline-offset:-4px}
pre,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;margin:0}
tr.out td{background:#f3f8ff}tr.in td{background:#f4fbf2}tr.note td{background:#fafafa;color:#555;font-style:italic}
blockquote{border-left:4px solid #bbb;margin:.5em 0;padding:.2em .8em;color:#333;background:#fafafa}
.meta td:first-child{font-weight:bold;white-space:nowrap}
nav.toc{columns:3 18em;font-size:13px;background:#f7f7f7;border:1px solid #e0e0e0;padding:.5em 1em;margin:.6em 0}
nav.toc a{display:block;padding:1px 0;text-decoration:none;break-inside:avoid}
nav.toc .n{color:#666;font-size:11px}
nav.toc .bad{color:#b3261e;font-weight:600}
.findings{border-left:4px solid #2f3e4e;background:#f5f8fb;padding:.3em 1em;margin:.5em 0}
.findings ul{margin:.3em 0;padding-left:1.3em}.findings .none{color:#666;font-style:italic;margin:.3em 0}
.filters{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid #d0d0d0;padding:.5em 0;margin:.6em 0;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap;font-size:14px}
.filters input[type=search]{font-size:14px;padding:3px 6px;width:22em}
.filters label.off{color:#999}
#f-count{color:#555;font-size:13px}
code.cmd{user-select:all;background:#f2f2f2;padding:2px 5px;border-radius:3px;white-space:pre-wrap;overflow-wrap:anywhere}
.rerun{display:flex;gap:.6em;align-items:center;margin:.4em 0}
.rerun code{font-size:13px;padding:5px 8px}
.rerun button{font-size:13px}
"#;

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n",
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
        (
            Verdict::Skipped,
            "the harness cannot judge it against this target; the reason says why",
        ),
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

/// The matrix's filters: they show or hide the `tr.case` rows by their
/// `data-nonok`, `data-differ` and `data-text` attributes, and a section
/// when none of its rows shows. The page's address sets them on load:
/// `?nonok`, `?differ`, `?q=TEXT`, or the same words after `#`
/// (`report.html#nonok&q=upgrade`).
const FILTER_JS: &str = r#"
(function(){
var nonok=document.getElementById('f-nonok'),differ=document.getElementById('f-differ'),
    q=document.getElementById('f-q'),count=document.getElementById('f-count');
var rows=Array.prototype.slice.call(document.querySelectorAll('tr.case'));
var groups=Array.prototype.slice.call(document.querySelectorAll('tbody.sec'));
function apply(){
  var text=q.value.trim().toLowerCase(),shown=0;
  rows.forEach(function(r){
    var show=(!nonok.checked||r.getAttribute('data-nonok')==='1')
      &&(!differ.checked||r.getAttribute('data-differ')==='1')
      &&(!text||r.getAttribute('data-text').indexOf(text)>=0);
    r.hidden=!show;
    if(show)shown++;
  });
  groups.forEach(function(g){g.hidden=!g.querySelector('tr.case:not([hidden])');});
  count.textContent=shown+' of '+rows.length+' case(s) shown';
}
var words=location.search.slice(1).split('&').concat(location.hash.slice(1).split('&'));
words.forEach(function(w){
  w=decodeURIComponent(w.replace(/\+/g,' '));
  if(w==='nonok')nonok.checked=true;
  else if(w==='differ'&&!differ.disabled)differ.checked=true;
  else if(w.indexOf('q=')===0)q.value=w.slice(2);
});
nonok.addEventListener('change',apply);
differ.addEventListener('change',apply);
q.addEventListener('input',apply);
apply();
})();
"#;

/// Copies the re-run command of a case page.
const COPY_JS: &str = r#"
(function(){
var b=document.getElementById('copy'),c=document.getElementById('rerun');
function done(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy';},1500);}
function select(){var r=document.createRange();r.selectNodeContents(c);var s=window.getSelection();s.removeAllRanges();s.addRange(r);
  try{if(document.execCommand('copy'))done();}catch(e){}}
b.addEventListener('click',function(){
  if(navigator.clipboard&&navigator.clipboard.writeText)navigator.clipboard.writeText(c.textContent).then(done,select);
  else select();
});
})();
"#;

fn findings_html(index: &Index) -> String {
    let mut s = String::from("<section id=\"findings\"><h2>Findings</h2>\n");
    if index.targets.values().all(|r| r.findings.is_empty()) {
        s.push_str("<div class=\"findings\"><p class=\"none\">No probe findings recorded for any target.</p></div></section>\n");
        return s;
    }
    for (name, run) in &index.targets {
        s.push_str(&format!(
            "<div class=\"findings\" id=\"findings-{}\"><h3>{} <small>— what the probe found</small></h3>",
            esc(&slug(name)),
            esc(name)
        ));
        if run.findings.is_empty() {
            s.push_str("<p class=\"none\">No probe findings recorded.</p>");
        } else {
            s.push_str("<ul>");
            for f in &run.findings {
                s.push_str(&format!("<li>{}</li>", esc(f)));
            }
            s.push_str("</ul>");
        }
        s.push_str("</div>\n");
    }
    s.push_str("</section>\n");
    s
}

/// When the folder holds servers and clients: one row per implementation
/// (a client target `NAME-client` beside the server `NAME`), its server and
/// client results next to each other.
fn side_by_side(index: &Index) -> String {
    let (clients, servers): (Vec<_>, Vec<_>) =
        index.targets.iter().partition(|(_, run)| run.is_client());
    if clients.is_empty() || servers.is_empty() {
        return String::new();
    }
    let mut rows: BTreeMap<&str, (Option<&TargetRun>, Option<&TargetRun>)> = BTreeMap::new();
    for (name, run) in &servers {
        rows.entry(name.as_str()).or_default().0 = Some(run);
    }
    for (name, run) in &clients {
        let base = crate::peer::peer_of_client_target(name).unwrap_or(name);
        rows.entry(base).or_default().1 = Some(run);
    }
    let cell = |run: Option<&TargetRun>, role: &str, name: &str| match run {
        None => "<td class=\"v MISSING\">—</td>".to_owned(),
        Some(run) => {
            let total = run.cases.len();
            let ok = run
                .cases
                .values()
                .filter(|c| c.verdict == Verdict::Ok || c.accepted.is_some())
                .count();
            // Not judged (SKIPPED, UNSUPPORTED) or only recorded
            // (INFORMATIONAL) is no failure.
            let open = run
                .cases
                .values()
                .filter(|c| c.verdict >= Verdict::NonStrict && c.accepted.is_none())
                .count();
            let class = if open == 0 { "OK" } else { "FAILED" };
            let rest = match total - ok - open {
                0 => String::new(),
                n => format!(", {n} not judged or informational"),
            };
            format!(
                "<td class=\"v {class}\" title=\"{} as a {role}\">{ok} / {total} OK{rest}<br><span class=\"sub\">{}</span></td>",
                esc(name),
                esc(&run.description)
            )
        }
    };
    let mut s = String::from(
        "<h2 id=\"side-by-side\">Servers and clients side by side</h2>\n\
         <p>Each implementation's server and client runs of this report (the client target \
         <code>NAME-client</code> beside the server <code>NAME</code>); OK counts what the \
         baseline accepts; red when a case is left FAILED, TIMEOUT, ERROR or NON-STRICT.</p>\n<table><tr><th>implementation</th><th>as a server</th><th>as a client</th></tr>\n",
    );
    for (base, (server, client)) in rows {
        s.push_str(&format!(
            "<tr><td class=\"id\">{}</td>{}{}</tr>\n",
            esc(base),
            cell(server, "server", base),
            cell(client, "client", base)
        ));
    }
    s.push_str("</table>\n");
    s
}

/// `report.html`: each target's findings, a section index, the targets, the
/// filters and the targets × cases matrix grouped by section.
pub fn matrix(index: &Index, catalogue: &[Case]) -> String {
    let targets: Vec<&String> = index.targets.keys().collect();
    let sections = sections_of(catalogue);
    let mut body = String::from("<h1 id=\"top\">siospec conformance report</h1>\n");
    body.push_str(&format!(
        "<p>{} — {} case(s) in the catalogue, {} target(s).</p>\n",
        esc(&index.generator),
        catalogue.len(),
        targets.len()
    ));
    body.push_str(&findings_html(index));

    // The section index.
    body.push_str("<nav class=\"toc\" id=\"index\"><a href=\"#findings\">Findings</a><a href=\"#targets\">Targets</a><a href=\"#matrix\">Cases</a>");
    for ((_, id), cases) in &sections {
        let ran = cases
            .iter()
            .flat_map(|c| index.targets.values().filter_map(|r| r.cases.get(&c.id)))
            .collect::<Vec<_>>();
        let bad = ran.iter().filter(|s| s.verdict != Verdict::Ok).count();
        body.push_str(&format!(
            "<a href=\"#sec-{0}\">{0} <span class=\"n\">{1} case(s)</span>{2}</a>",
            esc(id),
            cases.len(),
            if bad > 0 {
                format!(" <span class=\"bad\">{bad} non-OK</span>")
            } else {
                String::new()
            }
        ));
    }
    body.push_str("</nav>\n");

    body.push_str(&side_by_side(index));

    // The targets.
    body.push_str("<h2 id=\"targets\">Targets</h2>\n<table><tr><th>target</th><th>role</th><th>description</th><th>started</th><th>duration</th>");
    for v in Verdict::ALL {
        body.push_str(&format!("<th class=\"{0}\">{0}</th>", v.name()));
    }
    body.push_str("<th>re-run</th></tr>\n");
    for (name, run) in &index.targets {
        let kept = run.earlier_cases();
        body.push_str(&format!(
            "<tr><td class=\"id\">{}</td><td>{}</td><td>{}{}{}</td><td>{}</td><td>{:.1} s</td>",
            esc(name),
            if run.is_client() { "client" } else { "server" },
            esc(&run.description),
            if run.strict {
                " <small>(--strict)</small>"
            } else {
                ""
            },
            if kept > 0 {
                format!(
                    "<br><small>{} case(s) from this run, {kept} kept from earlier runs</small>",
                    run.cases.len() - kept
                )
            } else {
                String::new()
            },
            esc(&run.started),
            run.duration_ms / 1000.0
        ));
        for v in Verdict::ALL {
            body.push_str(&format!(
                "<td>{}</td>",
                run.counts.get(v.name()).copied().unwrap_or(0)
            ));
        }
        body.push_str(&format!(
            "<td><code class=\"cmd\">{}</code></td></tr>\n",
            esc(&run.command)
        ));
    }
    body.push_str("</table>\n");
    body.push_str(&legend());

    body.push_str(&cases_html(index, catalogue, ""));
    page("siospec conformance report", &body)
}

/// The section order of `catalogue`: each section's cases, in catalogue order.
fn sections_of(catalogue: &[Case]) -> BTreeMap<(usize, &'static str), Vec<&Case>> {
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
    sections
}

/// The filters and the targets × cases table, grouped by section; case
/// pages are under `{prefix}cases/`.
fn cases_html(index: &Index, catalogue: &[Case], prefix: &str) -> String {
    let targets: Vec<&String> = index.targets.keys().collect();
    let sections = sections_of(catalogue);
    let mut body = String::new();
    // The filters.
    let several = targets.len() > 1;
    body.push_str(&format!(
        "<h2 id=\"matrix\">Cases</h2>\n<div class=\"filters\" id=\"filters\">\
         <label><input type=\"checkbox\" id=\"f-nonok\"> non-OK only</label>\
         <label{}><input type=\"checkbox\" id=\"f-differ\"{}> targets that differ</label>\
         <input type=\"search\" id=\"f-q\" placeholder=\"search case id or description\" aria-label=\"search\">\
         <span id=\"f-count\"></span></div>\n",
        if several {
            ""
        } else {
            " class=\"off\" title=\"only one target in this report\""
        },
        if several { "" } else { " disabled" }
    ));

    // The matrix.
    body.push_str("<table id=\"cases\">\n");
    for ((_, id), cases) in sections {
        let sec = cases[0].section;
        let (doc_title, doc_url) = spec_document(sec.suite);
        body.push_str(&format!(
            "<tbody class=\"sec\" id=\"sec-{}\"><tr class=\"section\"><th colspan=\"3\">{} <small>{} — <a href=\"{}\" title=\"{}\">{}</a></small></th>",
            esc(id),
            esc(id),
            esc(sec.title),
            esc(doc_url),
            esc(doc_title),
            esc(sec.spec)
        ));
        // A section's columns are the targets of its role: servers for the
        // server catalogue, clients for the client one.
        let client = is_client_case(&cases[0].id);
        let columns: Vec<&String> = targets
            .iter()
            .copied()
            .filter(|t| index.targets[*t].is_client() == client)
            .collect();
        for t in &columns {
            body.push_str(&format!("<th>{}</th>", esc(t)));
        }
        body.push_str("</tr>\n");
        for case in cases {
            let present: Vec<Verdict> = columns
                .iter()
                .filter_map(|t| index.targets[*t].cases.get(&case.id))
                .map(|s| s.verdict)
                .collect();
            let nonok = present.iter().any(|v| *v != Verdict::Ok);
            let differ = present.iter().collect::<BTreeSet<_>>().len() > 1;
            body.push_str(&format!(
                "<tr class=\"case\" data-nonok=\"{}\" data-differ=\"{}\" data-text=\"{}\"><td class=\"id\">{}</td><td class=\"lvl {lvl}\">{lvl}</td><td>{}{}</td>",
                u8::from(nonok),
                u8::from(differ),
                esc(&format!("{} {}", case.id, case.description).to_lowercase()),
                esc(&case.id),
                esc(&case.description),
                match case.origin {
                    Origin::Official { .. } => " <small>(official)</small>",
                    Origin::Added => "",
                },
                lvl = level_name(case.level),
            ));
            for t in &columns {
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
                            "<td class=\"v {}{}\" title=\"{}\"><a href=\"{prefix}cases/{}/{}.html\">{}{}<br><span class=\"sub\">{:.0} ms</span></a></td>",
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
        body.push_str("</tbody>\n");
    }
    body.push_str("</table>\n<p><a href=\"#top\">↑ top</a></p>\n");
    body.push_str(&format!("<script>{FILTER_JS}</script>"));
    body
}

/// Text with control characters made visible (`\x1e` → `␞`, `\r` → `␍`,
/// others as `\u{..}`); line feeds and tabs stay, for `white-space: pre-wrap`.
fn visible(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '\u{1e}' => out.push('␞'),
            '\r' => out.push('␍'),
            '\n' | '\t' => out.push(c),
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

/// One case's page for one target: the spec, the command that re-runs it,
/// both judgements and the trace.
pub fn case_page(run: &RunInfo<'_>, case: &Case, r: &CaseResult) -> String {
    let target = run.name;
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
    let (doc_title, doc_url) = spec_document(case.suite());
    b.push_str(&format!(
        "<tr><td>specification</td><td><a href=\"{}\">{}</a> — {}</td></tr>",
        esc(doc_url),
        esc(doc_title),
        esc(case.section.spec)
    ));
    for (k, v) in [
        ("target", target.to_owned()),
        ("verdict", r.verdict.name().to_owned()),
        (
            "section",
            format!("{} — {}", case.section.id, case.section.title),
        ),
        ("level", level_name(case.level).to_owned()),
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
    let rerun = if run.command.is_empty() {
        String::new()
    } else {
        b.push_str(&format!(
            "<h2>Re-run this case</h2><div class=\"rerun\"><code class=\"cmd\" id=\"rerun\">{}</code><button type=\"button\" id=\"copy\">Copy</button></div>",
            esc(&case_command(&run.command, &case.id))
        ));
        format!("<script>{COPY_JS}</script>")
    };
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
    b.push_str(&rerun);
    page(&format!("{} — {target}", case.id), &b)
}

/// `matrix.html`: the implementations, the findings as bug reports, what
/// is not yet checked, and the targets × cases table; case pages are those
/// of the runs' report in `runs/`.
pub fn matrix_page(
    m: &crate::matrix::MatrixIndex,
    runs: &Index,
    catalogue: &[Case],
    runs_dir: &str,
) -> String {
    use crate::matrix::Kind;
    let mut body = String::from("<h1 id=\"top\">siospec interoperability matrix</h1>\n");
    body.push_str(&format!(
        "<p>{} — written {}{}; its runs took {:.0} s. {} implementation run(s), {} finding(s), {} unchecked non-OK verdict(s). \
         Also: <a href=\"findings.md\">findings.md</a>, <a href=\"matrix.md\">matrix.md</a>, \
         the runs' conformance report <a href=\"{runs_dir}/report.html\">{runs_dir}/report.html</a>.</p>\n",
        esc(&m.generator),
        esc(&m.written),
        if m.quick {
            " by the quick form (cases that wait long on an implementation's own timers SKIPPED)"
        } else {
            ""
        },
        m.duration_ms / 1000.0,
        m.implementations.len(),
        m.findings.len(),
        m.unchecked.len()
    ));
    body.push_str("<nav class=\"toc\"><a href=\"#implementations\">Implementations</a><a href=\"#findings\">Findings</a>");
    if !m.unchecked.is_empty() {
        body.push_str("<a href=\"#unchecked\">Not yet checked by hand</a>");
    }
    body.push_str("<a href=\"#matrix\">Cases</a></nav>\n");

    // The implementations.
    body.push_str("<h2 id=\"implementations\">Implementations</h2>\n<table><tr><th>implementation</th><th>role</th><th>tested</th><th>protocols</th><th>transports</th>");
    for v in Verdict::ALL {
        body.push_str(&format!("<th class=\"{0}\">{0}</th>", v.name()));
    }
    body.push_str(
        "<th>accepted</th><th>open</th><th>findings</th><th>wall time</th><th>command</th></tr>\n",
    );
    for i in &m.implementations {
        let findings = m.findings.iter().filter(|f| f.target == i.target).count();
        body.push_str(&format!(
            "<tr><td class=\"id\">{}</td><td>{}</td><td style=\"min-width:24em\">{}<br><code class=\"cmd\">{}</code></td><td style=\"white-space:nowrap\">{}</td><td>{}</td>",
            esc(&i.name),
            i.role.name(),
            esc(&i.tested),
            esc(&i.command),
            i.protocols.iter().map(|p| esc(p)).collect::<Vec<_>>().join("<br>"),
            i.transports.iter().map(|t| esc(t)).collect::<Vec<_>>().join("<br>")
        ));
        for v in Verdict::ALL {
            body.push_str(&format!(
                "<td>{}</td>",
                i.counts.get(v.name()).copied().unwrap_or(0)
            ));
        }
        let findings_cell = match i.kind {
            Kind::ThirdParty if findings > 0 => format!(
                "<a href=\"#findings-{}\">{findings}</a>",
                esc(&slug(&i.target))
            ),
            Kind::ThirdParty => "0".to_owned(),
            Kind::Official => "ground truth".to_owned(),
            Kind::Reference => "siospec's own".to_owned(),
        };
        body.push_str(&format!(
            "<td>{}</td><td class=\"{}\">{}</td><td>{findings_cell}</td><td>{:.1} s</td></tr>\n",
            i.accepted,
            if i.open > 0 { "FAILED" } else { "" },
            i.open,
            i.duration_ms / 1000.0
        ));
    }
    body.push_str("</table>\n");
    body.push_str(&legend());

    // The findings.
    body.push_str(&format!(
        "<h2 id=\"findings\">Findings</h2>\n<p>{}</p>\n",
        esc(crate::matrix::FINDINGS_NOTE)
    ));
    if m.findings.is_empty() {
        body.push_str("<p class=\"none\">No findings.</p>\n");
    }
    let mut current = "";
    for (n, f) in m.findings.iter().enumerate() {
        if f.target != current {
            current = &f.target;
            body.push_str(&format!(
                "<h3 id=\"findings-{}\">{} as a {}</h3><p>{}{}</p>\n",
                esc(&slug(&f.target)),
                esc(&f.implementation),
                f.role.name(),
                esc(&f.tested),
                match &f.issues {
                    Some(url) => format!(" — report upstream: <a href=\"{0}\">{0}</a>", esc(url)),
                    None => String::new(),
                }
            ));
        }
        let first = &f.cases[0];
        body.push_str(&format!(
            "<div class=\"findings\" id=\"F{}\"><h3>F{}. <span class=\"id\">{}</span> — {}</h3>",
            n + 1,
            n + 1,
            esc(&f.id),
            esc(f.severity.as_deref().unwrap_or("not rated"))
        ));
        body.push_str(&format!(
            "<p><b>What {} does</b> (checked by hand): {}</p><p><b>What the protocol says:</b></p>",
            esc(&f.implementation),
            esc(&f.observed)
        ));
        for c in f.cases.iter().take(3) {
            body.push_str(&format!(
                "<blockquote>{}<br><small>— <a href=\"{}\">{}</a> ({}; case <span class=\"id\">{}</span>)</small></blockquote>",
                esc(&c.requirement),
                esc(&c.spec_url),
                esc(&c.spec),
                esc(&c.level),
                esc(&c.id)
            ));
        }
        if let Some(expected) = first.expected.first() {
            body.push_str(&format!(
                "<p><b>Expected</b> (<span class=\"id\">{}</span>): {}</p>",
                esc(&first.id),
                esc(expected)
            ));
        }
        body.push_str(&format!(
            "<p><b>What the official implementation does:</b> {}.</p><p><b>Cases:</b></p><ul>",
            esc(&crate::matrix::official_words(f))
        ));
        for c in &f.cases {
            body.push_str(&format!(
                "<li><a class=\"id\" href=\"{}\">{}</a> <span class=\"{v}\">{v}</span>: {}</li>",
                esc(&c.page),
                esc(&c.id),
                esc(&c.actual),
                v = c.verdict.name()
            ));
        }
        body.push_str("</ul>");
        if !first.trace.is_empty() {
            body.push_str(&format!(
                "<p><b>Wire trace</b> (<span class=\"id\">{}</span>; → to the implementation, ← from it):</p><pre>{}</pre>",
                esc(&first.id),
                esc(&first.trace.join("\n"))
            ));
        }
        body.push_str(&format!(
            "<p><b>Reproduce:</b> <code class=\"cmd\">{}</code></p></div>\n",
            esc(&first.command)
        ));
    }
    if !m.unchecked.is_empty() {
        body.push_str("<h2 id=\"unchecked\">Not yet checked by hand</h2>\n<p>Non-OK verdicts of third-party implementations that no baseline entry accepts: not findings until someone checks them on the wire.</p><ul>");
        for u in &m.unchecked {
            body.push_str(&format!(
                "<li><span class=\"id\">{}</span> on {}: <span class=\"{v}\">{v}</span> — {}</li>",
                esc(&u.case),
                esc(&u.target),
                esc(&u.actual),
                v = u.verdict.name()
            ));
        }
        body.push_str("</ul>\n");
    }
    body.push_str(&cases_html(runs, catalogue, &format!("{runs_dir}/")));
    page("siospec interoperability matrix", &body)
}
