//! The official parsers, asked one input at a time through
//! `node fixtures/gen/gen.mjs --serve`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

/// A running `gen.mjs --serve`, killed on drop.
pub struct Reference {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Reference {
    /// Starts the reference process. Fails the test with instructions when
    /// node or the pinned packages are missing: these tests never pass silently.
    pub fn start() -> Self {
        let gen = super::fixtures_dir().join("gen");
        assert!(
            gen.join("node_modules/socket.io-parser").is_dir(),
            "the pinned official parsers are not installed: run `scripts/test` (or `cd fixtures/gen && npm ci`); \
             Node.js 18+ and npm are required"
        );
        let mut child = Command::new("node")
            .arg("gen.mjs")
            .arg("--serve")
            .current_dir(&gen)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start node ({e}): install Node.js 18+ from https://nodejs.org")
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Reference {
            child,
            stdin,
            stdout,
            line: String::new(),
        }
    }

    /// The official `outcome` and `encoded` for one input.
    pub fn ask(&mut self, layer: &str, input: &Value, options: &Value) -> (Value, Option<Value>) {
        let mut request = json!({ "layer": layer, "input": input });
        if options.is_object() {
            request["options"] = options.clone();
        }
        writeln!(self.stdin, "{request}").expect("write to the reference process");
        self.stdin.flush().expect("flush to the reference process");
        self.line.clear();
        self.stdout
            .read_line(&mut self.line)
            .expect("read from the reference process");
        let answer: Value = serde_json::from_str(&self.line).expect("the reference answers JSON");
        assert!(
            answer.get("internal_error").is_none(),
            "reference failed on {request}: {answer}"
        );
        (answer["outcome"].clone(), answer.get("encoded").cloned())
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
