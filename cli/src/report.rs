//! Saved benchmark reports: `wgcnn bench --save FILE.json` writes one document (every
//! workload's results with the adapter, driver, backend, crate version, date and the
//! measured roof), `wgcnn bench --compare A.json B.json` reads two of them and prints
//! each workload's ratio, and `--plot --from FILE.json` draws one again. The peers'
//! script (`scripts/bench_peers.py`) writes the same format, so a comparison can put
//! wgcnn beside PyTorch.
//!
//! The document:
//!
//! ```json
//! {"format": "wgcnn-bench", "version": 1, "crate_version": "0.1.0",
//!  "date": "2026-11-30T14:31:05Z", "adapter": "llvmpipe (LLVM 15.0.6, 256 bits)",
//!  "driver": "llvmpipe Mesa 22.3.6", "backend": "vulkan",
//!  "roof": {"fma_gflops": 83.8, "copy_gbps": 21.8, ...} or null,
//!  "results": [{"workload": "seed_rgb", "median_ms": 0.58, "min_ms": 0.55,
//!               "times_ms": [...], "gpu_ms": 0.54 or null, "gflops": 9.4 or null,
//!               "gbps": null, "flops": 5419008, "bytes": 188480, "intensity": 28.7}]}
//! ```

use std::path::Path;

use serde_json::{Value, json};
use wgcnn::bench::{BenchResult, Roofline};

/// The `format` field of every report.
pub const FORMAT: &str = "wgcnn-bench";
/// The version of the document this build writes and reads.
pub const VERSION: u64 = 1;

/// A report that cannot be read, written or drawn; each names its file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a wgcnn bench report: {reason}")]
    NotAReport { path: String, reason: String },
    #[error("{path}: {reason}")]
    Plot { path: String, reason: String },
}

/// One benchmark run on one device, as saved.
#[derive(Clone, Debug)]
pub struct Report {
    pub crate_version: String,
    /// UTC, ISO 8601 (`2026-11-30T14:31:05Z`).
    pub date: String,
    pub adapter: String,
    /// The driver's name and version (`None` on the CPU reference path).
    pub driver: Option<String>,
    pub backend: String,
    /// The measured roof (`None` when it was not measured).
    pub roof: Option<Roofline>,
    pub results: Vec<BenchResult>,
}

impl Report {
    /// The document.
    pub fn to_json(&self) -> Value {
        json!({
            "format": FORMAT,
            "version": VERSION,
            "crate_version": self.crate_version,
            "date": self.date,
            "adapter": self.adapter,
            "driver": self.driver,
            "backend": self.backend,
            "roof": self.roof.as_ref().map(roof_json),
            "results": self.results.iter().map(BenchResult::to_json).collect::<Vec<_>>(),
        })
    }

    /// Reads a document.
    ///
    /// # Errors
    /// The reason it is not a report of this format and version.
    pub fn from_json(text: &str) -> Result<Report, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let root = Fields {
            obj: root.as_object().ok_or("the document is no JSON object")?,
            what: "the report".into(),
        };
        match root.get("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            Some(other) => return Err(format!("its format is {other}, not \"{FORMAT}\"")),
            None => return Err(format!("it has no \"format\": \"{FORMAT}\"")),
        }
        let version = root.get("version").and_then(Value::as_u64);
        if version != Some(VERSION) {
            return Err(format!(
                "version {}, this build reads version {VERSION}",
                root.get("version").unwrap_or(&Value::Null)
            ));
        }
        let adapter = root.string("adapter")?;
        let backend = root.string("backend")?;
        let roof = match root.get("roof") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_roof(v)?),
        };
        let results = root
            .get("results")
            .and_then(Value::as_array)
            .ok_or("\"results\" is not a list")?
            .iter()
            .enumerate()
            .map(|(i, r)| parse_result(r, i, &adapter, &backend))
            .collect::<Result<_, _>>()?;
        Ok(Report {
            crate_version: root.string("crate_version")?,
            date: root.string("date")?,
            driver: match root.get("driver") {
                None | Some(Value::Null) => None,
                Some(_) => Some(root.string("driver")?),
            },
            adapter,
            backend,
            roof,
            results,
        })
    }

    /// The document as written: the header's fields one a line in the order of
    /// [`Report::to_json`]'s doc, then one line per result.
    pub fn to_text(&self) -> String {
        let doc = self.to_json();
        let mut out = String::from("{\n");
        for key in [
            "format",
            "version",
            "crate_version",
            "date",
            "adapter",
            "driver",
            "backend",
            "roof",
        ] {
            out += &format!("  {}: {},\n", json!(key), doc[key]);
        }
        out += "  \"results\": [";
        for (i, r) in self.results.iter().enumerate() {
            let mut r = r.to_json();
            // 0.1 us is finer than any timer here, and keeps the lists short
            let times: Vec<f64> = self.results[i]
                .times_ms
                .iter()
                .map(|t| (t * 1e4).round() / 1e4)
                .collect();
            r["times_ms"] = json!(times);
            out += if i == 0 { "\n    " } else { ",\n    " };
            out += &r.to_string();
        }
        out + "\n  ]\n}\n"
    }

    /// Writes the document to `path`.
    ///
    /// # Errors
    /// [`ReportError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), ReportError> {
        std::fs::write(path, self.to_text()).map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads the document at `path`.
    ///
    /// # Errors
    /// [`ReportError::Io`]; [`ReportError::NotAReport`] for anything but a report of
    /// this format and version (garbage, another JSON document, a truncated one).
    pub fn load(path: &Path) -> Result<Report, ReportError> {
        let name = || path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
            path: name(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| ReportError::NotAReport {
            path: name(),
            reason: "not UTF-8 text".into(),
        })?;
        Report::from_json(&text).map_err(|reason| ReportError::NotAReport {
            path: name(),
            reason,
        })
    }

    /// `adapter (backend), date`: what a table or chart says the report is.
    pub fn describe(&self) -> String {
        format!("{} ({}), {}", self.adapter, self.backend, self.date)
    }
}

/// A JSON object being read, named for its errors.
struct Fields<'a> {
    obj: &'a serde_json::Map<String, Value>,
    what: String,
}

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.obj.get(key)
    }

    fn string(&self, key: &str) -> Result<String, String> {
        self.get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("{}: \"{key}\" is not a string", self.what))
    }

    /// A finite number, at least 0.
    fn number(&self, key: &str) -> Result<f64, String> {
        self.get(key)
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{}: \"{key}\" is not a number >= 0", self.what))
    }

    /// A number >= 0, or `null`.
    fn optional(&self, key: &str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.number(key).map(Some),
        }
    }
}

fn roof_json(r: &Roofline) -> Value {
    let mut v = r.to_json();
    if let Some(obj) = v.as_object_mut() {
        // the `--json` line's marker; in a report the key says it
        obj.remove("roofline");
    }
    v
}

fn parse_roof(v: &Value) -> Result<Roofline, String> {
    let f = Fields {
        obj: v
            .as_object()
            .ok_or("\"roof\" is neither an object nor null")?,
        what: "the roof".into(),
    };
    Ok(Roofline {
        fma_gflops: f.number("fma_gflops")?,
        copy_gbps: f.number("copy_gbps")?,
        shader_copy_gbps: f.number("shader_copy_gbps")?,
        dispatch_us: f.number("dispatch_us")?,
        extra_dispatch_us: f.number("extra_dispatch_us")?,
    })
}

fn parse_result(v: &Value, i: usize, adapter: &str, backend: &str) -> Result<BenchResult, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("result {i} is no object"))?;
    let name = obj.get("workload").and_then(Value::as_str);
    let f = Fields {
        obj,
        what: name.map_or_else(|| format!("result {i}"), |n| format!("result '{n}'")),
    };
    let workload = f.string("workload")?;
    let times_ms: Vec<f64> = obj
        .get("times_ms")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .map(|t| t.as_f64().filter(|t| t.is_finite() && *t >= 0.0))
                .collect()
        })
        .filter(|t: &Vec<f64>| !t.is_empty())
        .ok_or_else(|| format!("{}: \"times_ms\" is not a list of run times", f.what))?;
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    Ok(BenchResult {
        backend: text("backend").unwrap_or_else(|| backend.to_string()),
        adapter: text("adapter").unwrap_or_else(|| adapter.to_string()),
        runs: times_ms.len(),
        median_ms: f.number("median_ms")?,
        min_ms: f.number("min_ms")?,
        times_ms,
        gpu_ms: f.optional("gpu_ms")?,
        gflops: f.optional("gflops")?,
        gbps: f.optional("gbps")?,
        flops: f.number("flops")?,
        bytes: f.number("bytes")?,
        workload,
    })
}

/// Now, in UTC, as ISO 8601 to the second.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_date(secs)
}

/// Seconds since 1970-01-01T00:00:00Z as ISO 8601 (the proleptic Gregorian calendar).
pub fn utc_date(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // civil_from_days (H. Hinnant): eras of 400 years from 0000-03-01
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// How a workload changed from report A to report B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A median lies inside the other report's spread of runs: noise.
    WithinSpread,
    /// B's median below A's spread, and A's median above B's.
    Faster,
    /// B's median above A's spread, and A's median below B's.
    Slower,
}

/// One workload of two reports.
#[derive(Clone, Debug)]
pub struct CompareRow {
    pub workload: String,
    pub a_ms: f64,
    pub b_ms: f64,
    /// `b_ms / a_ms`: below 1, B is faster.
    pub ratio: f64,
    pub change: Change,
}

/// Two reports side by side.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The workloads in both, in A's order.
    pub rows: Vec<CompareRow>,
    /// The geometric mean of the rows' ratios (`None` with no row).
    pub geomean: Option<f64>,
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
}

/// The middle 80% of a result's runs: from the 10th to the 90th percentile (nearest
/// rank), so that a few stray runs among hundreds do not hide a change (with 3 runs,
/// the minimum and maximum).
pub fn spread(r: &BenchResult) -> (f64, f64) {
    let mut t = r.times_ms.clone();
    t.sort_by(f64::total_cmp);
    let last = t.len().saturating_sub(1) as f64;
    let at = |q: f64| t.get(q as usize).copied().unwrap_or(r.median_ms);
    (at((0.1 * last).floor()), at((0.9 * last).ceil()))
}

/// Compares the medians of every workload in both reports. A change counts only where
/// it is beyond both reports' own spread: B's median outside the middle 80% of A's
/// runs ([`spread`]) and A's median outside that of B's, in the same direction.
pub fn compare(a: &Report, b: &Report) -> Comparison {
    let find = |r: &Report, name: &str| r.results.iter().find(|x| x.workload == name).cloned();
    let mut rows = Vec::new();
    let mut only_a = Vec::new();
    for ra in &a.results {
        let Some(rb) = find(b, &ra.workload) else {
            only_a.push(ra.workload.clone());
            continue;
        };
        let ((a_lo, a_hi), (b_lo, b_hi)) = (spread(ra), spread(&rb));
        let change = if rb.median_ms < a_lo && ra.median_ms > b_hi {
            Change::Faster
        } else if rb.median_ms > a_hi && ra.median_ms < b_lo {
            Change::Slower
        } else {
            Change::WithinSpread
        };
        rows.push(CompareRow {
            workload: ra.workload.clone(),
            a_ms: ra.median_ms,
            b_ms: rb.median_ms,
            ratio: rb.median_ms / ra.median_ms,
            change,
        });
    }
    let only_b = b
        .results
        .iter()
        .filter(|rb| find(a, &rb.workload).is_none())
        .map(|rb| rb.workload.clone())
        .collect();
    // ratios of 0 or inf (a median of 0 ms) would swamp the mean: left out of it
    let logs: Vec<f64> = rows
        .iter()
        .map(|r| r.ratio.ln())
        .filter(|l| l.is_finite())
        .collect();
    let geomean = (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp());
    Comparison {
        rows,
        geomean,
        only_a,
        only_b,
    }
}

impl Comparison {
    /// The `--compare` table.
    pub fn table(&self, a: &Report, b: &Report) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "A: {}", a.describe());
        let _ = writeln!(out, "B: {}", b.describe());
        let width = self
            .rows
            .iter()
            .map(|r| r.workload.len())
            .max()
            .unwrap_or(8)
            .max(8);
        let _ = writeln!(
            out,
            "{:<width$} {:>11} {:>11} {:>7}  change beyond the runs' spread",
            "workload", "A ms", "B ms", "B/A"
        );
        for r in &self.rows {
            let change = match r.change {
                Change::WithinSpread => "",
                Change::Faster => "faster",
                Change::Slower => "slower",
            };
            let line = format!(
                "{:<width$} {:>11.3} {:>11.3} {:>7.3}  {change}",
                r.workload, r.a_ms, r.b_ms, r.ratio
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        match self.geomean {
            Some(g) => {
                let _ = writeln!(
                    out,
                    "geometric mean of B/A over {} workloads: {g:.3}",
                    self.rows.len()
                );
            }
            None => {
                let _ = writeln!(out, "no workload in both reports");
            }
        }
        for (which, names) in [("A", &self.only_a), ("B", &self.only_b)] {
            if !names.is_empty() {
                let _ = writeln!(out, "only in {which}: {}", names.join(", "));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601_in_utc() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_date(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(utc_date(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    fn result(name: &str, times: &[f64]) -> BenchResult {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        BenchResult {
            workload: name.into(),
            backend: "vulkan".into(),
            adapter: "test".into(),
            runs: times.len(),
            median_ms: sorted[sorted.len() / 2],
            min_ms: sorted[0],
            times_ms: times.to_vec(),
            gpu_ms: None,
            gflops: Some(1.0),
            gbps: None,
            flops: 1e6,
            bytes: 1e4,
        }
    }

    fn report(results: Vec<BenchResult>) -> Report {
        Report {
            crate_version: "0.1.0".into(),
            date: utc_date(0),
            adapter: "test".into(),
            driver: None,
            backend: "vulkan".into(),
            roof: None,
            results,
        }
    }

    #[test]
    fn a_change_counts_only_beyond_both_spreads() {
        let a = report(vec![
            result("same", &[1.0, 1.1, 1.2]),
            result("fast", &[2.0, 2.1, 2.2]),
            result("slow", &[1.0, 1.1, 1.2]),
            result("gone", &[1.0]),
        ]);
        let b = report(vec![
            result("new", &[1.0]),
            result("slow", &[2.0, 2.2, 2.4]),
            result("fast", &[1.0, 1.1, 1.2]),
            result("same", &[1.0, 1.15, 5.0]),
        ]);
        let c = compare(&a, &b);
        let changes: Vec<(&str, Change)> = c
            .rows
            .iter()
            .map(|r| (r.workload.as_str(), r.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("same", Change::WithinSpread),
                ("fast", Change::Faster),
                ("slow", Change::Slower)
            ]
        );
        let g = c.geomean.unwrap();
        let want = ((1.15f64 / 1.1) * (1.1 / 2.1) * (2.2 / 1.1)).cbrt();
        assert!((g - want).abs() < 1e-12, "{g} {want}");
        assert_eq!(c.only_a, ["gone"]);
        assert_eq!(c.only_b, ["new"]);
    }

    #[test]
    fn a_few_stray_runs_do_not_hide_a_change() {
        let mut times: Vec<f64> = (0..100).map(|i| 1.0 + f64::from(i % 7) * 0.01).collect();
        times.extend([5.0, 6.0]);
        let a = report(vec![result("pool", &times)]);
        let halved: Vec<f64> = times.iter().map(|t| t / 2.0).collect();
        let b = report(vec![result("pool", &halved)]);
        assert_eq!(compare(&a, &b).rows[0].change, Change::Faster);
        assert_eq!(compare(&b, &a).rows[0].change, Change::Slower);
        assert_eq!(compare(&a, &a).rows[0].change, Change::WithinSpread);
    }

    #[test]
    fn a_saved_report_reads_back() {
        let mut r = report(vec![result("seed_rgb", &[0.5, 0.6, 0.7])]);
        r.roof = Some(Roofline {
            fma_gflops: 80.0,
            copy_gbps: 20.0,
            shader_copy_gbps: 9.0,
            dispatch_us: 80.0,
            extra_dispatch_us: 28.0,
        });
        let back = Report::from_json(&r.to_text()).unwrap();
        assert_eq!(back.to_json(), r.to_json());
        assert!(
            r.to_text()
                .starts_with("{\n  \"format\": \"wgcnn-bench\",\n")
        );
    }

    #[test]
    fn other_documents_are_refused_with_a_reason() {
        for (text, reason) in [
            ("", "invalid JSON"),
            ("[1, 2]", "no JSON object"),
            ("{\"format\": \"other\"}", "its format is \"other\""),
            ("{\"format\": \"wgcnn-bench\", \"version\": 2}", "version 2"),
        ] {
            let err = Report::from_json(text).unwrap_err();
            assert!(err.contains(reason), "{text}: {err}");
        }
        let mut doc = report(vec![result("x", &[1.0])]).to_json();
        doc["results"][0]["times_ms"] = json!([]);
        let err = Report::from_json(&doc.to_string()).unwrap_err();
        assert!(err.contains("result 'x': \"times_ms\""), "{err}");
    }
}
