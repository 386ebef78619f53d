//! The team: profiles, absences, affiliations, recusals, rota.

use async_trait::async_trait;
use cnadesk_core::{Actor, CaseId, UserId};

use crate::{Absence, Affiliation, Profile, Recusal, Shift, StoreResult};

/// The team: member profiles, absences, affiliations, recusals and the
/// on-call rota.
#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Every member profile that was filled in.
    async fn profiles(&self) -> StoreResult<Vec<Profile>>;

    /// Creates or replaces a member's profile (audited as `team.profile_saved`).
    async fn save_profile(&self, profile: Profile, actor: &Actor, now_ms: i64) -> StoreResult<()>;

    /// Every recorded absence, by first day.
    async fn absences(&self) -> StoreResult<Vec<Absence>>;

    /// Records an absence (audited as `team.absence_added`).
    async fn add_absence(
        &self,
        absence: Absence,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Absence>;

    /// Removes an absence of `user` (audited as `team.absence_removed`);
    /// `NotFound` when it is not theirs or does not exist.
    async fn remove_absence(
        &self,
        id: i64,
        user: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Every declared affiliation.
    async fn affiliations(&self) -> StoreResult<Vec<Affiliation>>;

    /// Declares an affiliation (audited as `team.affiliation_declared`);
    /// `Conflict` when the member already declared that product.
    async fn declare_affiliation(
        &self,
        affiliation: Affiliation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Affiliation>;

    /// Withdraws an affiliation of `user` (audited as `team.affiliation_withdrawn`).
    async fn withdraw_affiliation(
        &self,
        id: i64,
        user: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Recusals of one case, or of every case.
    async fn recusals(&self, case: Option<CaseId>) -> StoreResult<Vec<Recusal>>;

    /// Records a recusal (audited as `case.recused`). A recused assignee is
    /// unassigned in the same transaction (audited as `case.assigned`).
    /// `Ok(false)`: that member was already recused from the case.
    async fn recuse(&self, recusal: Recusal, actor: &Actor, now_ms: i64) -> StoreResult<bool>;

    /// One on-call shift.
    async fn shift(&self, id: i64) -> StoreResult<Option<Shift>>;

    /// On-call shifts that overlap `[from_ms, to_ms)`, by start.
    async fn shifts(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Shift>>;

    /// Replaces the shifts starting at or after the first new shift's start
    /// with `shifts` (member, start, end), audited as `rota.planned`; a shift
    /// running into the plan ends where it begins. Rejected when the plan
    /// starts before `now_ms` (the past is not rewritten) or its shifts overlap.
    async fn plan_rota(
        &self,
        shifts: Vec<(UserId, i64, i64)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Leaves the handover note on a shift (audited as `rota.handed_over`).
    async fn hand_over(
        &self,
        shift: i64,
        note: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// When each member was last given a case (ms), from the audit log.
    async fn last_assignments(&self) -> StoreResult<Vec<(UserId, i64)>>;
}
