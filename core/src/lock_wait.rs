//! How long a take waits for lapsed holds that another transaction has locked.
//!
//! A sold-out item whose units sit in lapsed holds gets them back once those holds are recorded
//! as expired. While another transaction keeps them locked (an expiry sweep between its two
//! statements, or a session idle in a transaction) a take can neither expire them nor refuse:
//! the units are salable. Nor may it wait on the row lock: the sweep may be waiting for an
//! item this transaction already holds, and PostgreSQL would break that cycle by aborting one
//! of the two. So the take lets go of what it locked, sleeps, and tries again, up to a budget.

/// How long a take keeps trying before it gives up (`ErrorCode::LapsedHoldsLocked`).
pub const LAPSED_LOCK_BUDGET_MS: u64 = 1_000;
/// The longest sleep between two tries.
pub const LAPSED_LOCK_MAX_NAP_MS: u64 = 20;

/// The sleep before the next try after `waited_ms` of trying; None once the budget is spent.
/// It starts at 1 ms, since a sweep's batch commits within milliseconds, and doubles up to
/// `LAPSED_LOCK_MAX_NAP_MS`.
pub fn lapsed_lock_nap_ms(waited_ms: u64) -> Option<u64> {
    let left = LAPSED_LOCK_BUDGET_MS.saturating_sub(waited_ms);
    (left > 0).then(|| waited_ms.clamp(1, LAPSED_LOCK_MAX_NAP_MS).min(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naps_start_short_double_and_stay_capped() {
        assert_eq!(lapsed_lock_nap_ms(0), Some(1));
        assert_eq!(lapsed_lock_nap_ms(1), Some(1));
        assert_eq!(lapsed_lock_nap_ms(8), Some(8));
        assert_eq!(lapsed_lock_nap_ms(500), Some(LAPSED_LOCK_MAX_NAP_MS));
    }

    #[test]
    fn the_budget_is_used_up_exactly_and_then_refused() {
        let (mut waited, mut tries) = (0, 0);
        while let Some(nap) = lapsed_lock_nap_ms(waited) {
            assert!((1..=LAPSED_LOCK_MAX_NAP_MS).contains(&nap));
            waited += nap;
            tries += 1;
        }
        assert_eq!(waited, LAPSED_LOCK_BUDGET_MS);
        assert!(tries < 70, "{tries} tries");
        assert_eq!(lapsed_lock_nap_ms(LAPSED_LOCK_BUDGET_MS), None);
        assert_eq!(lapsed_lock_nap_ms(u64::MAX), None);
    }
}
