//! `query-status --human`: a text view with progress bars.

use serde_json::Value;

/// A text progress bar of `width` cells for `pct` (0–100).
fn bar(pct: f64, width: usize) -> String {
    let filled = ((pct.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

fn pct_of(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.trim_end_matches('%').trim().parse().ok())
        .unwrap_or(0.0)
}

fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < units.len() {
        x /= 1024.0;
        u += 1;
    }
    format!("{x:.1} {}", units[u])
}

/// `query-status --human`: one block per subtask with Dump/Load progress bars.
pub fn human_status(v: &Value) -> String {
    let mut out = String::new();
    if let Some(tasks) = v.get("tasks").and_then(Value::as_array) {
        for t in tasks {
            out.push_str(&format!(
                "{:<24} {}\n",
                t["taskName"].as_str().unwrap_or(""),
                t["taskStatus"].as_str().unwrap_or("")
            ));
        }
        return out;
    }
    if let Some(msg) = v
        .get("msg")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    {
        out.push_str(&format!("{msg}\n"));
    }
    for src in v
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for sub in src["subTaskStatus"].as_array().into_iter().flatten() {
            let load = &sub["load"];
            let dump = &sub["dump"];
            out.push_str(&format!(
                "task {}  source {}  stage {}  unit {}\n",
                sub["name"].as_str().unwrap_or(""),
                src["sourceStatus"]["source"].as_str().unwrap_or(""),
                sub["stage"].as_str().unwrap_or(""),
                sub["unit"].as_str().unwrap_or("")
            ));
            out.push_str(&format!(
                "  dump {} {:>7}  tables {}/{}  rows {}/{} (est.)  {}/s\n",
                bar(pct_of(&dump["progress"]), 30),
                dump["progress"].as_str().unwrap_or(""),
                dump["completedTables"],
                dump["totalTables"],
                dump["finishedRows"],
                dump["estimateTotalRows"],
                human_bytes(dump["bps"].as_u64().unwrap_or(0))
            ));
            out.push_str(&format!(
                "  load {} {:>7}  chunks {}/{}  rows {}  {}  {}/s  {} rows/s\n",
                bar(pct_of(&load["progress"]), 30),
                load["progress"].as_str().unwrap_or(""),
                load["finishedChunks"],
                load["totalChunks"],
                load["finishedRows"],
                human_bytes(load["finishedBytes"].as_u64().unwrap_or(0)),
                human_bytes(load["bps"].as_u64().unwrap_or(0)),
                load["rps"]
            ));
            if let Some(m) = load["metaBinlog"].as_str().filter(|m| !m.is_empty()) {
                out.push_str(&format!(
                    "  start position {m} {}\n",
                    load["metaBinlogGTID"].as_str().unwrap_or("")
                ));
            }
            for e in sub["result"]["errors"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  error: {}\n",
                    e["Message"].as_str().unwrap_or("")
                ));
            }
        }
    }
    out
}
