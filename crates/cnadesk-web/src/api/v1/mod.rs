//! Version 1 of the JSON API.

pub mod reports;
pub mod team;

pub use reports::create_report;
pub use team::{
    accept_report, approve_version, case_coordination, case_cve, check_record, close_report,
    decide_scope, get_case, get_report, invite_vendor, list_cases, list_reports, me,
    publish_version, record_versions, reserve_ids, save_record, set_embargo,
};
