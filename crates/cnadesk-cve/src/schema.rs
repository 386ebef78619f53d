//! Validation against the official CVE JSON schemas, shipped as data in
//! `schemas/` (see `schemas/index.toml`), with errors a person can act on.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use include_dir::{include_dir, Dir};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Registry, Resource, ValidationError, Validator};
use serde::{Deserialize, Serialize};
use serde_json::Value;

static SCHEMAS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/schemas");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    default: String,
    schema: Vec<IndexEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexEntry {
    version: String,
    description: String,
    root: String,
    #[serde(default)]
    resources: BTreeMap<String, String>,
}

/// A schema set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// No such version in `schemas/index.toml`.
    #[error("unknown CVE schema version `{0}` (known: {1})")]
    UnknownVersion(String, String),
    /// The data files are broken.
    #[error("schema data: {0}")]
    Data(String),
}

/// What a document is validated as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A whole CVE record.
    Record,
    /// A published CNA container (what CVE Services takes to publish).
    PublishedContainer,
    /// A rejected CNA container.
    RejectedContainer,
}

impl Target {
    /// Guesses what a document is: a record has `dataType`; a container
    /// with `rejectedReasons` is rejected; anything else is a published
    /// container.
    pub fn detect(doc: &Value) -> Target {
        if doc.get("dataType").is_some() || doc.get("cveMetadata").is_some() {
            Target::Record
        } else if doc.get("rejectedReasons").is_some() {
            Target::RejectedContainer
        } else {
            Target::PublishedContainer
        }
    }

    /// For messages.
    pub fn label(self) -> &'static str {
        match self {
            Target::Record => "CVE record",
            Target::PublishedContainer => "published CNA container",
            Target::RejectedContainer => "rejected CNA container",
        }
    }
}

/// A schema compiled once per process from embedded text, with the
/// documents it references registered under their URIs (never fetched).
/// Used by the export formats (OSV, CSAF).
pub(crate) struct EmbeddedSchema {
    name: &'static str,
    validator: OnceLock<Result<Validator, String>>,
    root: &'static str,
    resources: &'static [(&'static str, &'static str)],
}

impl EmbeddedSchema {
    /// A schema named `name` (for messages) from its text and resources.
    pub(crate) const fn new(
        name: &'static str,
        root: &'static str,
        resources: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self {
            name,
            validator: OnceLock::new(),
            root,
            resources,
        }
    }

    fn compile(&self) -> Result<Validator, String> {
        let parse = |what: &str, text: &str| {
            serde_json::from_str::<Value>(text).map_err(|e| format!("{what}: {e}"))
        };
        let mut builder = Registry::new();
        for (uri, text) in self.resources {
            builder = builder
                .add(*uri, Resource::from_contents(parse(uri, text)?))
                .map_err(|e| format!("{uri}: {e}"))?;
        }
        let registry = builder.prepare().map_err(|e| e.to_string())?;
        jsonschema::options()
            .with_registry(&registry)
            .offline()
            .should_validate_formats(true)
            .build(&parse(self.name, self.root)?)
            .map_err(|e| e.to_string())
    }

    /// The problems of a document (empty: valid), as `pointer: message`.
    pub(crate) fn problems(&self, doc: &Value) -> Vec<String> {
        match self.validator.get_or_init(|| self.compile()) {
            Ok(v) => v
                .iter_errors(doc)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect(),
            Err(e) => vec![format!("the {} schema does not compile: {e}", self.name)],
        }
    }
}

/// A document as it is validated: CVE Services request bodies
/// (`{"cnaContainer": {…}}`) are unwrapped, and the `providerMetadata` the
/// server sets itself is filled in with a placeholder, so that a body is
/// judged as CVE Services would judge it.
pub fn prepare(doc: &Value) -> (Value, Target) {
    if let Some(inner) = doc
        .get("cnaContainer")
        .filter(|_| doc.as_object().is_some_and(|o| o.len() == 1))
    {
        let mut inner = inner.clone();
        if let Some(obj) = inner.as_object_mut() {
            obj.entry("providerMetadata").or_insert_with(
                || serde_json::json!({"orgId": "00000000-0000-4000-8000-000000000000"}),
            );
        }
        let target = if inner.get("rejectedReasons").is_some() {
            Target::RejectedContainer
        } else {
            Target::PublishedContainer
        };
        return (inner, target);
    }
    (doc.clone(), Target::detect(doc))
}

/// One schema violation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// JSON pointer to the offending value (`""` is the whole document).
    pub pointer: String,
    /// The schema keyword that failed (`required`, `pattern`, `format`…).
    pub keyword: String,
    /// Where in the schema the rule is.
    pub schema_path: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// Compiled validators for one schema version.
pub struct SchemaSet {
    version: String,
    record: Validator,
    /// The root `oneOf` branch for PUBLISHED records alone.
    published_record: Validator,
    /// The root `oneOf` branch for REJECTED records alone.
    rejected_record: Validator,
    published: Validator,
    rejected: Validator,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("version", &self.version)
            .finish()
    }
}

fn index() -> Result<Index, SchemaError> {
    let text = SCHEMAS
        .get_file("index.toml")
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| SchemaError::Data("schemas/index.toml is missing".into()))?;
    toml::from_str(text).map_err(|e| SchemaError::Data(format!("schemas/index.toml: {e}")))
}

fn json_file(path: &str) -> Result<Value, SchemaError> {
    let text = SCHEMAS
        .get_file(path)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| SchemaError::Data(format!("schemas/{path} is missing")))?;
    serde_json::from_str(text).map_err(|e| SchemaError::Data(format!("schemas/{path}: {e}")))
}

/// The schema versions shipped, with their descriptions; the default first.
pub fn available_versions() -> Vec<(String, String)> {
    let Ok(index) = index() else {
        return Vec::new();
    };
    let mut v: Vec<(String, String)> = index
        .schema
        .into_iter()
        .map(|e| (e.version, e.description))
        .collect();
    v.sort_by_key(|(ver, _)| *ver != index.default);
    v
}

/// The root schema with its `oneOf` narrowed to one branch.
fn for_branch(root: &Value, index: usize) -> Option<Value> {
    let branch = root.get("oneOf")?.get(index)?.clone();
    let mut schema = root.clone();
    let obj = schema.as_object_mut()?;
    obj.remove("oneOf");
    obj.insert("allOf".into(), Value::Array(vec![branch]));
    Some(schema)
}

/// The root schema with its `oneOf` replaced by a reference to one definition.
fn for_definition(root: &Value, definition: &str) -> Value {
    let mut schema = root.clone();
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("oneOf");
        obj.remove("title");
        obj.insert(
            "allOf".into(),
            serde_json::json!([{ "$ref": format!("#/definitions/{definition}") }]),
        );
    }
    schema
}

impl SchemaSet {
    /// Loads and compiles a version (`None`: the default of `index.toml`).
    pub fn load(version: Option<&str>) -> Result<SchemaSet, SchemaError> {
        let index = index()?;
        let wanted = version.unwrap_or(&index.default);
        let entry = index
            .schema
            .iter()
            .find(|e| e.version == wanted)
            .ok_or_else(|| {
                SchemaError::UnknownVersion(
                    wanted.to_owned(),
                    index
                        .schema
                        .iter()
                        .map(|e| e.version.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })?;
        let root = json_file(&entry.root)?;
        let mut builder = Registry::new();
        for (uri, path) in &entry.resources {
            builder = builder
                .add(uri, Resource::from_contents(json_file(path)?))
                .map_err(|e| SchemaError::Data(format!("{uri}: {e}")))?;
        }
        let registry = builder
            .prepare()
            .map_err(|e| SchemaError::Data(e.to_string()))?;
        let build = |schema: &Value| {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .with_registry(&registry)
                .offline()
                .should_validate_formats(true)
                .build(schema)
                .map_err(|e| SchemaError::Data(format!("{}: {e}", entry.root)))
        };
        let branch = |i: usize| {
            for_branch(&root, i).ok_or_else(|| {
                SchemaError::Data(format!("{}: the root has no oneOf branch {i}", entry.root))
            })
        };
        Ok(SchemaSet {
            version: entry.version.clone(),
            record: build(&root)?,
            published_record: build(&branch(0)?)?,
            rejected_record: build(&branch(1)?)?,
            published: build(&for_definition(&root, "cnaPublishedContainer"))?,
            rejected: build(&for_definition(&root, "cnaRejectedContainer"))?,
        })
    }

    /// The default version, compiled once per process.
    pub fn default_set() -> &'static SchemaSet {
        static SET: OnceLock<SchemaSet> = OnceLock::new();
        SET.get_or_init(|| SchemaSet::load(None).expect("the shipped default schema compiles"))
    }

    /// The version of this set.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Validates a document as what it looks like ([`Target::detect`]).
    pub fn validate(&self, doc: &Value) -> Vec<Problem> {
        self.validate_as(doc, Target::detect(doc))
    }

    /// Whether a document is valid as `target` (fast path).
    pub fn is_valid(&self, doc: &Value, target: Target) -> bool {
        let set = if target == Target::Record {
            self.for_record(doc)
        } else {
            self
        };
        set.validator(doc, target).is_valid(doc)
    }

    /// The validator for a document. A record's root `oneOf` (Published or
    /// Rejected) is decided by `cveMetadata.state`, and each branch requires
    /// its own state, so validating against that branch alone gives the same
    /// verdict at half the cost; any other state gets the full schema.
    fn validator(&self, doc: &Value, target: Target) -> &Validator {
        match target {
            Target::Record => match doc.pointer("/cveMetadata/state").and_then(Value::as_str) {
                Some("PUBLISHED") => &self.published_record,
                Some("REJECTED") => &self.rejected_record,
                _ => &self.record,
            },
            Target::PublishedContainer => &self.published,
            Target::RejectedContainer => &self.rejected,
        }
    }

    /// Whether this set is CVE JSON 5.2 or later.
    fn has_purls(&self) -> bool {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (major, minor) >= (5, 2)
    }

    /// The set a whole record is judged by: its own `dataVersion` picks an
    /// older shipped schema (a 5.1 record read under a 5.2 desk is judged
    /// as 5.1.1, as it was published); containers and records without a
    /// `dataVersion` are judged by this set.
    pub fn for_record<'a>(&'a self, doc: &Value) -> &'a SchemaSet {
        let Some(data_version) = doc.get("dataVersion").and_then(Value::as_str) else {
            return self;
        };
        let older = data_version.starts_with("5.1") || data_version.starts_with("5.0");
        if older && self.has_purls() {
            static OLDER: OnceLock<Option<SchemaSet>> = OnceLock::new();
            if let Some(set) = OLDER.get_or_init(|| SchemaSet::load(Some("5.1.1")).ok()) {
                return set;
            }
        }
        self
    }

    /// Validates a document as `target`; an empty list means valid.
    pub fn validate_as(&self, doc: &Value, target: Target) -> Vec<Problem> {
        let set = if target == Target::Record {
            self.for_record(doc)
        } else {
            self
        };
        set.schema_problems(doc, target)
    }

    fn schema_problems(&self, doc: &Value, target: Target) -> Vec<Problem> {
        let validator = self.validator(doc, target);
        // Valid documents are the common case: the boolean check stops at
        // nothing and builds no error paths.
        if validator.is_valid(doc) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for err in validator.iter_errors(doc) {
            collect(&err, doc, &mut out);
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|p| seen.insert((p.pointer.clone(), p.message.clone())));
        out
    }
}

fn preview(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The branch of a `oneOf`/`anyOf` to explain: for the record's root, the
/// one matching `cveMetadata.state`; elsewhere the one with fewest errors.
fn pick_branch(context: &[Vec<ValidationError<'static>>], pointer: &str, doc: &Value) -> usize {
    if pointer.is_empty() && context.len() == 2 {
        match doc.pointer("/cveMetadata/state").and_then(Value::as_str) {
            Some("PUBLISHED") => return 0,
            Some("REJECTED") => return 1,
            _ => {}
        }
    }
    context
        .iter()
        .enumerate()
        .filter(|(_, errs)| !errs.is_empty())
        .min_by_key(|(_, errs)| errs.len())
        .map(|(i, _)| i)
        .unwrap_or(0)
}

fn collect(err: &ValidationError<'_>, doc: &Value, out: &mut Vec<Problem>) {
    let pointer = err.instance_path().as_str().to_owned();
    let keyword = err.kind().keyword().to_owned();
    let schema_path = err.schema_path().as_str().to_owned();
    let instance = err.instance();
    let message = match err.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            if pointer.is_empty()
                && context.len() == 2
                && !matches!(
                    doc.pointer("/cveMetadata/state").and_then(Value::as_str),
                    Some("PUBLISHED" | "REJECTED")
                )
                && doc.get("cveMetadata").is_some()
            {
                out.push(Problem {
                    pointer: "/cveMetadata/state".into(),
                    keyword: "enum".into(),
                    schema_path: schema_path.clone(),
                    message: "must be PUBLISHED or REJECTED".into(),
                });
            }
            if context.iter().all(Vec::is_empty) {
                format!("matches none of the allowed forms ({keyword})")
            } else {
                let branch = pick_branch(context, &pointer, doc);
                for e in &context[branch] {
                    collect(e, doc, out);
                }
                return;
            }
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "matches more than one of the allowed forms; it must match exactly one".into()
        }
        ValidationErrorKind::Required { property } => {
            format!("is missing the required member {property}")
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => format!(
            "has member{} {} that the CVE schema does not allow (check the spelling and letter case)",
            if unexpected.len() == 1 { "" } else { "s" },
            unexpected
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ValidationErrorKind::Pattern { pattern } => format!(
            "{} does not have the expected form (must match {pattern})",
            preview(instance)
        ),
        ValidationErrorKind::Format { format } => {
            let hint = match format.as_str() {
                "uri" => " (an absolute URL such as https://example.org/advisory, without spaces)",
                "date-time" => " (RFC 3339, e.g. 2026-11-24T10:00:00Z)",
                "date" => " (e.g. 2026-11-24)",
                _ => "",
            };
            format!("{} is not a valid {format}{hint}", preview(instance))
        }
        ValidationErrorKind::Enum { options } => {
            format!("{} is not allowed; use one of {}", preview(instance), preview(options))
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("must be {expected_value}, not {}", preview(instance))
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(ts) => format!("{ts:?}"),
            };
            format!("must be {expected}, but is {}", type_name(instance))
        }
        ValidationErrorKind::Contains => {
            if pointer.ends_with("descriptions") || pointer.ends_with("rejectedReasons") {
                "needs at least one entry in English (lang \"en\"); CNA rule 5.2.5".into()
            } else {
                "has no item of the required kind".into()
            }
        }
        ValidationErrorKind::MinItems { limit } => {
            format!("needs at least {limit} item{}", if *limit == 1 { "" } else { "s" })
        }
        ValidationErrorKind::MaxItems { limit } => format!("allows at most {limit} items"),
        ValidationErrorKind::MinLength { limit } => {
            format!("must be at least {limit} characters long")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("must be at most {limit} characters long")
        }
        ValidationErrorKind::Minimum { limit } => format!("must be at least {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}"),
        ValidationErrorKind::UniqueItems => "has duplicate items".into(),
        _ => {
            let s = err.to_string();
            if s.chars().count() > 200 {
                format!("{}… ({keyword})", s.chars().take(200).collect::<String>())
            } else {
                s
            }
        }
    };
    out.push(Problem {
        pointer,
        keyword,
        schema_path,
        message,
    });
}
