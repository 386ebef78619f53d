//! `cnadesk record validate|lint`: check CVE records and CNA containers from
//! files or standard input.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use cnadesk_cve::schema::{prepare, Problem};
use cnadesk_cve::{lint, Finding, LintContext, SchemaSet, Severity, Target};
use serde::Serialize;
use serde_json::Value;

/// Record subcommands.
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Validate CVE records or CNA containers against the official CVE JSON schema.
    Validate(RecordArgs),
    /// Validate, then check the CNA Operational Rules (errors block publication).
    Lint(RecordArgs),
    /// Convert a published record to another format, written to standard output.
    Export(ExportArgs),
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// OSV 1.7 (the CVE ID becomes the OSV id).
    Osv,
    /// CSAF 2.0 security advisory.
    Csaf,
}

/// What to export.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Target format.
    #[arg(long = "to", value_enum)]
    to: ExportFormat,
    /// A whole published CVE record; `-` reads standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// CSAF publisher name.
    #[arg(long, default_value = "XMPP Standards Foundation")]
    publisher_name: String,
    /// CSAF publisher namespace (a URL the publisher controls).
    #[arg(long, default_value = "https://xmpp.org")]
    publisher_namespace: String,
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let doc = read(&args.file).map_err(|e| anyhow::anyhow!("{}: {e}", name(&args.file)))?;
    let record: cnadesk_cve::CveRecord = serde_json::from_value(doc).map_err(|e| {
        anyhow::anyhow!(
            "{}: not a CVE record ({e}); check it with `cnadesk record validate`",
            name(&args.file)
        )
    })?;
    match args.to {
        ExportFormat::Osv => {
            let osv = cnadesk_cve::osv::to_osv(&record)?;
            let problems = cnadesk_cve::osv::validate_osv(&osv);
            if !problems.is_empty() {
                anyhow::bail!(
                    "the OSV document would not pass the OSV schema:\n  {}",
                    problems.join("\n  ")
                );
            }
            println!("{}", serde_json::to_string_pretty(&osv)?);
        }
        ExportFormat::Csaf => {
            let publisher = cnadesk_cve::csaf::CsafPublisher {
                name: args.publisher_name,
                namespace: args.publisher_namespace,
                canonical_url: None,
            };
            let csaf = cnadesk_cve::csaf::to_csaf(&record, &publisher)?;
            let mut problems = cnadesk_cve::csaf::validate_csaf_schema(&csaf);
            problems.extend(
                cnadesk_cve::csaf::mandatory_tests(&csaf)
                    .into_iter()
                    .map(|(id, m)| format!("CSAF test {id}: {m}")),
            );
            if !problems.is_empty() {
                anyhow::bail!(
                    "the CSAF document would not be valid:\n  {}",
                    problems.join("\n  ")
                );
            }
            println!("{}", serde_json::to_string_pretty(&csaf)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For machines.
    Json,
}

/// Files and options.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// CVE JSON schema version [default: the shipped default].
    #[arg(long, value_name = "VERSION")]
    schema_version: Option<String>,
    /// Files to check (whole records, CNA containers, or CVE Services bodies); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    target: Option<Target>,
    valid: bool,
    problems: Vec<Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<Vec<Finding>>,
}

/// How a file fared, each file counted once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Clean,
    Warnings,
    Errors,
}

impl FileReport {
    fn outcome(&self) -> Outcome {
        let findings = self.findings.iter().flatten();
        if !self.valid || findings.clone().any(|f| f.severity == Severity::Error) {
            Outcome::Errors
        } else if findings.clone().any(|f| f.severity == Severity::Warning) {
            Outcome::Warnings
        } else {
            Outcome::Clean
        }
    }
}

fn read(path: &Path) -> Result<Value, String> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the file: {e}"))?
    };
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

fn name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

fn check(set: &SchemaSet, path: &Path, with_lint: bool) -> FileReport {
    let doc = match read(path) {
        Ok(d) => d,
        Err(message) => {
            return FileReport {
                file: name(path),
                target: None,
                valid: false,
                problems: vec![Problem {
                    pointer: String::new(),
                    keyword: "input".into(),
                    schema_path: String::new(),
                    message,
                }],
                findings: with_lint.then(Vec::new),
            }
        }
    };
    let (doc, target) = prepare(&doc);
    let problems = set.validate_as(&doc, target);
    let findings = (with_lint && target != Target::RejectedContainer)
        .then(|| lint(&doc, &LintContext::default()));
    FileReport {
        file: name(path),
        target: Some(target),
        valid: problems.is_empty(),
        problems,
        findings: findings.or_else(|| with_lint.then(Vec::new)),
    }
}

/// Runs a record subcommand.
pub fn run(command: RecordCommand) -> anyhow::Result<ExitCode> {
    let (args, with_lint) = match command {
        RecordCommand::Validate(a) => (a, false),
        RecordCommand::Lint(a) => (a, true),
        RecordCommand::Export(a) => return export(a),
    };
    let set = SchemaSet::load(args.schema_version.as_deref())?;
    let reports: Vec<FileReport> = args
        .files
        .iter()
        .map(|f| check(&set, f, with_lint))
        .collect();
    let invalid = reports.iter().filter(|r| !r.valid).count();
    let with_errors = reports
        .iter()
        .filter(|r| r.outcome() == Outcome::Errors)
        .count();
    let with_warnings = reports
        .iter()
        .filter(|r| r.outcome() == Outcome::Warnings)
        .count();
    let failed = if with_lint { with_errors } else { invalid };
    match args.format {
        Format::Json => {
            let out = serde_json::json!({
                "schema_version": set.version(),
                "files": reports,
                "valid": reports.len() - invalid,
                "invalid": invalid,
                "with_errors": if with_lint { Some(with_errors) } else { None },
                "with_warnings": if with_lint { Some(with_warnings) } else { None },
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Text => {
            for r in &reports {
                let what = r
                    .target
                    .map(|t| format!(" ({}, schema {})", t.label(), set.version()))
                    .unwrap_or_default();
                let bad = r.outcome() == Outcome::Errors;
                println!("{}  {}{what}", if bad { "FAIL" } else { "ok  " }, r.file);
                for p in &r.problems {
                    let at = if p.pointer.is_empty() {
                        "(document)"
                    } else {
                        &p.pointer
                    };
                    println!("      {at}: {} [schema: {}]", p.message, p.keyword);
                }
                for f in r.findings.iter().flatten() {
                    let at = if f.pointer.is_empty() {
                        "(document)"
                    } else {
                        &f.pointer
                    };
                    let sev = match f.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    };
                    println!("      {sev} {}: {at}: {}", f.id, f.message);
                    println!("        ({})", f.rule);
                }
            }
            if with_lint {
                println!(
                    "{} clean, {with_warnings} with warnings, {with_errors} with errors",
                    reports.len() - with_errors - with_warnings
                );
            } else {
                println!("{} valid, {invalid} invalid", reports.len() - invalid);
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
