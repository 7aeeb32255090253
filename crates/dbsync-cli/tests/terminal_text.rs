//! The real `dbsync` binary against a server whose text holds control characters: tables, CSV
//! and errors show them as escapes, the JSON formats keep the exact value.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;

use assert_cmd::Command;
use serde_json::{Value, json};

/// Sets the terminal's window title, then rings the bell.
const PWNED: &str = "\u{1b}]0;pwned\u{7}";

/// The record the server answers, with the sequence in a key and in values (and a C1 CSI).
fn hostile_record() -> Value {
    json!({"id": "1", PWNED: format!("title{PWNED}"), "note": "\u{9b}2J é 日本 🦀"})
}

/// A server on 127.0.0.1 answering every request from the request line alone.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let _ = std::io::Read::read_exact(&mut reader, &mut vec![0; length]);
            let (status, body) = answer(&request_line);
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn answer(request_line: &str) -> (&'static str, Value) {
    let path = request_line.split(' ').nth(1).unwrap_or("");
    let error = |code: u16| {
        json!({"error": {
            "code": code,
            "message": format!("no{PWNED}pe"),
            "details": [{"field": PWNED, "message": format!("must not{PWNED}")}],
        }})
    };
    if path == "/v1/records" || path.starts_with("/v1/records?") {
        let meta = json!({"limit": 100, "offset": 0, "total": 1});
        ("200 OK", json!({"data": [hostile_record()], "meta": meta}))
    } else if path == "/v1/records/1" {
        ("200 OK", hostile_record())
    } else if path == "/v1/records/bad" || path == "/v1/records/batch" {
        ("400 Bad Request", error(400))
    } else {
        ("404 Not Found", error(404))
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn dbsync(url: &str, args: &[&str]) -> Run {
    let mut cmd = Command::cargo_bin("dbsync").unwrap();
    for (var, _) in std::env::vars() {
        if var.starts_with("DBSYNC_") {
            cmd.env_remove(var);
        }
    }
    let config = tempfile::tempdir().unwrap();
    cmd.env("DBSYNC_CONFIG_DIR", config.path());
    let output = cmd
        .args(["--url", url, "--max-retries", "0"])
        .args(args)
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// No ESC, BEL, C1 or other control character but line ends (CSV may keep tabs).
fn assert_printable(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what}: {bad:?} in {text:?}");
}

#[test]
fn tables_and_csv_show_a_servers_control_characters_as_escapes() {
    let url = serve();
    for args in [
        &["list", "--format", "table"][..],
        &["get", "1", "--format", "table"],
        &["list", "--format", "csv"],
        &["get", "1", "--format", "csv"],
    ] {
        let out = dbsync(&url, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_printable(&format!("{args:?} stdout"), &out.stdout);
        assert_printable(&format!("{args:?} stderr"), &out.stderr);
        assert!(
            out.stdout.contains("\\u{1b}]0;pwned\\u{7}"),
            "{args:?}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains("title\\u{1b}]0;pwned\\u{7}"),
            "{args:?}"
        );
        assert!(out.stdout.contains("\\u{9b}2J é 日本 🦀"), "{args:?}");
    }
    // CSV stays CSV: the escaped key is a header, the escaped value its field.
    let out = dbsync(&url, &["list", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let column = headers
        .iter()
        .position(|h| h == "\\u{1b}]0;pwned\\u{7}")
        .unwrap();
    assert_eq!(&row[column], "title\\u{1b}]0;pwned\\u{7}");
}

#[test]
fn json_formats_keep_the_exact_value() {
    let url = serve();
    for args in [
        &["list", "--format", "jsonl"][..],
        &["list", "--format", "json"],
        &["get", "1", "--format", "json"],
        &["get", "1", "--format", "jsonl"],
    ] {
        let out = dbsync(&url, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_printable(&format!("{args:?} stdout"), &out.stdout);
        let value: Value = serde_json::from_str(&out.stdout).unwrap();
        let record = match value {
            Value::Array(mut records) => records.remove(0),
            record => record,
        };
        assert_eq!(record, hostile_record(), "{args:?}");
    }
}

#[test]
fn a_servers_error_text_reaches_stderr_escaped() {
    let url = serve();
    for (args, code) in [
        (&["get", "bad"][..], 5),
        (&["get", "gone"], 4),
        (&["delete", "gone"], 4),
    ] {
        let out = dbsync(&url, args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert_printable(&format!("{args:?} stderr"), &out.stderr);
        assert!(
            out.stderr.contains("\\u{1b}]0;pwned\\u{7}"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // A bulk create's failure lines (without --failed).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, "{\"email\":\"a@example.com\"}\n").unwrap();
    let out = dbsync(&url, &["create", "--file", file.to_str().unwrap()]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert_printable("bulk stderr", &out.stderr);
    assert!(
        out.stderr.contains("line 1: ") && out.stderr.contains("\\u{1b}]0;pwned\\u{7}"),
        "{}",
        out.stderr
    );
    // The field and message of each detail too.
    let out = dbsync(&url, &["get", "bad"]);
    assert!(
        out.stderr
            .contains("\n  \\u{1b}]0;pwned\\u{7}: must not\\u{1b}]0;pwned\\u{7}"),
        "{}",
        out.stderr
    );
}
