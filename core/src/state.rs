//! The reservation state machine.
//!
//! A reservation holds units while it is *active* (`reserved`, `confirmed`, `acknowledged`)
//! and ends exactly once: `committed` (shipped), `released` (cancelled) or `expired`.
//! Only `reserved` has a deadline. A `reserved` row whose deadline has passed is expired
//! for every reader even before a sweep records it ("lapsed").

use crate::error::{ErrorCode, InventoryError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReservationState {
    Reserved,
    Confirmed,
    Acknowledged,
    Committed,
    Released,
    Expired,
}

impl ReservationState {
    pub const ALL: [ReservationState; 6] = [
        ReservationState::Reserved,
        ReservationState::Confirmed,
        ReservationState::Acknowledged,
        ReservationState::Committed,
        ReservationState::Released,
        ReservationState::Expired,
    ];

    /// The name stored in `inventory.reservation.state`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReservationState::Reserved => "reserved",
            ReservationState::Confirmed => "confirmed",
            ReservationState::Acknowledged => "acknowledged",
            ReservationState::Committed => "committed",
            ReservationState::Released => "released",
            ReservationState::Expired => "expired",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Active reservations hold units in the stock counter.
    pub const fn is_active(self) -> bool {
        matches!(
            self,
            ReservationState::Reserved | ReservationState::Confirmed | ReservationState::Acknowledged
        )
    }

    /// The state every reader sees: a lapsed `reserved` row is `expired`.
    pub const fn effective(self, lapsed: bool) -> Self {
        match self {
            ReservationState::Reserved if lapsed => ReservationState::Expired,
            other => other,
        }
    }
}

/// What a caller asks of a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Release,
    Commit,
    Expire,
    Confirm,
    Acknowledge,
    /// A new deadline for a hold that still has one.
    Extend,
    /// A new quantity for an active hold.
    UpdateQuantity,
}

impl Action {
    /// What a caller can ask (expiry is the clock's).
    pub const CALLABLE: [Action; 6] = [
        Action::Release,
        Action::Commit,
        Action::Confirm,
        Action::Acknowledge,
        Action::Extend,
        Action::UpdateQuantity,
    ];

    /// The event name written to the log, and the verb used in messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Release => "release",
            Action::Commit => "commit",
            Action::Expire => "expire",
            Action::Confirm => "confirm",
            Action::Acknowledge => "acknowledge",
            Action::Extend => "extend",
            Action::UpdateQuantity => "update_quantity",
        }
    }
}

/// What to do with a reservation, decided from its stored state and the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Move to this state and log the action; the SQL function returns true.
    To(ReservationState),
    /// The reservation already is where the action leads: change nothing, return false.
    Repeat,
    /// The hold lapsed and nobody recorded it yet: record the expiry, then answer as a repeat.
    RecordExpiry,
}

/// Decide the step for `action` on a reservation stored as `stored`, `lapsed` telling
/// whether its deadline has passed. Errors are illegal transitions (SQLSTATE IR004).
pub fn decide(stored: ReservationState, lapsed: bool, action: Action) -> Result<Step, Illegal> {
    use ReservationState::*;
    let now = stored.effective(lapsed);
    let record_expiry = stored == Reserved && lapsed;
    let step = match (action, now) {
        (Action::Release, Reserved | Confirmed | Acknowledged) => Step::To(Released),
        (Action::Release, Released) => Step::Repeat,
        (Action::Release, Expired) if record_expiry => Step::RecordExpiry,
        (Action::Release, Expired) => Step::Repeat,

        (Action::Commit, Reserved | Confirmed | Acknowledged) => Step::To(Committed),
        (Action::Commit, Committed) => Step::Repeat,

        (Action::Confirm, Reserved) => Step::To(Confirmed),
        (Action::Confirm, Confirmed | Acknowledged) => Step::Repeat,

        (Action::Acknowledge, Reserved | Confirmed) => Step::To(Acknowledged),
        (Action::Acknowledge, Acknowledged) => Step::Repeat,

        (Action::Extend, Reserved) => Step::To(Reserved),

        (Action::UpdateQuantity, Reserved | Confirmed | Acknowledged) => Step::To(now),

        (Action::Expire, Expired) if record_expiry => Step::To(Expired),
        (Action::Expire, _) => Step::Repeat,

        (action, state) => return Err(Illegal { action, state }),
    };
    Ok(step)
}

/// The actions that end a hold, for the one-statement path: the stored states they end it
/// from (`reserved` only while its deadline has not passed) and the state it ends in. Any
/// other case (a repeat, a lapse to record, an illegal move) goes through `decide` under a
/// row lock. None for actions that keep the hold.
pub fn ends_hold(action: Action) -> Option<(&'static [ReservationState], ReservationState)> {
    use ReservationState::*;
    const ACTIVE: &[ReservationState] = &[Reserved, Confirmed, Acknowledged];
    match action {
        Action::Release => Some((ACTIVE, Released)),
        Action::Commit => Some((ACTIVE, Committed)),
        _ => None,
    }
}

/// What a commit of some of a hold's units does (a partial shipment: Magento MSI's shipment
/// events, Amazon's "Partially Shipped").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shipment {
    /// Every unit ships: the same as a commit of the whole hold, which ends it.
    All,
    /// Some ship; the rest stays held, in the same state and with the same deadline.
    Part,
}

/// Ship `quantity` (already checked positive) of a hold of `held` units. More than it holds
/// is bad input (22023): the caller's count of what is left is wrong, and nothing changes.
pub fn shipment(held: i64, quantity: i64) -> Result<Shipment, InventoryError> {
    match held - quantity {
        0 => Ok(Shipment::All),
        left if left > 0 => Ok(Shipment::Part),
        _ => Err(InventoryError::invalid_argument(
            "quantity",
            format!("{quantity} is more than the reservation holds"),
        )
        .with_detail(format!("It holds {held} units."))),
    }
}

/// An action that makes no sense from the reservation's current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Illegal {
    pub action: Action,
    pub state: ReservationState,
}

impl Illegal {
    pub fn into_error(self) -> InventoryError {
        let verb = match self.action {
            Action::UpdateQuantity => "change the quantity of",
            other => other.as_str(),
        };
        let state = self.state.as_str();
        let allowed: Vec<&str> = Action::CALLABLE
            .into_iter()
            .filter(|a| matches!(decide(self.state, false, *a), Ok(Step::To(_))))
            .map(|a| a.as_str())
            .collect();
        let article = if state.starts_with(['a', 'e']) { "An" } else { "A" };
        let detail = if allowed.is_empty() {
            format!("{article} {state} reservation is final: no action changes it any more.")
        } else {
            format!("{article} {state} reservation allows: {}.", allowed.join(", "))
        };
        InventoryError::new(
            ErrorCode::InvalidTransition,
            format!("cannot {verb} a reservation that is {state}"),
        )
        .with_detail(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::Action::*;
    use super::ReservationState::*;
    use super::*;

    #[test]
    fn the_one_statement_path_agrees_with_decide() {
        let actions = [Release, Commit, Expire, Confirm, Acknowledge, Extend, UpdateQuantity];
        for action in actions {
            let Some((from, to)) = ends_hold(action) else {
                continue;
            };
            assert!(!to.is_active(), "{action:?} must end the hold");
            for stored in ReservationState::ALL {
                let direct = from.contains(&stored);
                let decided = decide(stored, false, action);
                assert_eq!(direct, decided == Ok(Step::To(to)), "{action:?} from {stored:?}");
                // A lapsed reserved hold is never ended directly: its expiry is recorded first.
                if stored == Reserved {
                    assert_ne!(decide(stored, true, action), Ok(Step::To(to)));
                }
            }
        }
        assert!(ends_hold(Confirm).is_none() && ends_hold(Extend).is_none());
    }

    #[test]
    fn names_round_trip() {
        for s in ReservationState::ALL {
            assert_eq!(ReservationState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReservationState::parse("active"), None);
    }

    #[test]
    fn only_reserved_lapses() {
        assert_eq!(Reserved.effective(true), Expired);
        assert_eq!(Reserved.effective(false), Reserved);
        assert_eq!(Confirmed.effective(true), Confirmed);
        assert_eq!(Committed.effective(true), Committed);
    }

    #[test]
    fn release_ends_any_active_hold_once() {
        for s in [Reserved, Confirmed, Acknowledged] {
            assert_eq!(decide(s, false, Release), Ok(Step::To(Released)));
        }
        assert_eq!(decide(Released, false, Release), Ok(Step::Repeat));
        assert_eq!(decide(Expired, false, Release), Ok(Step::Repeat));
    }

    #[test]
    fn release_of_a_lapsed_hold_records_the_expiry() {
        assert_eq!(decide(Reserved, true, Release), Ok(Step::RecordExpiry));
    }

    #[test]
    fn release_after_commit_is_illegal() {
        assert_eq!(
            decide(Committed, false, Release),
            Err(Illegal {
                action: Release,
                state: Committed
            })
        );
    }

    #[test]
    fn a_shipment_takes_part_or_all_and_never_more_than_is_held() {
        assert_eq!(shipment(3, 1), Ok(Shipment::Part));
        assert_eq!(shipment(3, 3), Ok(Shipment::All));
        let e = shipment(3, 4).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
        assert_eq!(e.message, "quantity 4 is more than the reservation holds");
        assert_eq!(e.detail.as_deref(), Some("It holds 3 units."));
        assert!(shipment(1, i64::MAX).is_err());
    }

    #[test]
    fn commit_once_then_repeat() {
        assert_eq!(decide(Reserved, false, Commit), Ok(Step::To(Committed)));
        assert_eq!(decide(Acknowledged, false, Commit), Ok(Step::To(Committed)));
        assert_eq!(decide(Committed, false, Commit), Ok(Step::Repeat));
    }

    #[test]
    fn commit_of_ended_or_lapsed_hold_is_illegal() {
        assert_eq!(
            decide(Released, false, Commit),
            Err(Illegal {
                action: Commit,
                state: Released
            })
        );
        assert_eq!(
            decide(Expired, false, Commit),
            Err(Illegal {
                action: Commit,
                state: Expired
            })
        );
        assert_eq!(
            decide(Reserved, true, Commit),
            Err(Illegal {
                action: Commit,
                state: Expired
            })
        );
    }

    #[test]
    fn expire_only_touches_lapsed_reserved_rows() {
        assert_eq!(decide(Reserved, true, Expire), Ok(Step::To(Expired)));
        assert_eq!(decide(Reserved, false, Expire), Ok(Step::Repeat));
        assert_eq!(decide(Confirmed, true, Expire), Ok(Step::Repeat));
        assert_eq!(decide(Expired, true, Expire), Ok(Step::Repeat));
    }

    #[test]
    fn confirm_and_acknowledge_move_forward_only() {
        assert_eq!(decide(Reserved, false, Confirm), Ok(Step::To(Confirmed)));
        assert_eq!(decide(Confirmed, false, Confirm), Ok(Step::Repeat));
        assert_eq!(
            decide(Reserved, true, Confirm),
            Err(Illegal {
                action: Confirm,
                state: Expired
            })
        );
        assert_eq!(decide(Confirmed, false, Acknowledge), Ok(Step::To(Acknowledged)));
        assert_eq!(decide(Acknowledged, false, Confirm), Ok(Step::Repeat));
        assert_eq!(
            decide(Committed, false, Acknowledge),
            Err(Illegal {
                action: Acknowledge,
                state: Committed
            })
        );
    }

    #[test]
    fn illegal_transition_message_names_the_state() {
        let e = Illegal {
            action: Commit,
            state: Released,
        }
        .into_error();
        assert_eq!(e.code, ErrorCode::InvalidTransition);
        assert_eq!(e.message, "cannot commit a reservation that is released");
    }

    #[test]
    fn extend_only_holds_with_a_deadline() {
        assert_eq!(decide(Reserved, false, Extend), Ok(Step::To(Reserved)));
        for s in [Confirmed, Acknowledged, Committed, Released, Expired] {
            assert_eq!(
                decide(s, false, Extend),
                Err(Illegal {
                    action: Extend,
                    state: s
                })
            );
        }
        assert_eq!(
            decide(Reserved, true, Extend),
            Err(Illegal {
                action: Extend,
                state: Expired
            })
        );
    }

    #[test]
    fn update_quantity_keeps_the_state_of_active_holds() {
        for s in [Reserved, Confirmed, Acknowledged] {
            assert_eq!(decide(s, false, UpdateQuantity), Ok(Step::To(s)));
        }
        assert!(decide(Committed, false, UpdateQuantity).is_err());
        assert!(decide(Reserved, true, UpdateQuantity).is_err());
    }

    #[test]
    fn every_active_state_can_end_every_way_but_expiry() {
        for s in ReservationState::ALL.into_iter().filter(|s| s.is_active()) {
            assert!(matches!(decide(s, false, Release), Ok(Step::To(Released))));
            assert!(matches!(decide(s, false, Commit), Ok(Step::To(Committed))));
        }
    }
}
