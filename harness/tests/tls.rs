//! TLS: the same verdicts over https as over http, the eio4.tls cases
//! failing against certificates that break their rule, and clear refusals
//! (exit 2) of what cannot be reached. Every certificate is made here, by a
//! throwaway CA; nothing that expires is committed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use siospec::case::Verdict;
use siospec::peer::Peer;
use siospec::runner::CaseResult;
use siospec::target::Target;
use siospec::tls::{Pki, Validity};

fn verdicts(results: &[CaseResult]) -> BTreeMap<String, Verdict> {
    results.iter().map(|r| (r.id.clone(), r.verdict)).collect()
}

/// The whole catalogue against the peer `name` over http and over https:
/// the same verdict for every case but the eio4.tls ones, SKIPPED over
/// http and OK over https.
async fn same_verdicts_over_tls(name: &str) {
    let plain = Target::Peer(Peer::named(name).expect("manifest reads"));
    let tls = Target::Peer(
        Peer::named(name)
            .and_then(Peer::over_tls)
            .expect("the peer serves TLS"),
    );
    let (_, plain) = common::run(&plain, &[], &[], 4).await;
    let (_, tls) = common::run(&tls, &[], &[], 4).await;
    assert_eq!(plain.len(), common::default_parser_cases());
    let (plain, tls) = (verdicts(&plain), verdicts(&tls));
    let mut differ = Vec::new();
    for (id, over_http) in &plain {
        let over_https = tls[id];
        let expected = if id.starts_with("eio4.tls.") {
            assert_eq!(*over_http, Verdict::Skipped, "{id} over http");
            Verdict::Ok
        } else {
            *over_http
        };
        if over_https != expected {
            differ.push(format!(
                "{id}: {over_http} over http, {over_https} over https"
            ));
        }
    }
    assert!(differ.is_empty(), "{name}:\n{}", differ.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_server_gives_the_same_verdicts_over_tls() {
    same_verdicts_over_tls("rust").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_peer_gives_the_same_verdicts_over_tls() {
    common::node_dir();
    same_verdicts_over_tls("node").await;
}

/// A folder of PEM files: `ca.pem`, and `NAME.pem` / `NAME-key.pem` per
/// certificate; removed on drop.
struct Files(PathBuf);

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Files {
    fn new(tag: &str) -> (Files, Pki) {
        let dir =
            std::env::temp_dir().join(format!("siospec-tls-test-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("folder");
        let pki = Pki::new().expect("a CA");
        std::fs::write(dir.join("ca.pem"), pki.ca_pem()).expect("writes");
        (Files(dir), pki)
    }

    fn issue(&self, pki: &Pki, name: &str, hosts: &[&str], validity: Validity) -> (String, String) {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let (cert, key) = pki.issue(&hosts, validity).expect("issues");
        let (c, k) = (
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}-key.pem")),
        );
        std::fs::write(&c, cert).expect("writes");
        std::fs::write(&k, key).expect("writes");
        (c, k)
    }

    fn path(&self, file: &str) -> String {
        self.0.join(file).display().to_string()
    }
}

/// `siospec serve --profile suite` presenting `cert`.
fn serve_tls(cert: &str, key: &str) -> common::Serve {
    common::serve(&["--profile", "suite", "--tls-cert", cert, "--tls-key", key])
}

/// `test server --url URL` with `extra`, into its own report folder; the
/// exit status, stderr, and each case's verdict.
fn test_server(
    url: &str,
    extra: &[&str],
    reports: &Path,
) -> (i32, String, BTreeMap<String, String>) {
    let dir = reports.display().to_string();
    let mut args = vec!["test", "server", "--url", url, "--report-dir", &dir];
    args.extend_from_slice(extra);
    let (code, _, err) = common::siospec(&args);
    let mut verdicts = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(reports.join("index.json")) {
        let index: serde_json::Value = serde_json::from_str(&text).expect("index.json parses");
        for target in index["targets"].as_object().expect("targets").values() {
            for (id, case) in target["cases"].as_object().expect("cases") {
                let verdict = case["verdict"].as_str().expect("verdict");
                verdicts.insert(id.clone(), verdict.to_owned());
            }
        }
    }
    (code, err, verdicts)
}

/// [`test_server`] on the eio4 suite.
fn test_eio4(url: &str, extra: &[&str], reports: &Path) -> (i32, String, BTreeMap<String, String>) {
    let mut args = vec!["--suite", "eio4"];
    args.extend_from_slice(extra);
    test_server(url, &args, reports)
}

/// The flags that make `siospec serve` the suites' server for every suite.
const WHOLE_CATALOGUE: [&str; 5] = ["--profile", "suite", "--allow-eio3", "--recovery", "2000"];

#[test]
fn a_self_signed_server_gets_the_same_verdicts_as_over_http_with_its_certificate_as_ca() {
    let mut args = WHOLE_CATALOGUE.to_vec();
    args.push("--tls-self-signed");
    let server = common::serve(&args);
    // `(self-signed certificate FILE, SHA-256 AB:…; clients: --ca FILE)`
    let file = server
        .2
        .strip_prefix("(self-signed certificate ")
        .and_then(|rest| rest.split(',').next())
        .expect("names the certificate's file")
        .to_owned();
    assert!(server.2.contains("SHA-256 "), "{}", server.2);
    assert!(Path::new(&file).is_file(), "{file}");
    let url = format!("https://{}", server.1);
    let (files, _) = Files::new("self-signed");
    // The whole catalogue, over https and over http.
    let (code, err, over_https) = test_server(&url, &["--ca", &file], &files.0.join("trusted"));
    assert_eq!(code, 0, "{err}");
    let plain = common::serve(&WHOLE_CATALOGUE);
    let (_, err, over_http) =
        test_server(&format!("http://{}", plain.1), &[], &files.0.join("plain"));
    assert_eq!(over_http.len(), common::default_parser_cases(), "{err}");
    assert_eq!(over_https.len(), over_http.len());
    for (id, verdict) in &over_http {
        let expected = match id.starts_with("eio4.tls.") {
            true => {
                assert_eq!(verdict, "SKIPPED", "{id} over http");
                "OK"
            }
            false => verdict.as_str(),
        };
        assert_eq!(over_https[id], expected, "{id}");
    }
    // Without --ca: refused, saying what to pass.
    let (code, err, verdicts) = test_eio4(&url, &[], &files.0.join("untrusted"));
    assert_eq!(code, 2, "{err}");
    assert!(verdicts.is_empty(), "no case ran");
    assert!(
        err.contains("not signed by a trusted certificate authority"),
        "{err}"
    );
    assert!(err.contains("--ca FILE"), "{err}");
    // Stopped as a user stops it (^C, SIGTERM), the file goes with it.
    let mut server = server;
    let pid = server.0.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    server.0.wait().expect("stops");
    assert!(
        !Path::new(&file).exists(),
        "the certificate's file goes with the server"
    );
}

/// A server presenting a certificate of a throwaway CA for `hosts`: with
/// that CA trusted, the run is refused (exit 2, stderr saying `says` and
/// offering --insecure); with --insecure, the eio4 cases' verdicts.
fn refused_then_judged(
    tag: &str,
    hosts: &[&str],
    validity: Validity,
    says: &str,
) -> BTreeMap<String, String> {
    let (files, pki) = Files::new(tag);
    let (cert, key) = files.issue(&pki, tag, hosts, validity);
    let server = serve_tls(&cert, &key);
    let url = format!("https://{}", server.1);
    let ca = files.path("ca.pem");
    let (code, err, _) = test_eio4(&url, &["--ca", &ca], &files.0.join("refused"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(says), "{err}");
    assert!(err.contains("--insecure"), "{err}");
    let insecure = ["--ca", ca.as_str(), "--insecure"];
    test_eio4(&url, &insecure, &files.0.join("insecure")).2
}

#[test]
fn a_certificate_for_another_name_is_refused_and_fails_only_its_case() {
    let verdicts = refused_then_judged(
        "wrong-name",
        &["other.example"],
        Validity::Current,
        "not valid for name",
    );
    assert_eq!(verdicts["eio4.tls.certificate-name"], "FAILED");
    assert_eq!(verdicts["eio4.tls.certificate-expiry"], "OK");
    only_tls_cases_differ(&verdicts, &["eio4.tls.certificate-name"]);
}

#[test]
fn an_expired_certificate_is_refused_and_fails_only_its_case() {
    let hosts = ["localhost", "127.0.0.1"];
    let verdicts = refused_then_judged("expired", &hosts, Validity::Expired, "expired");
    assert_eq!(verdicts["eio4.tls.certificate-expiry"], "FAILED");
    // The name is checked only once the dates pass.
    assert_eq!(verdicts["eio4.tls.certificate-name"], "SKIPPED");
    only_tls_cases_differ(
        &verdicts,
        &["eio4.tls.certificate-expiry", "eio4.tls.certificate-name"],
    );
}

/// Every eio4 case but `judged` as the reference server gives it over
/// http, the other eio4.tls ones OK: the certificate shows up in its own
/// case and nowhere else.
fn only_tls_cases_differ(verdicts: &BTreeMap<String, String>, judged: &[&str]) {
    let server = common::serve(&["--profile", "suite"]);
    let (files, _) = Files::new(&format!("plain-{}", judged[0]));
    let (_, err, plain) = test_eio4(&format!("http://{}", server.1), &[], &files.0.join("plain"));
    assert_eq!(plain.len(), verdicts.len(), "{err}");
    for (id, verdict) in verdicts {
        if judged.contains(&id.as_str()) {
            continue;
        }
        let expected = if id.starts_with("eio4.tls.") {
            "OK"
        } else {
            plain[id].as_str()
        };
        assert_eq!(verdict, expected, "{id}");
    }
}

#[test]
fn a_plain_server_at_an_https_url_is_refused() {
    let server = common::serve(&["--profile", "suite"]);
    let (files, _) = Files::new("plain-at-https");
    let (code, err, verdicts) =
        test_eio4(&format!("https://{}", server.1), &[], &files.0.join("r"));
    assert_eq!(code, 2, "{err}");
    assert!(verdicts.is_empty(), "no case ran");
    assert!(err.contains("did not answer in TLS"), "{err}");
    assert!(err.contains("Use http:// in the URL"), "{err}");
}

#[test]
fn an_https_server_at_an_http_url_is_refused_with_a_hint() {
    let server = common::serve(&["--profile", "suite", "--tls-self-signed"]);
    let (files, _) = Files::new("https-at-plain");
    let (code, err, _) = test_eio4(&format!("http://{}", server.1), &[], &files.0.join("r"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("https://"), "{err}");
}

#[test]
fn a_ca_certificate_presented_as_the_server_s_is_refused_with_what_to_change() {
    // As `openssl req -x509` makes them by default: CA:TRUE.
    let (files, _) = Files::new("ca-as-server");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-signed");
    let (cert_file, key_file) = (files.path("ca-cert.pem"), files.path("ca-key.pem"));
    std::fs::write(&cert_file, cert.pem()).expect("writes");
    std::fs::write(&key_file, key.serialize_pem()).expect("writes");
    let server = serve_tls(&cert_file, &key_file);
    let url = format!("https://{}", server.1);
    let (code, err, _) = test_eio4(&url, &["--ca", &cert_file], &files.0.join("r"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("basicConstraints CA:TRUE"), "{err}");
    assert!(err.contains("CA:FALSE"), "{err}");
}

#[test]
fn a_client_that_does_not_trust_siospec_ca_is_told_so() {
    // The official client given the URL but not the CA: its handshakes fail.
    let dir = common::node_dir();
    let client = format!(
        "node -e \"require('{}/node_modules/socket.io-client').io(process.env.SIOSPEC_URL)\"",
        dir.display()
    );
    let (files, _) = Files::new("client-ca");
    let reports = files.path("r");
    let (code, _, err) = common::siospec(&[
        "test",
        "client",
        "--tls",
        "--exec",
        &client,
        "--report-dir",
        &reports,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("failed its TLS handshake"), "{err}");
    assert!(err.contains("SIOSPEC_CA"), "{err}");
}

/// A TLS terminator in front of the plain server at `backend`, as a proxy
/// left without WebSocket forwarding for upgrades would be: a WebSocket
/// request of a polling session (a `sid` in it) gets 400, everything else
/// goes through. One request per connection, as siospec sends them.
async fn proxy_refusing_upgrades(backend: String, tls: siospec::tls::ServerTls) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (tls, backend) = (tls.clone(), backend.clone());
            tokio::spawn(async move {
                let Ok(mut client) = tls.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                if text.contains("upgrade: websocket") && text.contains("sid=") {
                    let refusal = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    let _ = client.write_all(refusal).await;
                    return;
                }
                let Ok(mut server) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                if server.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_proxy_that_refuses_the_upgrade_fails_the_upgrade_case() {
    let (files, pki) = Files::new("proxy");
    let backend = common::serve(&["--profile", "suite"]);
    let names = ["127.0.0.1".to_owned()];
    let tls = pki.server(&names, Validity::Current).expect("certificate");
    let addr = proxy_refusing_upgrades(backend.1.clone(), tls).await;
    let ca = files.path("ca.pem");
    let reports = files.0.join("r");
    let (_, err, verdicts) = tokio::task::spawn_blocking(move || {
        test_eio4(
            &format!("https://{addr}"),
            &["--ca", &ca, "--case", "eio4.tls.*"],
            &reports,
        )
    })
    .await
    .expect("runs");
    assert_eq!(verdicts["eio4.tls.upgrade"], "FAILED", "{err}");
    assert_eq!(verdicts["eio4.tls.certificate-name"], "OK");
    assert_eq!(verdicts["eio4.tls.certificate-expiry"], "OK");
}
