//! What an item can sell, from its stored counters and what a read subtracts from them. The
//! view inventory.stock_levels computes the same in SQL (sql/api.sql); a pg_test holds the two
//! to each other.

/// One item's counters as stored, with the units a read finds outside them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItemCounts {
    pub on_hand: i64,
    /// stock.held: active holds, lapsed holds not yet swept, and free escrow units.
    pub held: i64,
    pub safety_stock: i64,
    /// Units of holds past their deadline that no sweep has recorded yet.
    pub lapsed: i64,
    /// Free units of the item's escrow buckets.
    pub escrowed: i64,
}

impl ItemCounts {
    /// Units held by active holds: held less lapsed holds and free escrow units.
    pub fn reserved(&self) -> i64 {
        clamp(i128::from(self.held) - i128::from(self.lapsed) - i128::from(self.escrowed))
    }

    /// on_hand - reserved - safety_stock, never negative. In this order (as the view does it)
    /// a shortfall of backorders does not eat into what safety stock protects twice.
    pub fn salable(&self) -> i64 {
        let after_holds = (i128::from(self.on_hand) - i128::from(self.reserved())).max(0);
        clamp((after_holds - i128::from(self.safety_stock)).max(0))
    }
}

/// The sum of salable quantities over locations, capped at the bigint range.
pub fn total(salables: impl IntoIterator<Item = i64>) -> i64 {
    salables.into_iter().fold(0i64, i64::saturating_add)
}

fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(on_hand: i64, held: i64, safety_stock: i64) -> ItemCounts {
        ItemCounts {
            on_hand,
            held,
            safety_stock,
            ..ItemCounts::default()
        }
    }

    #[test]
    fn salable_is_on_hand_less_holds_and_safety_stock() {
        assert_eq!(counts(10, 3, 2).salable(), 5);
        assert_eq!(counts(10, 3, 0).reserved(), 3);
    }

    #[test]
    fn salable_is_never_negative() {
        assert_eq!(counts(2, 5, 0).salable(), 0); // backorders: reserved beyond on_hand
        assert_eq!(counts(10, 3, 20).salable(), 0);
    }

    #[test]
    fn lapsed_holds_and_free_escrow_units_are_salable() {
        let item = ItemCounts {
            lapsed: 2,
            escrowed: 4,
            ..counts(10, 9, 0)
        };
        assert_eq!(item.reserved(), 3);
        assert_eq!(item.salable(), 7);
    }

    #[test]
    fn extreme_counters_stay_in_range() {
        assert_eq!(counts(i64::MAX, 0, 0).salable(), i64::MAX);
        assert_eq!(counts(0, i64::MAX, 0).salable(), 0);
        assert_eq!(total([i64::MAX, i64::MAX]), i64::MAX);
        assert_eq!(total([1, 2, 3]), 6);
    }
}
