//! Reservation ids: UUID version 7 (RFC 9562, section 5.7). The first 60 bits are the time
//! the hold was made, so ids of new holds sort after older ones and land on the right-hand
//! page of every index keyed by them. Random (version 4) ids put each new hold on a random
//! leaf page instead: in a large table that is a page read per insert and, after each
//! checkpoint, a full-page image in the WAL for every page touched the first time.

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 00:00:00 UTC).
pub const UNIX_TO_POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A version 7 UUID for the time `unix_micros` with `random` as its last 62 bits.
///
/// Layout: 48 bits of Unix milliseconds; the version (7); 12 bits of the sub-millisecond
/// fraction (method 3 of the RFC, so ids made in one millisecond still sort by time);
/// the variant (binary 10); 62 random bits. Times before 1970 count as 1970.
pub fn uuid_v7(unix_micros: i64, random: [u8; 8]) -> [u8; 16] {
    let micros = unix_micros.max(0) as u64;
    let millis = (micros / 1000) & 0xFFFF_FFFF_FFFF;
    // 0..999 microseconds scaled to 0..4095.
    let fraction = ((micros % 1000) << 12) / 1000;
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    id[6] = 0x70 | (fraction >> 8) as u8;
    id[7] = fraction as u8;
    id[8..].copy_from_slice(&random);
    id[8] = 0x80 | (id[8] & 0x3F);
    id
}

/// The time for a session's next id, given the time of its last one: now, or a microsecond
/// after the last when the clock has not moved on (or stepped back). Each microsecond has its
/// own sub-millisecond bits, so a session's ids strictly increase.
pub fn next_micros(now: i64, last: i64) -> i64 {
    if now > last { now } else { last.saturating_add(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_2026: i64 = 1_795_435_200_123_456; // 2026-11-23 12:00:00.123456 UTC

    #[test]
    fn carries_version_variant_and_time() {
        let id = uuid_v7(NOV_2026, [0xFF; 8]);
        assert_eq!(id[6] >> 4, 7, "version");
        assert_eq!(id[8] >> 6, 0b10, "variant");
        let mut millis = [0u8; 8];
        millis[2..].copy_from_slice(&id[..6]);
        assert_eq!(u64::from_be_bytes(millis), 1_795_435_200_123);
        // 456 microseconds into the millisecond: 456 * 4096 / 1000.
        assert_eq!(u16::from_be_bytes([id[6] & 0x0F, id[7]]), 1867);
        // The random bits survive, except the two the variant takes.
        assert_eq!(id[8], 0xBF);
        assert_eq!(&id[9..], &[0xFF; 7]);
    }

    #[test]
    fn later_times_sort_later_whatever_the_random_bits() {
        let times = [0, 999, 1000, NOV_2026 - 1, NOV_2026, NOV_2026 + 1, NOV_2026 + 1000];
        let ids: Vec<_> = times
            .iter()
            .enumerate()
            .map(|(n, t)| uuid_v7(*t, if n % 2 == 0 { [0xFF; 8] } else { [0; 8] }))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:02x?}");
    }

    #[test]
    fn a_sessions_ids_increase_even_when_the_clock_does_not() {
        let mut last = 0;
        let mut ids = Vec::new();
        // Three ids in one microsecond, then a clock that steps back.
        for now in [NOV_2026, NOV_2026, NOV_2026, NOV_2026 - 5_000, NOV_2026 + 10] {
            last = next_micros(now, last);
            ids.push(uuid_v7(last, [0xFF; 8]));
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:02x?}");
        assert_eq!(next_micros(NOV_2026 + 10, NOV_2026 + 3), NOV_2026 + 10);
        assert_eq!(next_micros(0, i64::MAX), i64::MAX);
    }

    #[test]
    fn clamps_times_before_1970() {
        assert_eq!(uuid_v7(-5, [0; 8]), uuid_v7(0, [0; 8]));
        assert_eq!(uuid_v7(0, [0; 8])[..6], [0; 6]);
    }
}
