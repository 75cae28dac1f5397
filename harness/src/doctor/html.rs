//! The diagnosis as one static HTML page, in the style of the conformance
//! reports: a table of the checks, the fix under each problem, and each
//! check's wire trace folded beneath it.

use super::{Diagnosis, Status};
use crate::report::escape::html as esc;

/// The status badge colours, as the reports colour the matching verdicts.
const CSS: &str = ".PROBLEM{background:#d6322f;color:#fff}.WARNING{background:#e0b000;color:#000}\
.INFO{background:#5b8fd1;color:#fff}td.fix{background:#fff8e1}details summary{cursor:pointer;color:#555}";

/// The page.
pub fn page(d: &Diagnosis) -> String {
    let mut body = format!(
        "<style>{CSS}</style><h1>siospec doctor</h1><p><code>{}</code> — {} problem(s), {} \
         warning(s), {} OK, {} skipped, in {:.1} s. Exit status {}.</p>",
        esc(&d.url),
        d.count(Status::Problem),
        d.count(Status::Warning),
        d.count(Status::Ok),
        d.count(Status::Skipped),
        d.millis as f64 / 1000.0,
        d.exit_code()
    );
    body.push_str(
        "<table><tr><th>status</th><th>check</th><th>what it checks</th><th>found</th></tr>",
    );
    for c in &d.checks {
        let label = c.status.label();
        body.push_str(&format!(
            "<tr id=\"{id}\"><td class=\"v {label}\">{label}</td><td class=\"id\">{id}</td>\
             <td>{title}</td><td>{found}",
            id = esc(c.id),
            title = esc(c.title),
            found = esc(&c.found)
        ));
        if !c.trace.is_empty() {
            body.push_str(&format!(
                "<details><summary>wire trace ({} events, {} ms)</summary><pre>{}</pre></details>",
                c.trace.len(),
                c.millis,
                esc(&c.trace.join("\n"))
            ));
        }
        body.push_str("</td></tr>");
        if let Some(fix) = &c.fix {
            body.push_str(&format!(
                "<tr><td></td><td></td><td>fix</td><td class=\"fix\">{}</td></tr>",
                esc(fix)
            ));
        }
    }
    body.push_str("</table>");
    crate::report::html_page(&format!("siospec doctor {}", d.url), &body)
}
