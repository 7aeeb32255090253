//! `dbsync export` (resumable, incremental, partitioned), CSV input, `delete --file` and stdin,
//! `--dry-run` and the delete confirmation: the real binary against the sandbox (127.0.0.1:0).

mod common;

use common::{jsonl, run};

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use dbsync_sandbox::Sandbox;
use serde_json::{Value, json};

const TOKEN: &str = "tok-input-export-never-print";

type Env = common::TestEnv;

fn count(env: &Env) -> usize {
    env.sandbox.record_count("records")
}

/// Requests other than GET the sandbox has answered.
fn writes_seen(env: &Env) -> usize {
    env.sandbox
        .request_log()
        .iter()
        .filter(|e| e.method != "GET")
        .count()
}

/// Every record's id, by a plain list.
fn all_ids(env: &Env) -> Vec<String> {
    let out = run(env.cmd().args(["list", "--all", "--format", "jsonl"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    jsonl(&out.stdout).iter().map(id_of).collect()
}

fn id_of(record: &Value) -> String {
    match &record["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The ids of an export file, each with how many times it appears.
fn exported(path: &Path) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for record in jsonl(&std::fs::read_to_string(path).unwrap()) {
        *seen.entry(id_of(&record)).or_insert(0) += 1;
    }
    seen
}

fn once_each(ids: &[String]) -> BTreeMap<String, usize> {
    ids.iter().map(|id| (id.clone(), 1)).collect()
}

// ---------------------------------------------------------------------------------------------
// dbsync export

#[test]
fn export_writes_every_record_once() {
    let env = Env::seeded(250, TOKEN);
    let out = env.path("all.jsonl");
    let r = run(env
        .cmd()
        .args(["export", "--page-size", "40", "--out"])
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(exported(&out), once_each(&all_ids(&env)));
    let csv = env.path("all.csv");
    let r = run(env
        .cmd()
        .args(["export", "--format", "csv", "--out"])
        .arg(&csv));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("JSON Lines only"), "{}", r.stderr);
    assert!(!csv.exists(), "nothing written");
}

#[test]
fn export_stopped_then_resumed_writes_every_record_exactly_once() {
    let env = Env::seeded(230, TOKEN);
    let (out, checkpoint) = (env.path("out.jsonl"), env.path("out.checkpoint"));
    let export = |stop: &str| {
        run(env
            .cmd()
            .args(["export", "--page-size", "25", "--stop-after", stop, "--out"])
            .arg(&out)
            .arg("--checkpoint")
            .arg(&checkpoint))
    };
    let r = export("70");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("--stop-after"), "{}", r.stderr);
    assert_eq!(exported(&out).len(), 70);
    assert!(checkpoint.exists());
    // A crash after the checkpoint leaves records past it in the output: they are cut off and
    // written again once.
    let mut text = std::fs::read_to_string(&out).unwrap();
    text.push_str("{\"id\":\"half-writ");
    std::fs::write(&out, text).unwrap();
    let r = export("100");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(exported(&out).len(), 170);
    let r = export("1000");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !checkpoint.exists(),
        "a completed export removes its checkpoint"
    );
    assert_eq!(exported(&out), once_each(&all_ids(&env)));
}

#[test]
fn export_killed_mid_way_then_resumed_writes_every_record_exactly_once() {
    let env = Env::bearer(
        Sandbox::builder()
            .seed_records(400)
            .latency(Duration::from_millis(100)),
        TOKEN,
    );
    let (out, checkpoint) = (env.path("out.jsonl"), env.path("out.checkpoint"));
    let args = |cmd: &mut std::process::Command| {
        cmd.args(["export", "--page-size", "10", "--checkpoint-every", "15"])
            .arg("--out")
            .arg(&out)
            .arg("--checkpoint")
            .arg(&checkpoint);
    };
    let mut first = env.cmd_std();
    args(&mut first);
    let mut child = first
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL: no chance to save anything) once a checkpoint exists and more records
    // have been written after it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !(checkpoint.exists() && exported_len(&out) > 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = exported_len(&out);
    assert!(partial < 400, "the export finished before the kill");
    let mut second = env.cmd_std();
    args(&mut second);
    let r = run(&mut Command::from_std(second));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(exported(&out), once_each(&all_ids(&env)));
}

#[test]
fn export_interrupted_by_ctrl_c_saves_its_checkpoint_and_resumes_exactly_once() {
    let env = Env::bearer(
        Sandbox::builder()
            .seed_records(300)
            .latency(Duration::from_millis(100)),
        TOKEN,
    );
    let (out, checkpoint) = (env.path("out.jsonl"), env.path("out.checkpoint"));
    let args = |cmd: &mut std::process::Command| {
        cmd.args(["export", "--page-size", "10", "--out"])
            .arg(&out)
            .arg("--checkpoint")
            .arg(&checkpoint);
    };
    let mut first = env.cmd_std();
    args(&mut first);
    let child = first
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while exported_len(&out) < 15 {
        assert!(std::time::Instant::now() < deadline, "nothing exported");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted after"), "{stderr}");
    assert!(checkpoint.exists(), "Ctrl-C saves the checkpoint");
    let saved = exported(&out);
    assert!(
        saved.len() < 300 && saved.values().all(|n| *n == 1),
        "{}",
        saved.len()
    );
    let mut second = env.cmd_std();
    args(&mut second);
    let r = run(&mut Command::from_std(second));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(exported(&out), once_each(&all_ids(&env)));
}

fn exported_len(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

#[test]
fn export_with_a_checkpoint_of_another_export_is_refused() {
    let env = Env::seeded(30, TOKEN);
    let (out, checkpoint) = (env.path("out.jsonl"), env.path("cp.json"));
    let r = run(env
        .cmd()
        .args(["export", "--stop-after", "5", "--out"])
        .arg(&out)
        .arg("--checkpoint")
        .arg(&checkpoint));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(env
        .cmd()
        .args(["export", "--partition", "0/2", "--out"])
        .arg(&out)
        .arg("--checkpoint")
        .arg(&checkpoint));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("another export"), "{}", r.stderr);
    assert_eq!(exported(&out).len(), 5, "the output is untouched");
}

#[test]
fn incremental_export_picks_up_only_the_records_changed_since_the_last_run() {
    let env = Env::seeded(60, TOKEN);
    let state = env.path("state.json");
    let export = |out: &Path| {
        run(env
            .cmd()
            .args(["export", "--out"])
            .arg(out)
            .arg("--state")
            .arg(&state))
    };
    let first = env.path("first.jsonl");
    let r = export(&first);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(exported(&first), once_each(&all_ids(&env)));
    let watermark: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(watermark["watermark"].is_string(), "{watermark}");

    let ids = all_ids(&env);
    let changed = [ids[3].clone(), ids[40].clone()];
    for id in &changed {
        let r = run(env
            .cmd()
            .args(["update", id, "--data", r#"{"first_name":"Changed"}"#]));
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // Changes are read once they are older than the settle time (1 s).
    std::thread::sleep(Duration::from_millis(1300));
    let second = env.path("second.jsonl");
    let r = export(&second);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(exported(&second), once_each(&changed));
    // Nothing changed since: the third run exports nothing.
    let third = env.path("third.jsonl");
    let r = export(&third);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(exported(&third).len(), 0);
}

#[test]
fn export_since_a_time_and_a_bad_time() {
    let env = Env::seeded(20, TOKEN);
    let out = env.path("since.jsonl");
    let r = run(env
        .cmd()
        .args(["export", "--since", "2999-01-01T00:00:00Z", "--out"])
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(exported(&out).len(), 0);
    let r = run(env
        .cmd()
        .args(["export", "--since", "yesterday", "--out"])
        .arg(&out));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("RFC 3339"), "{}", r.stderr);
}

#[test]
fn partitions_cover_every_record_exactly_once() {
    let env = Env::seeded(103, TOKEN);
    let mut all = BTreeMap::new();
    for i in 0..4 {
        let out = env.path(&format!("part{i}.jsonl"));
        let mut cmd = env.cmd();
        cmd.args(["export", "--page-size", "10", "--out"]).arg(&out);
        // Partition 2 takes its index from JOB_COMPLETION_INDEX, like a Kubernetes indexed job.
        if i == 2 {
            cmd.env("JOB_COMPLETION_INDEX", "2")
                .args(["--partition", "4"]);
        } else {
            cmd.args(["--partition", &format!("{i}/4")]);
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let part = exported(&out);
        assert!(part.len() >= 20, "partition {i}: {}", part.len());
        for (id, n) in part {
            *all.entry(id).or_insert(0) += n;
        }
    }
    assert_eq!(all, once_each(&all_ids(&env)));
    let r = run(env
        .cmd()
        .args(["export", "--partition", "4/4", "--out"])
        .arg(env.path("bad.jsonl")));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("I must be below N"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// CSV input

/// The record with this email, read back from the server.
fn by_email(env: &Env, email: &str) -> Value {
    let out = run(env.cmd().args([
        "list",
        "--format",
        "jsonl",
        "--where",
        &format!("email={email}"),
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut records = jsonl(&out.stdout);
    assert_eq!(records.len(), 1, "{email}: {}", out.stdout);
    records.remove(0)
}

const CSV_HEADER: &str =
    "email,first_name,last_name,country,active,age,score,birth_date,phone,tags\n";

#[test]
fn csv_create_converts_each_cell_to_its_field_type() {
    let env = Env::seeded(5, TOKEN);
    let file = env.path("people.csv");
    std::fs::write(
        &file,
        format!(
            "{CSV_HEADER}\
             ada@example.com,Ada,\"Lovelace, Countess\",US,true,36,88.5,1815-12-10,,\"[\"\"math\"\"]\"\n\
             alan@example.com,Alan,Turing,US,no,41,,1912-06-23,+4412345678,\n"
        ),
    )
    .unwrap();
    let r = run(env.cmd().args(["create", "--file"]).arg(&file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&env), 7);
    let ada = by_email(&env, "ada@example.com");
    assert_eq!(ada["last_name"], "Lovelace, Countess");
    assert_eq!(ada["active"], true);
    assert_eq!(ada["age"], 36);
    assert_eq!(ada["score"], 88.5);
    assert_eq!(ada["birth_date"], "1815-12-10");
    assert_eq!(ada["phone"], Value::Null, "an empty nullable cell is null");
    assert_eq!(ada["tags"], json!(["math"]));
    let alan = by_email(&env, "alan@example.com");
    assert_eq!(alan["active"], false);
    assert_eq!(alan["phone"], "+4412345678");
    assert!(alan.get("score").is_none_or(Value::is_null), "{alan}");

    // From stdin, with --input-format csv.
    let r = run(env
        .cmd()
        .args(["create", "--input-format", "csv", "--file", "-"])
        .write_stdin(format!(
            "{CSV_HEADER}grace@example.com,Grace,Hopper,US,1,85,99,,,\n"
        )));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(by_email(&env, "grace@example.com")["age"], 85);
}

#[test]
fn bad_csv_rows_stop_the_command_with_line_and_column_and_send_nothing() {
    let env = Env::seeded(5, TOKEN);
    let writes = writes_seen(&env);
    let good = "ok@example.com,Ok,Row,US,true,30,1,,,\n";
    for (name, text, expected) in [
        (
            "columns.csv",
            // The quoted line break makes the bad row (the 4th) start on line 5.
            format!(
                "{CSV_HEADER}{good}b@example.com,\"Two\nLines\",X,US,true,30,1,,,\nc@example.com,C,US\n"
            ),
            "line 5, column 4: the row has 3 column(s), the header 10",
        ),
        (
            "integer.csv",
            format!("{CSV_HEADER}{good}{good}d@example.com,D,D,US,true,thirty,1,,,\n"),
            "line 4, column 6: `age` (integer): `thirty` is not an integer",
        ),
        (
            "boolean.csv",
            format!("{CSV_HEADER}e@example.com,E,E,US,maybe,30,1,,,\n"),
            "line 2, column 5: `active` (boolean)",
        ),
        (
            "header.csv",
            format!("email,nickname\n{good}"),
            "line 1, column 2: `nickname` is not a field",
        ),
    ] {
        let file = env.path(name);
        std::fs::write(&file, text).unwrap();
        let failed = env.path(&format!("{name}.failed"));
        let r = run(env
            .cmd()
            .args(["create", "--file"])
            .arg(&file)
            .arg("--failed")
            .arg(&failed));
        assert_eq!(r.code, 5, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains("nothing was sent"),
            "{name}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{name}");
        assert_eq!(count(&env), 5, "{name}: nothing created");
        assert_eq!(writes_seen(&env), writes, "{name}: nothing sent");
        assert!(!failed.exists(), "{name}: no failures file half-written");
    }
}

// ---------------------------------------------------------------------------------------------
// --dry-run

#[test]
fn dry_runs_print_what_would_be_sent_and_send_nothing() {
    let env = Env::seeded(20, TOKEN);
    let writes = writes_seen(&env);
    let file = env.path("new.csv");
    std::fs::write(
        &file,
        format!("{CSV_HEADER}dry1@example.com,Dry,One,US,true,30,,,,\ndry2@example.com,Dry,Two,US,false,,,,,\n"),
    )
    .unwrap();
    let r = run(env.cmd().args(["create", "--dry-run", "--file"]).arg(&file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let shown = jsonl(&r.stdout);
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0]["age"], 30);
    assert!(
        r.stderr
            .contains("2 record(s) would be created; nothing was sent"),
        "{}",
        r.stderr
    );

    // An invalid record is reported at its line (exit 5), the valid one still shown.
    let file = env.path("new.jsonl");
    std::fs::write(
        &file,
        "{\"email\":\"dry3@example.com\",\"first_name\":\"D\",\"last_name\":\"T\",\"country\":\"US\",\"active\":true}\n{\"email\":\"not-an-email\"}\n",
    )
    .unwrap();
    let r = run(env.cmd().args(["create", "--dry-run", "--file"]).arg(&file));
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(jsonl(&r.stdout).len(), 1);
    assert!(r.stderr.contains("line 2:"), "{}", r.stderr);

    let id = all_ids(&env)[0].clone();
    let r = run(env.cmd().args([
        "update",
        &id,
        "--dry-run",
        "--data",
        r#"{"first_name":"Never"}"#,
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        jsonl(&r.stdout),
        vec![json!({"id": id, "first_name": "Never"})]
    );
    let r = run(env.cmd().args([
        "create",
        "--dry-run",
        "--data",
        r#"{"email":"x@example.com"}"#,
    ]));
    assert_eq!(r.code, 5, "{}", r.stderr);

    let ids = all_ids(&env);
    let r = run(env
        .cmd()
        .args(["delete", "--dry-run", "--file", "-"])
        .write_stdin(ids[..12].join("\n")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(jsonl(&r.stdout).len(), 12);
    assert_eq!(
        jsonl(&r.stdout)[0],
        json!({"id": ids[0], "would_delete": true})
    );

    assert_eq!(count(&env), 20);
    assert_eq!(writes_seen(&env), writes, "a dry run sends no write");
    assert_ne!(by_email_or_none(&env, &id), Some("Never".into()));
}

fn by_email_or_none(env: &Env, id: &str) -> Option<String> {
    let out = run(env.cmd().args(["get", id, "--format", "jsonl"]));
    jsonl(&out.stdout)
        .first()
        .and_then(|r| r["first_name"].as_str().map(str::to_owned))
}

// ---------------------------------------------------------------------------------------------
// delete --file, stdin, confirmation

#[test]
fn delete_takes_ids_from_a_file_and_from_stdin() {
    let env = Env::seeded(20, TOKEN);
    let ids = all_ids(&env);
    let file = env.path("ids.txt");
    std::fs::write(&file, format!("{}\n\n  {}  \n{}\n", ids[0], ids[1], ids[2])).unwrap();
    let r = run(env.cmd().args(["delete", "--file"]).arg(&file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(jsonl(&r.stdout).len(), 3);
    assert_eq!(count(&env), 17);
    let r = run(env
        .cmd()
        .args(["delete", "-"])
        .write_stdin(format!("{}\n{}\n", ids[3], ids[4])));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&env), 15);
    let left = all_ids(&env);
    assert!(ids[..5].iter().all(|id| !left.contains(id)));
}

#[test]
fn deleting_more_than_ten_without_a_terminal_needs_yes() {
    let env = Env::seeded(20, TOKEN);
    let writes = writes_seen(&env);
    let ids = all_ids(&env);
    let file = env.path("many.txt");
    std::fs::write(&file, ids[..12].join("\n")).unwrap();
    let r = run(env.cmd().args(["delete", "--file"]).arg(&file));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("refusing to delete 12 records"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    let r = run(env.cmd().arg("delete").args(&ids[..11]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(count(&env), 20);
    assert_eq!(writes_seen(&env), writes, "nothing sent");
    // Ten go without asking; more with --yes.
    let r = run(env.cmd().arg("delete").args(&ids[12..]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(env.cmd().args(["delete", "--yes", "--file"]).arg(&file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&env), 0);
}

#[test]
fn a_bad_id_line_deletes_nothing() {
    let env = Env::seeded(5, TOKEN);
    let ids = all_ids(&env);
    let file = env.path("bad.txt");
    std::fs::write(&file, format!("{}\nbad\u{1b}id\n", ids[0])).unwrap();
    let r = run(env.cmd().args(["delete", "--file"]).arg(&file));
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains("line 2: the id has a control character"),
        "{}",
        r.stderr
    );
    assert_eq!(count(&env), 5);
    let r = run(env
        .cmd()
        .args(["delete", "--file"])
        .arg(env.path("missing.txt")));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = run(env
        .cmd()
        .args(["delete", "--file", "-"])
        .write_stdin("\n\n"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(count(&env), 5);
}
