//! Lead ids packed into numbers, and the table that finds a lead's row by its id: every event of
//! a log is joined to its lead through [`LeadIdIndex`], so a lookup among a million leads is one
//! slot read; event types are coded by the same packing.

use rustc_hash::FxHashMap;

/// Row of each lead id. Ids of up to 15 bytes (most exports' ids) are keyed by their bytes
/// packed into a `u128`, so that a lookup among a million leads touches one table slot instead of
/// following a pointer to the stored id; longer ids are keyed by the id itself.
#[derive(Debug, Default)]
pub struct LeadIdIndex<'a> {
    short: PackedIdTable,
    long: FxHashMap<&'a str, u32>,
}

impl<'a> LeadIdIndex<'a> {
    /// The index of `ids`, the lead in row `r` having id `ids[r]`.
    pub(crate) fn new(ids: &'a [String]) -> Self {
        let mut index = Self {
            short: PackedIdTable::with_capacity(ids.len()),
            long: FxHashMap::default(),
        };
        for (row, id) in ids.iter().enumerate() {
            match pack_short_id(id) {
                Some(key) => index.short.insert(key, row as u32),
                None => {
                    index.long.insert(id.as_str(), row as u32);
                }
            };
        }
        index
    }

    /// The rows of many ids (`None` for an id the table lacks), in their order. Among a million
    /// leads each lookup is a cache miss: the ids are packed and their first slots found first,
    /// then the slots are read in a loop whose iterations do not wait on each other, so the
    /// processor overlaps the misses.
    pub fn get_many<Id: AsRef<str>>(
        &self,
        ids: impl Iterator<Item = Id>,
        rows: &mut Vec<Option<u32>>,
    ) {
        let keys: Vec<(Result<u128, Id>, usize)> = ids
            .map(|id| match pack_short_id(id.as_ref()) {
                Some(key) => (Ok(key), self.short.first_slot(key)),
                None => (Err(id), 0),
            })
            .collect();
        rows.extend(keys.iter().map(|(key, slot)| match key {
            Ok(key) => self.short.get_from(*slot, *key),
            Err(id) => self.long.get(id.as_ref()).copied(),
        }));
    }
}

/// Rows by packed id: open addressing with linear probing, each slot holding its key and row,
/// at most half the slots used. A lookup among a million leads reads one slot, usually one cache
/// line; a general hash map reads a control byte and then the slot, two misses, and took 1.1–1.6
/// times as long for 10M lookups among 1M ids.
#[derive(Debug, Default)]
struct PackedIdTable {
    slots: Vec<PackedSlot>,
    /// Slots in use.
    used: usize,
    /// `64 - log2(slots.len())`: a key's first slot is the top bits of its hash.
    shift: u32,
}

/// A packed id (as two words: 24 bytes a slot, not the 32 of a `u128`'s alignment) and its row;
/// [`EMPTY_SLOT`] in `row` marks a free slot.
#[derive(Debug, Clone, Copy)]
struct PackedSlot {
    key: [u64; 2],
    row: u32,
}

/// The `row` of a free [`PackedSlot`]: no table has that many rows.
const EMPTY_SLOT: u32 = u32::MAX;

impl PackedIdTable {
    /// A table with room for `ids` ids.
    fn with_capacity(ids: usize) -> Self {
        let slots = (ids * 2).next_power_of_two().max(16);
        Self {
            slots: vec![
                PackedSlot {
                    key: [0, 0],
                    row: EMPTY_SLOT,
                };
                slots
            ],
            used: 0,
            shift: 64 - slots.trailing_zeros(),
        }
    }

    /// Where the search for `key` starts.
    #[inline]
    fn first_slot(&self, key: u128) -> usize {
        // A folded multiply: every bit of the id moves the high bits, which pick the slot (a
        // plain multiply would leave ids that differ in their last character in a few slots).
        let product = u128::from(key as u64 ^ 0x243f_6a88_85a3_08d3)
            * u128::from((key >> 64) as u64 ^ 0x1319_8a2e_0370_7344);
        let hash = (product as u64) ^ (product >> 64) as u64;
        (hash >> self.shift) as usize
    }

    /// Sets the row of `key`; more than half full, it doubles first.
    fn insert(&mut self, key: u128, row: u32) {
        if (self.used + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let slot = self.find(self.first_slot(key), key);
        self.used += usize::from(self.slots[slot].row == EMPTY_SLOT);
        self.slots[slot] = PackedSlot {
            key: split_key(key),
            row,
        };
    }

    /// Doubles the slots, placing every id again.
    fn grow(&mut self) {
        let old = std::mem::replace(self, Self::with_capacity(self.slots.len().max(8)));
        for slot in old.slots.iter().filter(|s| s.row != EMPTY_SLOT) {
            let key = u128::from(slot.key[0]) | u128::from(slot.key[1]) << 64;
            self.insert(key, slot.row);
        }
    }

    /// The slot holding `key`, or the free slot ending its search, from `slot` on.
    #[inline]
    fn find(&self, mut slot: usize, key: u128) -> usize {
        let words = split_key(key);
        let last = self.slots.len() - 1;
        loop {
            let held = &self.slots[slot];
            if held.row == EMPTY_SLOT || held.key == words {
                return slot;
            }
            slot = if slot == last { 0 } else { slot + 1 };
        }
    }

    /// The row of `key`, searched from its [`PackedIdTable::first_slot`] `slot`.
    #[inline]
    fn get_from(&self, slot: usize, key: u128) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let row = self.slots[self.find(slot, key)].row;
        (row != EMPTY_SLOT).then_some(row)
    }
}

/// A packed id's low and high words.
#[inline]
fn split_key(key: u128) -> [u64; 2] {
    [key as u64, (key >> 64) as u64]
}

/// An id (or an event type) of at most 15 bytes as its bytes followed by its length (distinct
/// texts, distinct keys): byte i at bits 8i, the length in the top byte. Every event of a log is
/// looked up by its id and its type, so the bytes are read with two fixed-width loads that
/// overlap in the middle (both put the same byte at the same place there) instead of a copy of
/// variable length.
#[inline]
pub(crate) fn pack_short_id(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    let length = bytes.len();
    let packed = match length {
        0..=3 => bytes
            .iter()
            .enumerate()
            .fold(0, |packed, (i, &b)| packed | u128::from(b) << (8 * i)),
        4..=7 => {
            let word = |at: usize| {
                u128::from(u32::from_le_bytes([
                    bytes[at],
                    bytes[at + 1],
                    bytes[at + 2],
                    bytes[at + 3],
                ]))
            };
            word(0) | word(length - 4) << (8 * (length - 4))
        }
        8..=15 => {
            let word = |at: usize| {
                let mut eight = [0; 8];
                eight.copy_from_slice(&bytes[at..at + 8]);
                u128::from(u64::from_le_bytes(eight))
            };
            word(0) | word(length - 8) << (8 * (length - 8))
        }
        _ => return None,
    };
    Some(packed | (length as u128) << 120)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{PackedIdTable, pack_short_id};

    /// The packing spelled out: the bytes, then the length in the last byte.
    fn packed_by_copy(id: &str) -> Option<u128> {
        let bytes = id.as_bytes();
        if bytes.len() > 15 {
            return None;
        }
        let mut packed = [0u8; 16];
        packed[..bytes.len()].copy_from_slice(bytes);
        packed[15] = bytes.len() as u8;
        Some(u128::from_le_bytes(packed))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn packing_with_overlapping_loads_is_the_copy(id in "(.|[a-z0-9]){0,18}") {
            prop_assert_eq!(pack_short_id(&id), packed_by_copy(&id));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
        /// The table answers as a map does, whether sized up front or grown from empty, for ids
        /// set twice, ids alike but for their last character, and ids it never held.
        #[test]
        fn packed_id_table_is_a_map(
            ids in proptest::collection::vec("[A-Z]{0,2}[0-9]{0,13}", 0..300),
            absent in proptest::collection::vec("[a-z]{1,15}", 0..20),
            sized in any::<bool>(),
        ) {
            let keys: Vec<u128> = ids.iter().filter_map(|id| pack_short_id(id)).collect();
            let mut table = if sized {
                PackedIdTable::with_capacity(keys.len())
            } else {
                PackedIdTable::default()
            };
            let mut map = std::collections::HashMap::new();
            for (row, &key) in keys.iter().enumerate() {
                table.insert(key, row as u32);
                map.insert(key, row as u32);
            }
            prop_assert_eq!(table.used, map.len());
            prop_assert!(table.used * 2 <= table.slots.len().max(1));
            let queried = keys.iter().copied().chain(absent.iter().filter_map(|id| pack_short_id(id)));
            for key in queried {
                prop_assert_eq!(table.get_from(table.first_slot(key), key), map.get(&key).copied());
            }
        }
    }

    #[test]
    fn an_empty_packed_id_table_holds_nothing() {
        let table = PackedIdTable::default();
        let key = pack_short_id("L1").unwrap_or_default();
        assert_eq!(table.get_from(table.first_slot(key), key), None);
    }

    #[test]
    fn every_short_length_packs_like_the_copy() {
        let text = "ABCDEFGHIJKLMNOPQRS";
        for length in 0..=text.len() {
            let id = &text[..length];
            assert_eq!(pack_short_id(id), packed_by_copy(id), "{id}");
        }
        assert_ne!(pack_short_id("L1"), pack_short_id("L1\0"));
    }
}
